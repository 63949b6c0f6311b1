"""Live prices from the providers' own APIs: fetch a raw body, normalise it to the catalog, and
refresh the committed snapshot config/prices/<provider>.csv.

The library behind `servecost fetch|normalise|snapshot` and the Snakemake price rules:

    meta = fetch_to_file("hetzner", "results/raw/hetzner.json", regions=["fsn1"])
    frame = normalise_file("hetzner", "results/raw/hetzner.json")   # reads the .meta.json sidecar

A provider whose token variable is unset raises MissingToken (a FetchError) before any request.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io as _io
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from servecost import io
from servecost.catalog import (
    CATALOG_COLUMNS,
    CATALOG_DTYPES,
    KEY_COLUMNS,
    coerce_catalog,
    sort_catalog,
    validate_catalog,
)
from servecost.errors import DataError, FetchError
from servecost.providers import aws, azure, digitalocean, hetzner, lambda_cloud
from servecost.providers.http import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_PAGES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Client,
    parse_json_body,
    redact,
)

PROVIDERS = {
    "hetzner": hetzner,
    "aws": aws,
    "digitalocean": digitalocean,
    "azure": azure,
    "lambda": lambda_cloud,
}
ALIASES = {"lambda_cloud": "lambda", "lambdalabs": "lambda", "do": "digitalocean"}
SNAPSHOT_COLUMNS = [*CATALOG_COLUMNS, "as_of"]
# Providers that publish a monthly price beside the hourly one (kept as published).
PUBLISHES_MONTHLY = {"hetzner", "digitalocean"}
# Columns that carry provenance, not the offer: an unchanged offer keeps its old provenance.
PROVENANCE_COLUMNS = ["source_url", "fetched_at", "as_of"]


class MissingToken(FetchError):
    """The provider's API token variable is unset: skip the live fetch, use the snapshot."""

    def __init__(self, provider: str, env_var: str):
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"{provider}: {env_var} is not set, so live prices were not fetched "
            f"(the snapshot config/prices/{provider}.csv is used)"
        )


def provider_module(provider: str):
    name = ALIASES.get(provider, provider)
    if name not in PROVIDERS:
        raise FetchError(f"unknown provider {provider!r} (known: {', '.join(sorted(PROVIDERS))})")
    return PROVIDERS[name]


def meta_path(raw_path: str | Path) -> Path:
    """results/raw/aws.json -> results/raw/aws.meta.json (also for .csv raws)."""
    raw = Path(raw_path)
    return raw.with_name(f"{raw.stem}.meta.json")


def read_meta(raw_path: str | Path) -> dict | None:
    path = meta_path(raw_path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the fetch sidecar: {exc}") from None


def _now_utc() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_to_file(
    provider: str,
    raw_path: str | Path,
    *,
    regions: list[str] | None = None,
    base_url: str | None = None,
    env: Mapping[str, str] = os.environ,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    max_pages: int = DEFAULT_MAX_PAGES,
    fmt: str | None = None,
    log: Callable[[str], object] | None = None,
) -> dict:
    """Fetch `provider`'s prices into raw_path (+ raw_path's .meta.json sidecar); return the meta.

    The raw file is the provider's own response shape, all pages merged (for AWS: the region's
    offer file, JSON or CSV when fmt == "csv" or raw_path ends with .csv; several regions -> one
    offer file per region beside raw_path and a small manifest in raw_path). Raises MissingToken
    when the token variable is unset, FetchError on any network/HTTP/body problem; on failure
    nothing is left behind.
    """
    module = provider_module(provider)
    name = module.NAME
    token = None
    if module.TOKEN_ENV:
        token = (env.get(module.TOKEN_ENV) or "").strip()
        if not token:
            raise MissingToken(name, module.TOKEN_ENV)
    say = log or (lambda message: None)
    raw = Path(raw_path)
    regions = [r for r in (regions or []) if r] or None
    client = Client(
        name,
        module.ORIGIN,
        base_url=base_url,
        token=token,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        max_pages=max_pages,
    )
    written: list[Path] = []
    fetched_at = _now_utc()
    say(f"{name}: fetching live prices from {client.origin}")
    try:
        if name == "aws":
            fmt = "csv" if (fmt == "csv" or raw.suffix == ".csv") else "json"
            wanted = regions or aws.DEFAULT_REGIONS
            if len(wanted) == 1:
                info = aws.fetch_offer(client, wanted[0], raw, fmt)
                written.append(raw)
                source_url, sha, size = info["url"], info["sha256"], info["bytes"]
            else:
                files = {}
                for region in wanted:
                    target = raw.with_name(f"{raw.stem}.{region}.{fmt}")
                    aws.fetch_offer(client, region, target, fmt)
                    written.append(target)
                    files[region] = target.name
                manifest = {aws.MANIFEST_KEY: files, "offerCode": aws.SERVICE}
                io.write_json(raw, manifest)
                written.append(raw)
                source_url = client.urls[-1] if client.urls else client.origin
                sha, size = _sha256(raw), raw.stat().st_size
        else:
            fmt = "json"
            body = module.fetch(client, regions)
            text = redact(io.dumps_json(body), [token])
            io.write_text(raw, text)
            written.append(raw)
            source_url = client.urls[0]
            sha, size = _sha256(raw), raw.stat().st_size
        meta = {
            "provider": name,
            "source_url": source_url,
            "urls": client.urls,
            "http_status": client.statuses[-1] if client.statuses else None,
            "statuses": client.statuses,
            "fetched_at": fetched_at,
            "sha256": sha,
            "bytes": size,
            "format": fmt,
            "regions": regions,
        }
        io.write_text(meta_path(raw), redact(io.dumps_json(meta), [token]))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    pages = len(client.urls)
    say(f"{name}: wrote {raw} ({size} bytes, {pages} request(s))")
    return meta


def _load_json(raw: Path, *, provider: str, source: str):
    try:
        body = raw.read_bytes()
    except OSError as exc:
        raise DataError(f"{provider} ({raw}): cannot read: {exc.strerror}") from None
    try:
        return parse_json_body(body, provider=provider, url=source)
    except FetchError as exc:
        raise DataError(str(exc)) from None


def normalise_file(
    provider: str, raw_path: str | Path, *, meta: dict | None = None
) -> pd.DataFrame:
    """Catalog rows (coerced, validated, sorted) from a raw body written by fetch_to_file.

    source_url is the URL fetched and fetched_at the sidecar's fetched_at. Without a sidecar
    (e.g. a hand-saved body) they are the file path and the file's modification time.
    """
    module = provider_module(provider)
    name = module.NAME
    raw = Path(raw_path)
    if not raw.exists():
        raise DataError(f"{name} ({raw}): raw file not found")
    if meta is None:
        meta = read_meta(raw) or {}
    source_url = meta.get("source_url") or (meta.get("urls") or [None])[0] or str(raw)
    fetched_at = meta.get("fetched_at")
    if not fetched_at:
        mtime = dt.datetime.fromtimestamp(raw.stat().st_mtime, dt.UTC).replace(microsecond=0)
        fetched_at = mtime.strftime("%Y-%m-%dT%H:%M:%SZ")
    origin = f"{name} ({source_url})" if source_url != str(raw) else f"{name} ({raw})"
    regions = meta.get("regions")

    if name == "aws":
        files = aws.manifest_files(raw) or {None: raw}
        rows = []
        for region, path in files.items():
            if not path.exists():
                raise DataError(f"{origin}: offer file {path} (region {region}) not found")
            rows += aws.normalise_path(path, origin=origin, region_hint=region)
        if regions:
            wanted = {r.lower() for r in regions}
            rows = [row for row in rows if row["region"].lower() in wanted]
    else:
        body = _load_json(raw, provider=name, source=str(raw))
        rows = module.normalise(body, origin=origin, regions=regions)
    if not rows:
        raise DataError(f"{origin}: no offers left after normalisation")
    frame = pd.DataFrame(rows)
    frame.insert(0, "provider", name)
    frame["source_url"] = source_url
    frame["fetched_at"] = fetched_at
    frame["as_of"] = ""
    for column in CATALOG_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    frame = frame[SNAPSHOT_COLUMNS]
    frame = coerce_catalog(frame, origin=origin)
    validate_catalog(frame, origin=origin)
    return sort_catalog(frame)


# -- snapshot ---------------------------------------------------------------------------------
def _format(value, dtype: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if dtype == "Float64":
        return format(float(value), ".12g")
    if dtype == "Int64":
        return str(int(value))
    return str(value)


def snapshot_rows(frame: pd.DataFrame, provider: str) -> list[dict[str, str]]:
    """Catalog rows as the strings written to config/prices/<provider>.csv."""
    dtypes = {**CATALOG_DTYPES, "as_of": "string"}
    out = []
    for record in frame.to_dict("records"):
        row = {c: _format(record.get(c), dtypes[c]) for c in SNAPSHOT_COLUMNS}
        row["fetched_at"] = row["fetched_at"][:10]  # the date, like the curated rows
        if provider not in PUBLISHES_MONTHLY:
            row["price_month"] = ""  # only hourly is published; readers fill hourly x 730
        out.append(row)
    return out


def write_snapshot(
    frame: pd.DataFrame, provider: str, *, config_dir: str | Path = "config"
) -> dict:
    """Rewrite config_dir/prices/<provider>.csv from a normalised live frame.

    Rows are sorted by the catalog keys and written in the snapshot column order. An offer whose
    values are unchanged keeps its existing source_url/fetched_at/as_of, so `git diff` shows only
    offers that were added, removed or re-priced. Existing rows of a billing the live API cannot
    produce (AWS spot, say) are kept unchanged. Returns counts of each.
    """
    module = provider_module(provider)
    name = module.NAME
    path = Path(config_dir) / "prices" / f"{name}.csv"
    if set(frame["provider"].dropna()) - {name}:
        raise DataError(f"{path}: rows for another provider than {name}")
    new_rows = snapshot_rows(frame, name)
    old_rows: dict[tuple, dict] = {}
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                old_rows[tuple(row.get(c, "") for c in KEY_COLUMNS)] = row
    compare = [c for c in SNAPSHOT_COLUMNS if c not in PROVENANCE_COLUMNS]
    counts = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0, "kept": 0}
    # Rows of a billing the live API cannot produce (e.g. AWS spot) are kept as they are.
    out_of_scope = {k: r for k, r in old_rows.items() if r.get("billing") not in module.BILLINGS}
    counts["kept"] = len(out_of_scope)
    keys = set()
    for row in new_rows:
        key = tuple(row[c] for c in KEY_COLUMNS)
        keys.add(key)
        old = old_rows.get(key)
        if old is None:
            counts["added"] += 1
        elif all(_same(old.get(c, ""), row[c]) for c in compare):
            counts["unchanged"] += 1
            for column in PROVENANCE_COLUMNS:
                row[column] = old.get(column, "")
        else:
            counts["changed"] += 1
    counts["removed"] = len(set(old_rows) - keys - set(out_of_scope))
    new_rows += [
        {c: row.get(c, "") for c in SNAPSHOT_COLUMNS}
        for key, row in out_of_scope.items()
        if key not in keys
    ]
    new_rows.sort(key=lambda r: tuple(r[c] for c in KEY_COLUMNS))
    buffer = _io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SNAPSHOT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(new_rows)
    text = buffer.getvalue()
    check = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    validate_catalog(coerce_catalog(check, origin=str(path)), origin=str(path))
    io.write_text(path, text)
    return {"path": str(path), **counts}


def _same(old: str, new: str) -> bool:
    if old == new:
        return True
    try:
        return float(old) == float(new)
    except ValueError:
        return False
