"""Atomic, deterministic writers: a failed job never leaves a half-written output."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) for a temp file beside `path`, then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are ordinary readable files
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def dumps_json(value) -> str:
    return json.dumps(value, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_json(path: str | Path, value) -> None:
    write_text(path, dumps_json(value))


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Parquet without the pandas index and without wall-clock metadata, so bytes are stable."""
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"))


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Parquet or CSV by the file's suffix."""
    if str(path).endswith(".csv"):
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
    else:
        write_parquet(frame, path)


def read_parquet(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path, engine="pyarrow", dtype_backend="numpy_nullable")


def json_load(path: str | Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
