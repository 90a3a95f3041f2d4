"""Modal screens: help, details, the settings form and the new-request form."""
