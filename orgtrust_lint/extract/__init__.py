"""Facts from evaluated source: one module per format."""
