"""orgtrust-lint: keep AWS Organizations trusted access safe."""

__version__ = "0.1.0"
