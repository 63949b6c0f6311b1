"""What changed between two result sets: prices, their cost consequences, recommendation flips.

Pure functions over the tables of two results directories (catalog.parquet, costs.parquet,
summary.json; break_even.parquet when summary.json lacks break-even volumes). `build_diff`
returns one dict (the JSON output); `render_markdown` and `render_html` format it. Unchanged rows
are counted, never listed. Everything is sorted by its keys and rounded the same way every time,
so the same two inputs always give the same bytes.

Rounding in text: prices 4 decimals, money 2, cost per query 6, cost per 1M tokens 4,
percentages 1 decimal with a sign. Two values are "the same" when they agree at that rounding.
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from servecost import io
from servecost.costs import STRATEGIES
from servecost.errors import ServecostError
from servecost.summary import SCHEMA_VERSION

OFFER_KEYS = ["provider", "instance_type", "region", "billing"]

CATALOG_FILE = "catalog.parquet"
COSTS_FILE = "costs.parquet"
SUMMARY_FILE = "summary.json"
BREAK_EVEN_FILE = "break_even.parquet"
REQUIRED_FILES = [CATALOG_FILE, COSTS_FILE, SUMMARY_FILE]

CATALOG_REQUIRED = [*OFFER_KEYS, "price_month", "currency", "report_price_month"]
COSTS_REQUIRED = [
    "strategy",
    *OFFER_KEYS,
    "software",
    "traffic_multiplier",
    "named_multiplier",
    "queries_per_day",
    "instances",
    "monthly_cost",
    "cost_per_query",
    "cost_per_mtok",
    "feasible",
]
BREAK_EVEN_REQUIRED = ["strategy_a", "strategy_b", "a_cheaper_at_low", "queries_per_day"]
SUMMARY_REQUIRED = ["schema_version", "current", "recommendations"]

# Decimals at which a value is compared and shown.
PRICE_DIGITS = 4
MONEY_DIGITS = 2
PCT_DIGITS = 1
# Per-query and per-token costs span 1e-7..1e-1: significant digits, not decimals.
SIGNIFICANT = {"cost_per_query": 4, "cost_per_mtok": 4}
METRIC_DIGITS = {
    "monthly_cost": MONEY_DIGITS,
    "cost_per_query": None,
    "cost_per_mtok": None,
    "instances": 0,
    "utilisation": 4,
    "queries_per_day": 2,
}
COST_METRICS = ["monthly_cost", "cost_per_query", "cost_per_mtok", "instances"]
CURRENT_FIELDS = [
    "provider",
    "instance_type",
    "region",
    "instances",
    "queries_per_day",
    "utilisation",
    "feasible",
    "monthly_cost",
    "cost_per_query",
    "cost_per_mtok",
]
OFFER_FIELDS = ["provider", "instance_type", "region", "billing", "software"]
RECOMMENDATION_FIELDS = ["strategy", "provider", "instance_type", "region", "software"]
DEFAULT_BREAK_EVEN_THRESHOLD = 5.0


class Results(dict):
    """One loaded results set: label, path, catalog, costs, summary, break_even (list of dicts)."""


# ---------------------------------------------------------------- loading


def load_results(path: str | Path, *, label: str | None = None) -> Results:
    """Read and validate a results directory; a ServecostError names the directory and file."""
    root = Path(path)
    if not root.is_dir():
        raise ServecostError(f"{root}: not a results directory (no such directory)")
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    if missing:
        raise ServecostError(
            f"{root}: not a results set: missing {', '.join(missing)} "
            f"(a results directory holds {', '.join(REQUIRED_FILES)}; run `snakemake` first)"
        )
    catalog = _read_table(root / CATALOG_FILE, CATALOG_REQUIRED)
    costs = _read_table(root / COSTS_FILE, COSTS_REQUIRED)
    summary = _read_summary(root / SUMMARY_FILE)
    if "break_even" in summary:
        break_even = summary["break_even"]
        if not isinstance(break_even, list):
            raise ServecostError(f"{root / SUMMARY_FILE}: 'break_even' must be a list")
    elif (root / BREAK_EVEN_FILE).is_file():
        table = _read_table(root / BREAK_EVEN_FILE, BREAK_EVEN_REQUIRED)
        break_even = [
            {
                "cheaper": row.strategy_a,
                "than": row.strategy_b,
                "queries_per_day": _clean(row.queries_per_day),
                "cheaper_below": bool(row.a_cheaper_at_low),
            }
            for row in table.itertuples()
        ]
    else:
        break_even = []
    return Results(
        label=label or str(path),
        path=str(root),
        catalog=catalog,
        costs=costs,
        summary=summary,
        break_even=break_even,
    )


def _read_table(path: Path, required: list[str]) -> pd.DataFrame:
    try:
        frame = io.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt or foreign file
        raise ServecostError(f"{path}: cannot read Parquet: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ServecostError(
            f"{path}: missing column(s) {', '.join(missing)} (built by an incompatible servecost?)"
        )
    return frame


def _read_summary(path: Path) -> dict:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ServecostError(f"{path}: cannot read JSON: {exc}") from exc
    if not isinstance(summary, dict):
        raise ServecostError(f"{path}: expected a JSON object")
    version = summary.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ServecostError(
            f"{path}: schema_version {version!r}, this servecost reads {SCHEMA_VERSION} "
            "(rebuild the results with this version)"
        )
    missing = [key for key in SUMMARY_REQUIRED if key not in summary]
    if missing:
        raise ServecostError(f"{path}: missing key(s) {', '.join(missing)}")
    if not isinstance(summary["recommendations"], list) or not isinstance(summary["current"], dict):
        raise ServecostError(f"{path}: 'current' must be an object and 'recommendations' a list")
    return summary


# ---------------------------------------------------------------- git:REV


def resolve_results(spec: str, *, repo: str | Path | None = None, cores: int = 2) -> Results:
    """A results directory, or `git:REV`: the results built from that revision's config/."""
    spec = str(spec)
    if spec.startswith("git:"):
        with tempfile.TemporaryDirectory(prefix="servecost-diff-") as tmp:
            results = results_from_git(spec[4:], repo or Path.cwd(), workdir=tmp, cores=cores)
            return load_results(results, label=spec)
    return load_results(spec, label=spec)


def _git(repo: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, text=not binary
        )
    except FileNotFoundError as exc:
        raise ServecostError("git: not found on PATH (needed for git:REV)") from exc


def git_toplevel(path: str | Path) -> Path:
    done = _git(Path(path), "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise ServecostError(f"{path}: not inside a git repository (needed for git:REV)")
    return Path(done.stdout.strip())


def results_from_git(
    rev: str, repo: str | Path, *, workdir: str | Path | None = None, cores: int = 2
) -> Path:
    """Build the results of revision REV's config/ with the current tree's Snakefile and workflow/.

    Checks out REV:config/ into `workdir` (a new temp dir when None; the caller removes it), copies
    the working tree's Snakefile and workflow/, runs Snakemake there and returns workdir/results.
    """
    if not rev:
        raise ServecostError("git:REV: empty revision")
    top = git_toplevel(repo)
    done = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if done.returncode != 0:
        raise ServecostError(f"git:{rev}: unknown revision in {top}")
    commit = done.stdout.strip()
    for name in ("Snakefile", "workflow"):
        if not (top / name).exists():
            raise ServecostError(f"git:{rev}: {top / name} not found (needed to build results)")
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="servecost-diff-"))
    work.mkdir(parents=True, exist_ok=True)
    archive = _git(top, "archive", "--format=tar", commit, "config", binary=True)
    if archive.returncode != 0:
        message = archive.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ServecostError(
            f"git:{rev}: cannot read config/ at {commit[:12]} in {top}: "
            f"{message[-1] if message else 'git archive failed'}"
        )
    archive_path = work / ".config.tar"
    archive_path.write_bytes(archive.stdout)
    with tarfile.open(archive_path) as tar:
        tar.extractall(work, filter="data")
    archive_path.unlink()
    shutil.copy2(top / "Snakefile", work / "Snakefile")
    shutil.copytree(
        top / "workflow",
        work / "workflow",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake"),
        dirs_exist_ok=True,
    )
    targets = [f"results/{name}" for name in REQUIRED_FILES]
    command = [
        sys.executable, "-m", "snakemake", *targets,
        "--snakefile", str(work / "Snakefile"),
        "--directory", str(work),
        "--cores", str(cores),
        "--quiet", "rules",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}
    # The copied workflow/ holds the library too: rules and library come from the same tree.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(work / "workflow"), os.environ.get("PYTHONPATH", "")) if p
    )
    run = subprocess.run(command, capture_output=True, text=True, cwd=work, env=env, check=False)
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-15:]
        raise ServecostError(
            f"git:{rev}: building results from {commit[:12]}:config/ failed "
            f"(snakemake exit {run.returncode} in {work}): " + " | ".join(tail)
        )
    return work / "results"


# ---------------------------------------------------------------- small helpers


def _clean(value):
    """A JSON-safe scalar: NA/NaN/inf -> None, numpy -> python."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _num(value, digits: int):
    value = _clean(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        rounded = round(float(value), digits)
        return rounded + 0.0 if rounded else 0.0  # no -0.0
    return value


def _text(value) -> str:
    value = _clean(value)
    return "" if value is None else str(value)


def _sig_decimals(value: float, significant: int) -> int:
    if value == 0:
        return significant - 1
    return significant - 1 - math.floor(math.log10(abs(value)))


def round_metric(metric: str, value):
    """A metric at the precision it is compared and shown with (None for a missing value)."""
    value = _clean(value)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if metric in SIGNIFICANT:
        return _num(value, _sig_decimals(float(value), SIGNIFICANT[metric]))
    return _num(value, METRIC_DIGITS[metric])


def pct_change(old, new) -> float | None:
    old, new = _clean(old), _clean(new)
    if old is None or new is None or float(old) == 0.0:
        return None
    return _num((float(new) - float(old)) / abs(float(old)) * 100.0, 6)


def _same(old, new, digits: int) -> bool:
    old, new = _clean(old), _clean(new)
    if old is None or new is None:
        return old is None and new is None
    return _num(old, digits) == _num(new, digits)


def parse_percent(text) -> float:
    """'5%', '5', '+5.5 %' -> 5.0 / 5.5; raises ValueError otherwise."""
    cleaned = str(text).strip().rstrip("%").strip()
    value = float(cleaned)
    if not math.isfinite(value):
        raise ValueError(f"not a finite percentage: {text!r}")
    return value


# ---------------------------------------------------------------- prices


def diff_prices(old: pd.DataFrame, new: pd.DataFrame) -> tuple[list[dict], dict]:
    """Offers added, removed and repriced (price_month, published currency), sorted by key.

    Returns (changes, counts) where counts has added/removed/repriced/unchanged and the median
    percentage change of the repriced offers.
    """
    columns = [*OFFER_KEYS, "price_month", "currency", "report_price_month"]
    a = _offer_frame(old[columns])
    b = _offer_frame(new[columns])
    merged = a.merge(b, on=OFFER_KEYS, how="outer", suffixes=("_old", "_new"), indicator=True)
    merged = merged.sort_values(OFFER_KEYS, kind="mergesort")
    changes = []
    unchanged = 0
    for row in merged.to_dict("records"):
        side = row["_merge"]
        if side == "both":
            same_price = _same(row["price_month_old"], row["price_month_new"], PRICE_DIGITS)
            if same_price and row["currency_old"] == row["currency_new"]:
                unchanged += 1
                continue
            change = "repriced"
        else:
            change = "added" if side == "right_only" else "removed"
        old_price = _num(row["price_month_old"], PRICE_DIGITS) if change != "added" else None
        new_price = _num(row["price_month_new"], PRICE_DIGITS) if change != "removed" else None
        entry = {key: row[key] for key in OFFER_KEYS}
        entry.update(
            change=change,
            old=old_price,
            new=new_price,
            abs=_num(new_price - old_price, PRICE_DIGITS) if change == "repriced" else None,
            pct=pct_change(row["price_month_old"], row["price_month_new"])
            if change == "repriced"
            else None,
            currency=_text(row["currency_new"] if change != "removed" else row["currency_old"]),
            old_currency=_text(row["currency_old"]) or None,
            new_currency=_text(row["currency_new"]) or None,
            old_report=_num(row["report_price_month_old"], PRICE_DIGITS),
            new_report=_num(row["report_price_month_new"], PRICE_DIGITS),
        )
        changes.append(entry)
    repriced = [c["pct"] for c in changes if c["change"] == "repriced" and c["pct"] is not None]
    counts = {
        "added": sum(c["change"] == "added" for c in changes),
        "removed": sum(c["change"] == "removed" for c in changes),
        "repriced": sum(c["change"] == "repriced" for c in changes),
        "unchanged": unchanged,
        "median_pct": _num(pd.Series(repriced, dtype=float).median(), 6) if repriced else None,
    }
    return changes, counts


def _offer_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for key in OFFER_KEYS:
        out[key] = out[key].astype("string").fillna("").astype(object)
    out["currency"] = out["currency"].astype("string").fillna("").astype(object)
    for column in ("price_month", "report_price_month"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out.drop_duplicates(OFFER_KEYS, keep="first")


def price_summary_line(counts: dict) -> str:
    """'12 offers repriced, median +8.5%; 1 added, 2 removed; 140 unchanged.'"""
    parts = []
    n = counts["repriced"]
    if n:
        median = counts["median_pct"]
        text = f"{n} offer{'s' if n != 1 else ''} repriced"
        if median is not None:
            text += f", median {fmt_pct(median)}"
        parts.append(text)
    extra = [f"{counts[k]} {k}" for k in ("added", "removed") if counts[k]]
    if extra:
        parts.append(", ".join(extra))
    if not parts:
        return f"No price changes ({counts['unchanged']} offers unchanged)."
    return "; ".join(parts) + f"; {counts['unchanged']} unchanged."


# ---------------------------------------------------------------- cost consequences


def _strategy_rows(costs: pd.DataFrame) -> pd.DataFrame:
    rows = costs[(costs["strategy"] != "candidate") & costs["named_multiplier"].fillna(False)]
    rows = rows.copy()
    rows["traffic_multiplier"] = rows["traffic_multiplier"].astype(float).round(6)
    for key in OFFER_KEYS + ["software", "strategy"]:
        rows[key] = rows[key].astype("string").fillna("").astype(object)
    # One row per strategy and multiplier; should there be more, the cheapest feasible one.
    rows = rows.sort_values(
        ["strategy", "traffic_multiplier", "feasible", "monthly_cost", *OFFER_KEYS],
        ascending=[True, True, False, True, True, True, True, True],
        kind="mergesort",
    )
    return rows.drop_duplicates(["strategy", "traffic_multiplier"], keep="first")


def _strategy_order(strategy: str) -> tuple:
    return (STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES), strategy)


def _state(row: dict | None) -> dict | None:
    if row is None:
        return None
    state = {field: _text(row.get(field)) for field in OFFER_FIELDS}
    for metric in COST_METRICS:
        state[metric] = round_metric(metric, row.get(metric))
    if state["instances"] is not None:
        state["instances"] = int(state["instances"])
    state["feasible"] = bool(_clean(row.get("feasible")))
    return state


def diff_costs(old: pd.DataFrame, new: pd.DataFrame) -> tuple[list[dict], dict]:
    """Per named strategy and named multiplier: the metrics before and after, changed ones only.

    The current setup (strategy as_is) comes first, then the strategies in their usual order.
    """
    a = {
        (r["strategy"], r["traffic_multiplier"]): r for r in _strategy_rows(old).to_dict("records")
    }
    b = {
        (r["strategy"], r["traffic_multiplier"]): r for r in _strategy_rows(new).to_dict("records")
    }
    keys = sorted(set(a) | set(b), key=lambda k: (_strategy_order(k[0]), k[1]))
    changes, unchanged = [], 0
    for key in keys:
        before, after = _state(a.get(key)), _state(b.get(key))
        if before == after:
            unchanged += 1
            continue
        change = "changed" if before and after else ("added" if after else "removed")
        fields = []
        if before and after:
            fields = [f for f in [*COST_METRICS, "feasible"] if before[f] != after[f]]
            if any(before[f] != after[f] for f in OFFER_FIELDS):
                fields.insert(0, "offer")
        source = b.get(key) or a.get(key)
        changes.append(
            {
                "strategy": key[0],
                "traffic_multiplier": key[1],
                "queries_per_day": _num(source.get("queries_per_day"), 2),
                "current": key[0] == "as_is",
                "change": change,
                "fields": fields,
                "old": before,
                "new": after,
                "pct": {
                    metric: pct_change(
                        a[key].get(metric) if key in a else None,
                        b[key].get(metric) if key in b else None,
                    )
                    for metric in COST_METRICS
                },
            }
        )
    counts = {
        "changed": sum(c["change"] == "changed" for c in changes),
        "added": sum(c["change"] == "added" for c in changes),
        "removed": sum(c["change"] == "removed" for c in changes),
        "unchanged": unchanged,
    }
    return changes, counts


def diff_current(
    old: dict, new: dict, *, old_row: dict | None = None, new_row: dict | None = None
) -> dict:
    """summary.current before and after: which fields moved, and the cost changes in percent.

    summary.json rounds its numbers; `old_row`/`new_row` (the unrounded as_is rows at 1x from
    costs.parquet), when given, make the percentages exact.
    """
    before = {f: old.get(f) for f in CURRENT_FIELDS}
    after = {f: new.get(f) for f in CURRENT_FIELDS}
    fields = []
    for field in CURRENT_FIELDS:
        same = (
            round_metric(field, before[field]) == round_metric(field, after[field])
            if field in METRIC_DIGITS
            else _text(before[field]) == _text(after[field])
        )
        if not same:
            fields.append(field)
    return {
        "changed": bool(fields),
        "fields": fields,
        "old": before,
        "new": after,
        "pct": {
            m: pct_change((old_row or before).get(m), (new_row or after).get(m))
            for m in COST_METRICS
        },
    }


def _current_row(costs: pd.DataFrame, current: dict) -> dict | None:
    """The as_is row at 1x that summary.current was made from, if it is the same offer."""
    rows = _strategy_rows(costs)
    rows = rows[(rows["strategy"] == "as_is") & (rows["traffic_multiplier"] == 1.0)]
    if len(rows) != 1:
        return None
    row = rows.iloc[0].to_dict()
    same = all(_text(row.get(f)) == _text(current.get(f)) for f in OFFER_KEYS[:3])
    return row if same else None


# ---------------------------------------------------------------- recommendations, break-even


def _rec_key(rec: dict) -> float:
    return _num(rec.get("traffic_multiplier"), 6)


def _rec_state(rec: dict | None) -> dict | None:
    if rec is None:
        return None
    state = {field: _text(rec.get(field)) for field in RECOMMENDATION_FIELDS}
    for metric in COST_METRICS:
        state[metric] = round_metric(metric, rec.get(metric))
    return state


def diff_recommendations(
    old: dict,
    new: dict,
    *,
    old_break_even: list[dict] | None = None,
    new_break_even: list[dict] | None = None,
    threshold: float = DEFAULT_BREAK_EVEN_THRESHOLD,
) -> tuple[list[dict], dict, list[dict]]:
    """Flips (cheapest strategy or offer changed per multiplier) and break-even moves.

    `old`/`new` are summary.json dicts. Returns (changes, counts, cost_moves) where cost_moves
    lists every multiplier's recommended monthly cost before and after (for --fail-above).
    """
    a = {_rec_key(r): r for r in old.get("recommendations", [])}
    b = {_rec_key(r): r for r in new.get("recommendations", [])}
    changes, moves = [], []
    flips = unchanged_recs = 0
    for key in sorted(set(a) | set(b)):
        before, after = _rec_state(a.get(key)), _rec_state(b.get(key))
        source = b.get(key) or a.get(key)
        if before and after:
            moves.append(
                {
                    "traffic_multiplier": key,
                    "old": before["monthly_cost"],
                    "new": after["monthly_cost"],
                    "pct": pct_change(before["monthly_cost"], after["monthly_cost"]),
                }
            )
        what = []
        if before and after:
            if before["strategy"] != after["strategy"]:
                what.append("strategy")
            if any(before[f] != after[f] for f in RECOMMENDATION_FIELDS[1:]):
                what.append("offer")
        if before and after and not what:
            unchanged_recs += 1
            continue
        flips += 1
        changes.append(
            {
                "kind": "recommendation",
                "change": "flipped" if before and after else ("added" if after else "removed"),
                "what": what,
                "traffic_multiplier": key,
                "queries_per_day": _num(source.get("queries_per_day"), 2),
                "old": before,
                "new": after,
                "pct": pct_change(
                    before and before["monthly_cost"], after and after["monthly_cost"]
                ),
            }
        )
    be_changes, be_counts = diff_break_even(
        old_break_even if old_break_even is not None else old.get("break_even", []),
        new_break_even if new_break_even is not None else new.get("break_even", []),
        threshold=threshold,
    )
    counts = {
        "flipped": flips,
        "unchanged": unchanged_recs,
        "break_even_moved": be_counts["moved"],
        "break_even_unchanged": be_counts["unchanged"],
        "break_even_threshold": threshold,
    }
    return changes + be_changes, counts, moves


def diff_break_even(old: list[dict], new: list[dict], *, threshold: float) -> tuple[list, dict]:
    """Break-even volumes that appeared, vanished, swapped side or moved by more than threshold%."""
    a = {(e["cheaper"], e["than"]): e for e in old}
    b = {(e["cheaper"], e["than"]): e for e in new}
    changes, unchanged = [], 0
    keys = sorted(set(a) | set(b), key=lambda k: (_strategy_order(k[0]), _strategy_order(k[1])))
    for key in keys:
        before, after = a.get(key), b.get(key)
        q_old = _num(before.get("queries_per_day"), 2) if before else None
        q_new = _num(after.get("queries_per_day"), 2) if after else None
        below_old = bool(before.get("cheaper_below")) if before else None
        below_new = bool(after.get("cheaper_below")) if after else None
        pct = pct_change(q_old, q_new)
        if before is None or after is None:
            reason = "added" if after else "removed"
        elif (q_old is None) != (q_new is None):
            reason = "appeared" if q_old is None else "vanished"
        elif below_old != below_new:
            reason = "swapped"
        elif q_old is not None and (pct is None or abs(pct) > threshold):
            reason = "moved"
        else:
            unchanged += 1
            continue
        changes.append(
            {
                "kind": "break_even",
                "change": reason,
                "cheaper": key[0],
                "than": key[1],
                "old": q_old,
                "new": q_new,
                "pct": pct,
                "old_cheaper_below": below_old,
                "new_cheaper_below": below_new,
            }
        )
    return changes, {"moved": len(changes), "unchanged": unchanged}


# ---------------------------------------------------------------- the whole diff


def build_diff(
    old: Results, new: Results, *, break_even_threshold: float = DEFAULT_BREAK_EVEN_THRESHOLD
) -> dict:
    """The diff as one JSON-ready dict: price_changes, current, cost_changes,
    recommendation_changes, summary."""
    prices, price_counts = diff_prices(old["catalog"], new["catalog"])
    costs, cost_counts = diff_costs(old["costs"], new["costs"])
    current = diff_current(
        old["summary"]["current"],
        new["summary"]["current"],
        old_row=_current_row(old["costs"], old["summary"]["current"]),
        new_row=_current_row(new["costs"], new["summary"]["current"]),
    )
    recs, rec_counts, moves = diff_recommendations(
        old["summary"],
        new["summary"],
        old_break_even=old.get("break_even"),
        new_break_even=new.get("break_even"),
        threshold=break_even_threshold,
    )
    currency_old = old["summary"].get("report_currency")
    currency_new = new["summary"].get("report_currency")
    changed = bool(prices or costs or recs or current["changed"] or currency_old != currency_new)
    summary = {
        "changed": changed,
        "old": old.get("label", old.get("path")),
        "new": new.get("label", new.get("path")),
        "old_as_of": old["summary"].get("as_of"),
        "new_as_of": new["summary"].get("as_of"),
        "report_currency": currency_new,
        "old_report_currency": currency_old,
        "prices": price_counts,
        "costs": cost_counts,
        "recommendations": rec_counts,
        "current_monthly_cost": {
            "old": _num(current["old"].get("monthly_cost"), MONEY_DIGITS),
            "new": _num(current["new"].get("monthly_cost"), MONEY_DIGITS),
            "pct": current["pct"]["monthly_cost"],
        },
        "recommended_monthly_cost": moves,
    }
    summary["line"] = summary_line(summary, current) if changed else "No changes."
    return {
        "summary": summary,
        "price_changes": prices,
        "current": current,
        "cost_changes": costs,
        "recommendation_changes": recs,
    }


def summary_line(summary: dict, current: dict) -> str:
    parts = []
    prices = summary["prices"]
    if prices["repriced"] or prices["added"] or prices["removed"]:
        parts.append(price_summary_line(prices).rsplit(";", 1)[0])
    if current["changed"]:
        money = summary["current_monthly_cost"]
        currency = summary["report_currency"] or ""
        if money["old"] != money["new"]:
            parts.append(
                f"current setup {fmt_money(money['old'])} -> {fmt_money(money['new'])} "
                f"{currency}/month ({fmt_pct(money['pct'])})".replace("  ", " ")
            )
        else:
            parts.append("current setup changed")
    costs = summary["costs"]
    n = costs["changed"] + costs["added"] + costs["removed"]
    if n:
        parts.append(f"{n} strategy row{'s' if n != 1 else ''} changed")
    recs = summary["recommendations"]
    if recs["flipped"]:
        parts.append(
            f"{recs['flipped']} recommendation{'s' if recs['flipped'] != 1 else ''} flipped"
        )
    if recs["break_even_moved"]:
        moved = recs["break_even_moved"]
        parts.append(f"{moved} break-even volume{'s' if moved != 1 else ''} moved")
    if summary["old_report_currency"] != summary["report_currency"]:
        parts.append(
            f"report currency {summary['old_report_currency']} -> {summary['report_currency']}"
        )
    return "; ".join(parts) + "." if parts else "No changes."


def gate_failures(diff: dict, *, fail_above: float | None = None) -> list[str]:
    """Why --fail-above trips: the current monthly cost or a recommended one rose > fail_above%."""
    if fail_above is None:
        return []
    reasons = []
    money = diff["summary"]["current_monthly_cost"]
    if money["pct"] is not None and money["pct"] > fail_above:
        reasons.append(
            f"current setup monthly cost {fmt_pct(money['pct'])} "
            f"({fmt_money(money['old'])} -> {fmt_money(money['new'])}) > {fail_above:g}%"
        )
    for move in diff["summary"]["recommended_monthly_cost"]:
        if move["pct"] is not None and move["pct"] > fail_above:
            reasons.append(
                f"recommendation at {fmt_mult(move['traffic_multiplier'])} monthly cost "
                f"{fmt_pct(move['pct'])} ({fmt_money(move['old'])} -> {fmt_money(move['new'])}) "
                f"> {fail_above:g}%"
            )
    return reasons


# ---------------------------------------------------------------- formatting


def fmt_price(value) -> str:
    value = _num(value, PRICE_DIGITS)
    return "" if value is None else f"{value:.{PRICE_DIGITS}f}"


def fmt_money(value) -> str:
    value = _num(value, MONEY_DIGITS)
    return "" if value is None else f"{value:.{MONEY_DIGITS}f}"


def fmt_pct(value) -> str:
    value = _num(value, PCT_DIGITS)
    return "" if value is None else f"{value:+.{PCT_DIGITS}f}%"


def fmt_metric(metric: str, value) -> str:
    value = round_metric(metric, value)
    if value is None:
        return ""
    if metric in SIGNIFICANT:
        return f"{value:.{max(0, _sig_decimals(value, SIGNIFICANT[metric]))}f}"
    digits = METRIC_DIGITS[metric]
    return f"{int(value)}" if digits == 0 else f"{value:.{digits}f}"


def fmt_mult(value) -> str:
    return f"{float(value):g}x"


def fmt_volume(value) -> str:
    value = _num(value, 2)
    return "none" if value is None else f"{value:.0f}"


def _offer(state: dict | None, *, with_software: bool = True) -> str:
    if not state:
        return "-"
    parts = [state.get("provider", ""), state.get("instance_type", "")]
    if state.get("region"):
        parts.append(state["region"])
    text = "/".join(p for p in parts if p)
    if with_software and state.get("software"):
        text += f" ({state['software']})"
    return text


def sections(diff: dict) -> list[dict]:
    """The report as sections of text lines and tables (cells as strings), for md and html."""
    summary = diff["summary"]
    currency = summary["report_currency"] or ""
    out = []
    # 1. prices, grouped by provider
    prices = diff["price_changes"]
    if prices:
        section = {
            "title": "Price changes",
            "lines": [price_summary_line(summary["prices"])],
            "tables": [],
        }
        for provider in sorted({p["provider"] for p in prices}):
            rows = []
            for p in (p for p in prices if p["provider"] == provider):
                rows.append(
                    [
                        p["change"],
                        p["instance_type"],
                        p["region"] or "-",
                        p["billing"],
                        p["currency"],
                        fmt_price(p["old"]),
                        fmt_price(p["new"]),
                        fmt_price(p["abs"]),
                        fmt_pct(p["pct"]),
                        fmt_price(p["old_report"]),
                        fmt_price(p["new_report"]),
                    ]
                )
            section["tables"].append(
                {
                    "title": provider,
                    "header": [
                        "change",
                        "instance type",
                        "region",
                        "billing",
                        "currency",
                        "old /month",
                        "new /month",
                        "diff /month",
                        "%",
                        f"old {currency}/month",
                        f"new {currency}/month",
                    ],
                    "rows": rows,
                }
            )
        out.append(section)
    # 2. consequences: the current setup first
    current = diff["current"]
    costs = diff["cost_changes"]
    counts = summary["costs"]
    if current["changed"] or costs:
        section = {"title": "Cost consequences", "lines": [], "tables": []}
        if current["changed"]:
            rows = []
            for field in CURRENT_FIELDS:
                old, new = current["old"].get(field), current["new"].get(field)
                if field in METRIC_DIGITS:
                    cells = [fmt_metric(field, old), fmt_metric(field, new)]
                    pct = fmt_pct(current["pct"][field]) if field in COST_METRICS else ""
                else:
                    cells, pct = [_text(old), _text(new)], ""
                if field in current["fields"]:
                    rows.append([field, *cells, pct])
            section["tables"].append(
                {
                    "title": f"Current setup ({_offer(current['new'], with_software=False)}, 1x)",
                    "header": ["", "before", "after", "%"],
                    "rows": rows,
                }
            )
        n_unchanged = counts["unchanged"]
        section["lines"].append(
            f"{len(costs)} strategy row{'s' if len(costs) != 1 else ''} changed, "
            f"{n_unchanged} unchanged (named strategies x named traffic multipliers; "
            f"money in {currency})."
        )
        if costs:
            rows = []
            for c in costs:
                old, new = c["old"] or {}, c["new"] or {}
                rows.append(
                    [
                        c["strategy"],
                        fmt_mult(c["traffic_multiplier"]),
                        _offer(c["old"]),
                        _offer(c["new"]),
                        fmt_metric("instances", old.get("instances")),
                        fmt_metric("instances", new.get("instances")),
                        fmt_money(old.get("monthly_cost")),
                        fmt_money(new.get("monthly_cost")),
                        fmt_pct(c["pct"]["monthly_cost"]),
                        fmt_metric("cost_per_query", old.get("cost_per_query")),
                        fmt_metric("cost_per_query", new.get("cost_per_query")),
                        fmt_metric("cost_per_mtok", old.get("cost_per_mtok")),
                        fmt_metric("cost_per_mtok", new.get("cost_per_mtok")),
                    ]
                )
            section["tables"].append(
                {
                    "title": "By strategy",
                    "header": [
                        "strategy",
                        "traffic",
                        "offer before",
                        "offer after",
                        "instances before",
                        "instances after",
                        "monthly before",
                        "monthly after",
                        "%",
                        "per query before",
                        "per query after",
                        "per 1M tok before",
                        "per 1M tok after",
                    ],
                    "rows": rows,
                }
            )
        out.append(section)
    # 3. recommendation flips and break-even moves
    recs = [r for r in diff["recommendation_changes"] if r["kind"] == "recommendation"]
    moves = [r for r in diff["recommendation_changes"] if r["kind"] == "break_even"]
    rc = summary["recommendations"]
    if recs or moves:
        section = {"title": "Recommendation changes", "lines": [], "tables": []}
        if recs:
            rows = []
            for r in recs:
                old, new = r["old"] or {}, r["new"] or {}
                rows.append(
                    [
                        fmt_mult(r["traffic_multiplier"]),
                        fmt_volume(r["queries_per_day"]),
                        r["change"] + (f" ({', '.join(r['what'])})" if r["what"] else ""),
                        old.get("strategy", "-"),
                        _offer(r["old"]),
                        new.get("strategy", "-"),
                        _offer(r["new"]),
                        fmt_money(old.get("monthly_cost")),
                        fmt_money(new.get("monthly_cost")),
                        fmt_pct(r["pct"]),
                    ]
                )
            section["tables"].append(
                {
                    "title": "Cheapest option per traffic level",
                    "header": [
                        "traffic",
                        "queries/day",
                        "change",
                        "strategy before",
                        "offer before",
                        "strategy after",
                        "offer after",
                        "monthly before",
                        "monthly after",
                        "%",
                    ],
                    "rows": rows,
                }
            )
        if moves:
            rows = []
            for m in moves:
                rows.append(
                    [
                        m["cheaper"],
                        m["than"],
                        m["change"],
                        fmt_volume(m["old"]),
                        fmt_volume(m["new"]),
                        fmt_pct(m["pct"]),
                        _below(m["old"], m["old_cheaper_below"]),
                        _below(m["new"], m["new_cheaper_below"]),
                    ]
                )
            section["tables"].append(
                {
                    "title": f"Break-even volumes (queries/day; moves over "
                    f"{rc['break_even_threshold']:g}%)",
                    "header": [
                        "strategy",
                        "versus",
                        "change",
                        "before",
                        "after",
                        "%",
                        "cheaper before",
                        "cheaper after",
                    ],
                    "rows": rows,
                }
            )
        section["lines"].append(
            f"{rc['flipped']} recommendation{'s' if rc['flipped'] != 1 else ''} flipped, "
            f"{rc['unchanged']} unchanged; {rc['break_even_moved']} break-even "
            f"volume{'s' if rc['break_even_moved'] != 1 else ''} moved, "
            f"{rc['break_even_unchanged']} unchanged."
        )
        out.append(section)
    return out


def _below(volume, cheaper_below) -> str:
    """Where `strategy` is the cheaper one: below or above the volume, or always / never."""
    if cheaper_below is None:
        return "-"
    if volume is None:
        return "always" if cheaper_below else "never"
    return "below" if cheaper_below else "above"


def _md_cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_inline(text: str) -> str:
    return str(text).replace("`", "'")


def render_markdown(diff: dict) -> str:
    """GitHub Markdown: a title, the summary line, then one section per kind of change."""
    summary = diff["summary"]
    if not summary["changed"]:
        return "No changes.\n"
    lines = [
        f"# servecost diff: `{_md_inline(summary['old'])}` -> `{_md_inline(summary['new'])}`",
        "",
        summary["line"],
    ]
    for section in sections(diff):
        lines += ["", f"## {section['title']}", ""]
        lines += section["lines"]
        for table in section["tables"]:
            lines += ["", f"### {_md_cell(table['title'])}", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in table["header"]) + " |")
            lines.append("|" + "|".join("---" for _ in table["header"]) + "|")
            for row in table["rows"]:
                lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    "th{background:#f4f4f4}td.num{text-align:right}"
)


def render_html(diff: dict) -> str:
    """A self-contained page; every value is HTML-escaped."""
    summary = diff["summary"]
    e = html.escape
    title = f"servecost diff: {summary['old']} -> {summary['new']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{HTML_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(summary['line'])}</p>",
    ]
    if summary["changed"]:
        for section in sections(diff):
            parts.append(f"<h2>{e(section['title'])}</h2>")
            parts += [f"<p>{e(line)}</p>" for line in section["lines"]]
            for table in section["tables"]:
                parts.append(f"<h3>{e(table['title'])}</h3>")
                parts.append("<table>")
                parts.append(
                    "<thead><tr>"
                    + "".join(f"<th>{e(h)}</th>" for h in table["header"])
                    + "</tr></thead>"
                )
                parts.append("<tbody>")
                for row in table["rows"]:
                    parts.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>")
                parts.append("</tbody>")
                parts.append("</table>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def render_json(diff: dict) -> str:
    return io.dumps_json(diff)


def render(diff: dict, fmt: str) -> str:
    renderers = {"md": render_markdown, "html": render_html, "json": render_json}
    if fmt not in renderers:
        raise ServecostError(f"unknown format {fmt!r} (md, html or json)")
    return renderers[fmt](diff)
