"""Send the library's log lines to a Snakemake rule's log file."""

from __future__ import annotations

import contextlib
import logging
import sys


@contextlib.contextmanager
def rule_log(path: str):
    """Log servecost's messages (and any error) to `path` for the duration of a rule."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("servecost")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    except Exception as exc:
        logger.error("%s: %s", type(exc).__name__, exc)
        print(f"servecost: {exc}", file=sys.stderr)
        raise
    finally:
        logger.removeHandler(handler)
        handler.close()
