"""The main screen's widgets, one module per feature."""
