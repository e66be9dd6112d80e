"""orgtrust-lint: keep AWS Organizations trusted access safe."""

__version__ = "0.1.0"

# Where the project lives (README.md, "Install and run"): pyproject.toml's project URLs, the rule pages
# SARIF links to, and the install line a missing extra points to all name it.
REPOSITORY_URL = "https://github.com/orgtrust-lint/orgtrust-lint"
