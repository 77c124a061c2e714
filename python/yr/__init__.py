"""The ``yr`` namespace of the ds4j Python client; the client itself is :mod:`yr.datasystem`."""
