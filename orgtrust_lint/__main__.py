from orgtrust_lint.launch import main

main()
