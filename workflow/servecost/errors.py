"""Errors a user can act on: each names the file, row, field or provider at fault."""


class ServecostError(Exception):
    """Base class: the CLI prints these as one line, without a traceback."""


class DataError(ServecostError):
    """Bad input data (a snapshot CSV, a reference table, a raw provider response)."""


class ConfigError(ServecostError):
    """A config value outside its domain; the message names the key and the value."""


class FetchError(ServecostError):
    """A provider API could not be read; the message names the provider and URL."""
