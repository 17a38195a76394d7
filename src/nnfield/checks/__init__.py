"""Paper checks by section, registered with :mod:`nnfield.paper`."""
