"""CLI subcommands: argument parsing only; the work is in the library modules."""
