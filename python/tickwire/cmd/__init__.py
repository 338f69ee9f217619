"""One module per ``tickwire`` sub-command; see ``tickwire.cli``."""
