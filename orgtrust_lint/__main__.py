from orgtrust_lint.cli import main

main()
