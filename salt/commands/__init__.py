"""One module per ``salt`` sub-command; see :mod:`salt.cli`."""
