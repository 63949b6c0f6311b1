"""servecost diff: hand-made result sets in tmp dirs, the library, the CLI door, the rule door."""

from __future__ import annotations

import json
import logging
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from servecost import diff
from servecost.cli import main
from servecost.errors import ServecostError
from servecost.summary import SCHEMA_VERSION, recommendations

REPO = Path(__file__).resolve().parents[1]
FX = 1.1  # report units (USD) per EUR
QPD = 1000.0
TOKENS = 2000
DAYS = 730.0 / 24.0

# provider, instance_type, region, billing, price_month, currency
OFFERS = [
    ("hetzner", "cax21", "fsn1", "on_demand", 5.99, "EUR"),
    ("hetzner", "cax31", "fsn1", "on_demand", 11.99, "EUR"),
    ("aws", "c7g.2xlarge", "us-east-1", "on_demand", 211.70, "USD"),
    ("lambda", "gpu_1x_a10", "us-east-1", "on_demand", 27.00, "USD"),
]
CAX21 = ("hetzner", "cax21", "fsn1", "on_demand")
CAX31 = ("hetzner", "cax31", "fsn1", "on_demand")
C7G = ("aws", "c7g.2xlarge", "us-east-1", "on_demand")
A10 = ("lambda", "gpu_1x_a10", "us-east-1", "on_demand")
# strategy, multiplier, offer, software, instances, feasible
PICKS = [
    ("as_is", 1, CAX21, "baseline", 1, True),
    ("as_is", 10, CAX21, "baseline", 1, False),
    ("optimise", 1, CAX21, "optimised", 1, True),
    ("optimise", 10, CAX21, "optimised", 1, False),
    ("scale_out", 1, CAX21, "baseline", 1, True),
    ("scale_out", 10, CAX21, "baseline", 5, True),
    ("upgrade", 1, CAX31, "baseline", 1, True),
    ("upgrade", 10, CAX31, "baseline", 2, True),
    ("best_cpu", 1, CAX21, "optimised", 1, True),
    ("best_cpu", 10, C7G, "optimised", 1, True),
    ("best_gpu", 1, A10, "optimised", 1, True),
    ("best_gpu", 10, A10, "optimised", 1, True),
]
BREAK_EVEN = [
    ("upgrade", "scale_out", False, 20000.0),
    ("best_gpu", "best_cpu", False, 40000.0),
]


def make_results(
    root: Path,
    *,
    prices: dict | None = None,
    drop: tuple = (),
    add: tuple = (),
    break_even: dict | None = None,
    schema_version: int = SCHEMA_VERSION,
) -> Path:
    """Write catalog/costs/break_even parquet + summary.json consistent with each other."""
    prices = prices or {}
    rows = []
    for provider, instance, region, billing, price, currency in [*OFFERS, *add]:
        key = (provider, instance, region, billing)
        if key in drop:
            continue
        price = prices.get(key, price)
        rows.append(
            {
                "provider": provider,
                "instance_type": instance,
                "region": region,
                "billing": billing,
                "price_hour": price / 730.0,
                "price_month": price,
                "currency": currency,
                "report_price_month": price * (FX if currency == "EUR" else 1.0),
                "source_url": f"https://example.test/{provider}",
                "fetched_at": "2026-12-01",
            }
        )
    catalog = pd.DataFrame(rows)
    report = {
        (r["provider"], r["instance_type"], r["region"], r["billing"]): r["report_price_month"]
        for r in rows
    }
    cost_rows = []
    for strategy, mult, offer, software, instances, feasible in PICKS:
        if offer not in report:
            continue
        monthly = instances * report[offer]
        queries = QPD * mult
        per_query = monthly / (queries * DAYS)
        cost_rows.append(
            {
                "strategy": strategy,
                "provider": offer[0],
                "instance_type": offer[1],
                "region": offer[2],
                "billing": offer[3],
                "software": software,
                "traffic_multiplier": float(mult),
                "named_multiplier": True,
                "queries_per_day": queries,
                "capacity_queries_per_day": 1500.0,
                "instances": instances,
                "monthly_cost": monthly,
                "cost_per_query": per_query,
                "cost_per_mtok": per_query / TOKENS * 1e6,
                "utilisation": queries / (instances * 1500.0),
                "feasible": feasible,
                "reason": "" if feasible else "utilisation > target",
            }
        )
    costs = pd.DataFrame(cost_rows)
    # candidate rows are not compared: give them noise that must not show up in a diff
    candidates = costs.assign(strategy="candidate", monthly_cost=costs["monthly_cost"] * 3)
    costs = pd.concat([candidates, costs], ignore_index=True)
    movers = break_even or {}
    be = pd.DataFrame(
        [
            {
                "strategy_a": a,
                "strategy_b": b,
                "a_cheaper_at_low": low,
                "queries_per_day": movers.get((a, b), q),
            }
            for a, b, low, q in BREAK_EVEN
        ]
    )
    now = costs[(costs["strategy"] == "as_is") & (costs["traffic_multiplier"] == 1.0)].iloc[0]
    summary = {
        "schema_version": schema_version,
        "as_of": "2026-12-01",
        "report_currency": "USD",
        "current": {
            "provider": now["provider"],
            "instance_type": now["instance_type"],
            "region": now["region"],
            "instances": int(now["instances"]),
            "queries_per_day": round(float(now["queries_per_day"]), 2),
            "utilisation": round(float(now["utilisation"]), 4),
            "feasible": bool(now["feasible"]),
            "monthly_cost": round(float(now["monthly_cost"]), 2),
            "cost_per_query": round(float(now["cost_per_query"]), 6),
            "cost_per_mtok": round(float(now["cost_per_mtok"]), 4),
        },
        "recommendations": recommendations(costs),
        "break_even": [
            {
                "cheaper": r.strategy_a,
                "than": r.strategy_b,
                "queries_per_day": r.queries_per_day,
                "cheaper_below": r.a_cheaper_at_low,
            }
            for r in be.itertuples()
        ],
        "payback_months": {},
        "advice": [],
    }
    root.mkdir(parents=True, exist_ok=True)
    catalog.to_parquet(root / "catalog.parquet", index=False)
    costs.to_parquet(root / "costs.parquet", index=False)
    be.to_parquet(root / "break_even.parquet", index=False)
    (root / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return root


@pytest.fixture
def base(tmp_path):
    return make_results(tmp_path / "old")


@pytest.fixture
def price_up(tmp_path):
    """cax31 +10%: upgrade costs rise; at 10x the GPU (27.00) now beats 2 x cax31 (29.02)."""
    return make_results(
        tmp_path / "new",
        prices={CAX31: 13.189},
        break_even={("upgrade", "scale_out"): 22000.0, ("best_gpu", "best_cpu"): 41000.0},
    )


def build(old: Path, new: Path, **kwargs) -> dict:
    return diff.build_diff(
        diff.load_results(old, label="old"), diff.load_results(new, label="new"), **kwargs
    )


# ---------------------------------------------------------------- price up 10%


def test_price_up_names_offer_consequences_and_flip(base, price_up):
    result = build(base, price_up)
    assert result["summary"]["changed"] is True
    [change] = result["price_changes"]
    assert change["provider"] == "hetzner" and change["instance_type"] == "cax31"
    assert (change["change"], change["old"], change["new"]) == ("repriced", 11.99, 13.189)
    assert change["pct"] == pytest.approx(10.0)
    assert diff.fmt_pct(change["pct"]) == "+10.0%"
    assert change["old_report"] == pytest.approx(13.189) and change["new_report"] == 14.5079

    costs = result["cost_changes"]
    assert [(c["strategy"], c["traffic_multiplier"]) for c in costs] == [
        ("upgrade", 1.0),
        ("upgrade", 10.0),
    ]
    at10 = costs[1]
    assert (at10["old"]["monthly_cost"], at10["new"]["monthly_cost"]) == (26.38, 29.02)
    assert at10["old"]["instances"] == at10["new"]["instances"] == 2
    assert at10["fields"] == ["monthly_cost", "cost_per_query", "cost_per_mtok"]
    assert result["summary"]["costs"]["unchanged"] == 10
    assert result["current"]["changed"] is False

    flips = [r for r in result["recommendation_changes"] if r["kind"] == "recommendation"]
    [flip] = flips
    assert flip["traffic_multiplier"] == 10.0 and flip["what"] == ["strategy", "offer"]
    assert (flip["old"]["strategy"], flip["new"]["strategy"]) == ("upgrade", "best_gpu")
    assert flip["new"]["instance_type"] == "gpu_1x_a10"

    moves = [r for r in result["recommendation_changes"] if r["kind"] == "break_even"]
    assert [(m["cheaper"], m["than"], m["old"], m["new"]) for m in moves] == [
        ("upgrade", "scale_out", 20000.0, 22000.0)
    ]  # best_gpu vs best_cpu moved 2.5%, under the 5% threshold
    loose = build(base, price_up, break_even_threshold=1.0)
    assert loose["summary"]["recommendations"]["break_even_moved"] == 2


def test_markdown_line_by_line(base, price_up):
    text = diff.render_markdown(build(base, price_up))
    expected = """\
# servecost diff: `old` -> `new`

1 offer repriced, median +10.0%; 2 strategy rows changed; 1 recommendation flipped; \
1 break-even volume moved.

## Price changes

1 offer repriced, median +10.0%; 3 unchanged.

### hetzner

| change | instance type | region | billing | currency | old /month | new /month | diff /month | % \
| old USD/month | new USD/month |
|---|---|---|---|---|---|---|---|---|---|---|
| repriced | cax31 | fsn1 | on_demand | EUR | 11.9900 | 13.1890 | 1.1990 | +10.0% | 13.1890 \
| 14.5079 |

## Cost consequences

2 strategy rows changed, 10 unchanged (named strategies x named traffic multipliers; money in USD).

### By strategy

| strategy | traffic | offer before | offer after | instances before | instances after \
| monthly before | monthly after | % | per query before | per query after | per 1M tok before \
| per 1M tok after |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| upgrade | 1x | hetzner/cax31/fsn1 (baseline) | hetzner/cax31/fsn1 (baseline) | 1 | 1 | 13.19 \
| 14.51 | +10.0% | 0.0004336 | 0.0004770 | 0.2168 | 0.2385 |
| upgrade | 10x | hetzner/cax31/fsn1 (baseline) | hetzner/cax31/fsn1 (baseline) | 2 | 2 | 26.38 \
| 29.02 | +10.0% | 0.00008672 | 0.00009539 | 0.04336 | 0.04770 |

## Recommendation changes

1 recommendation flipped, 1 unchanged; 1 break-even volume moved, 1 unchanged.

### Cheapest option per traffic level

| traffic | queries/day | change | strategy before | offer before | strategy after | offer after \
| monthly before | monthly after | % |
|---|---|---|---|---|---|---|---|---|---|
| 10x | 10000 | flipped (strategy, offer) | upgrade | hetzner/cax31/fsn1 (baseline) | best_gpu \
| lambda/gpu_1x_a10/us-east-1 (optimised) | 26.38 | 27.00 | +2.4% |

### Break-even volumes (queries/day; moves over 5%)

| strategy | versus | change | before | after | % | cheaper before | cheaper after |
|---|---|---|---|---|---|---|---|
| upgrade | scale_out | moved | 20000 | 22000 | +10.0% | above | above |
"""
    assert text.splitlines() == expected.replace(" \\\n", " ").splitlines()


def test_output_is_deterministic(base, price_up):
    first = build(base, price_up)
    second = build(base, price_up)
    assert diff.render_markdown(first) == diff.render_markdown(second)
    assert diff.render_json(first) == diff.render_json(second)


def test_break_even_appeared_vanished_swapped():
    old = [
        {
            "cheaper": "upgrade",
            "than": "scale_out",
            "queries_per_day": 368.0,
            "cheaper_below": False,
        },
        {
            "cheaper": "best_gpu",
            "than": "best_cpu",
            "queries_per_day": None,
            "cheaper_below": False,
        },
        {
            "cheaper": "optimise",
            "than": "scale_out",
            "queries_per_day": 900.0,
            "cheaper_below": True,
        },
    ]
    new = [
        {"cheaper": "upgrade", "than": "scale_out", "queries_per_day": None, "cheaper_below": True},
        {"cheaper": "best_gpu", "than": "best_cpu", "queries_per_day": 5e4, "cheaper_below": False},
        {
            "cheaper": "optimise",
            "than": "scale_out",
            "queries_per_day": 920.0,
            "cheaper_below": True,
        },
    ]
    changes, counts = diff.diff_break_even(old, new, threshold=5.0)
    assert [(c["cheaper"], c["change"]) for c in changes] == [
        ("upgrade", "vanished"),
        ("best_gpu", "appeared"),
    ]
    assert counts == {"moved": 2, "unchanged": 1}  # optimise moved +2.2%: under the threshold
    assert diff._below(None, True) == "always" and diff._below(None, False) == "never"


def test_break_even_from_parquet_when_summary_lacks_it(base, price_up):
    for root in (base, price_up):
        summary = json.loads((root / "summary.json").read_text())
        del summary["break_even"]
        (root / "summary.json").write_text(json.dumps(summary))
    result = build(base, price_up)
    moves = [r for r in result["recommendation_changes"] if r["kind"] == "break_even"]
    assert [(m["cheaper"], m["old"], m["new"]) for m in moves] == [("upgrade", 20000.0, 22000.0)]


# ---------------------------------------------------------------- removed, added, identical


def test_offer_removed(base, tmp_path):
    new = make_results(tmp_path / "new", drop=(A10,))
    result = build(base, new)
    [change] = result["price_changes"]
    assert (change["provider"], change["instance_type"], change["change"]) == (
        "lambda",
        "gpu_1x_a10",
        "removed",
    )
    assert change["old"] == 27.0 and change["new"] is None and change["pct"] is None
    removed = [c for c in result["cost_changes"] if c["change"] == "removed"]
    assert [(c["strategy"], c["traffic_multiplier"]) for c in removed] == [
        ("best_gpu", 1.0),
        ("best_gpu", 10.0),
    ]
    assert result["summary"]["prices"]["removed"] == 1
    text = diff.render_markdown(result)
    assert "| removed | gpu_1x_a10 | us-east-1 | on_demand | USD | 27.0000 |  |" in text


def test_offer_added(base, tmp_path):
    new = make_results(
        tmp_path / "new", add=(("hetzner", "cax41", "fsn1", "on_demand", 23.99, "EUR"),)
    )
    result = build(base, new)
    assert [
        (c["instance_type"], c["change"], c["old"], c["new"]) for c in result["price_changes"]
    ] == [("cax41", "added", None, 23.99)]
    assert result["cost_changes"] == [] and result["recommendation_changes"] == []
    assert result["summary"]["line"] == "1 added."
    assert "### hetzner" in diff.render_markdown(result)


def test_identical_inputs_say_no_changes(base, tmp_path):
    same = make_results(tmp_path / "same")
    result = build(base, same)
    assert diff.render_markdown(result) == "No changes.\n"
    data = json.loads(diff.render_json(result))
    assert data["summary"]["changed"] is False
    assert data["price_changes"] == data["cost_changes"] == data["recommendation_changes"] == []
    assert data["summary"]["prices"]["unchanged"] == len(OFFERS)
    assert "No changes." in diff.render_html(result)


def test_current_setup_change_comes_first(base, tmp_path):
    new = make_results(tmp_path / "new", prices={CAX21: 6.59})
    result = build(base, new)
    assert result["current"]["changed"] is True
    assert result["current"]["fields"] == ["monthly_cost", "cost_per_query", "cost_per_mtok"]
    assert result["cost_changes"][0]["strategy"] == "as_is" and result["cost_changes"][0]["current"]
    money = result["summary"]["current_monthly_cost"]
    assert (money["old"], money["new"]) == (6.59, 7.25)
    text = diff.render_markdown(result)
    assert text.index("### Current setup (hetzner/cax21/fsn1, 1x)") < text.index("### By strategy")
    assert "| monthly_cost | 6.59 | 7.25 | +10.0% |" in text


def test_json_keys(base, price_up):
    data = json.loads(diff.render_json(build(base, price_up)))
    assert {"price_changes", "cost_changes", "recommendation_changes", "summary"} <= set(data)
    change = data["price_changes"][0]
    for key in ("provider", "instance_type", "region", "billing", "change", "old", "new", "pct"):
        assert key in change


def test_html_escapes_everything(base, tmp_path):
    new = make_results(
        tmp_path / "new", add=(("custom", "<script>alert(1)</script>", "", "monthly", 1.0, "USD"),)
    )
    page = diff.render_html(build(base, new))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = diff.render_markdown(build(base, new))
    assert "| added | <script>alert(1)</script> | - | monthly |" in md


# ---------------------------------------------------------------- bad inputs


def test_not_a_results_set_names_directory_and_files(base, tmp_path):
    empty = tmp_path / "not-results"
    empty.mkdir()
    (empty / "catalog.parquet").write_bytes(b"")
    with pytest.raises(ServecostError) as info:
        diff.load_results(empty)
    message = str(info.value)
    assert str(empty) in message and "costs.parquet" in message and "summary.json" in message
    with pytest.raises(ServecostError, match="no such directory"):
        diff.load_results(tmp_path / "nowhere")


def test_missing_column_names_file_and_column(base, tmp_path):
    bad = make_results(tmp_path / "bad")
    costs = pd.read_parquet(bad / "costs.parquet").drop(columns=["cost_per_mtok"])
    costs.to_parquet(bad / "costs.parquet", index=False)
    with pytest.raises(ServecostError) as info:
        diff.load_results(bad)
    assert str(bad / "costs.parquet") in str(info.value) and "cost_per_mtok" in str(info.value)


def test_schema_version_mismatch(base, tmp_path):
    future = make_results(tmp_path / "future", schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(ServecostError) as info:
        diff.load_results(future)
    message = str(info.value)
    assert str(future / "summary.json") in message
    assert f"schema_version {SCHEMA_VERSION + 1}" in message


def test_cli_error_is_one_line_exit_2(base, tmp_path, capsys):
    assert main(["diff", str(base), str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("servecost diff: ")
    assert str(tmp_path / "missing") in err


# ---------------------------------------------------------------- CLI and gates


def test_cli_formats_and_output_file(base, price_up, tmp_path, capsys):
    assert main(["diff", str(base), str(price_up)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# servecost diff: ") and "+10.0%" in out
    target = tmp_path / "out" / "diff.json"
    assert main(["diff", str(base), str(price_up), "--format", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text())["summary"]["changed"] is True
    assert main(["diff", str(base), str(base), "--format", "md"]) == 0
    assert capsys.readouterr().out == "No changes.\n"


def test_fail_on_change(base, price_up, capsys):
    assert main(["diff", str(base), str(base), "--fail-on-change"]) == 0
    assert main(["diff", str(base), str(price_up), "--fail-on-change"]) == 1
    assert main(["diff", str(base), str(price_up)]) == 0


def test_fail_above(base, price_up, tmp_path, capsys):
    # The 10x recommendation rose 26.38 -> 27.00 (+2.4%); the current setup did not move.
    assert main(["diff", str(base), str(price_up), "--fail-above", "5%"]) == 0
    assert main(["diff", str(base), str(price_up), "--fail-above", "2"]) == 1
    assert "recommendation at 10x" in capsys.readouterr().err
    current_up = make_results(tmp_path / "current-up", prices={CAX21: 6.59})
    assert main(["diff", str(base), str(current_up), "--fail-above", "5%"]) == 1
    assert "current setup monthly cost +10.0%" in capsys.readouterr().err
    assert main(["diff", str(base), str(current_up), "--fail-above", "10.5%"]) == 0
    with pytest.raises(SystemExit) as info:
        main(["diff", str(base), str(current_up), "--fail-above", "lots"])
    assert info.value.code == 2


def test_parse_percent():
    assert diff.parse_percent("5%") == 5.0
    assert diff.parse_percent(" 7.5 % ") == 7.5
    assert diff.parse_percent(3) == 3.0
    with pytest.raises(ValueError):
        diff.parse_percent("five")


# ---------------------------------------------------------------- git:REV


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _init_repo(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "test@example.test")
    _git(root, "config", "user.name", "test")
    _git(root, "config", "commit.gpgsign", "false")


def test_git_unknown_revision_is_clear(tmp_path):
    repo = tmp_path / "repo"
    _init_repo(repo)
    (repo / "README").write_text("x\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "-q", "-m", "init")
    with pytest.raises(ServecostError, match="git:no-such-rev: unknown revision"):
        diff.resolve_results("git:no-such-rev", repo=repo)
    with pytest.raises(ServecostError, match="not inside a git repository"):
        diff.resolve_results("git:HEAD", repo=tmp_path / "elsewhere-" / "..")


@pytest.mark.e2e
def test_git_rev_diff_end_to_end(tmp_path, capsys):
    if not (REPO / "Snakefile").exists():
        pytest.skip("the Snakefile is not there yet")
    repo = tmp_path / "repo"
    _init_repo(repo)
    shutil.copy2(REPO / "Snakefile", repo / "Snakefile")
    shutil.copytree(
        REPO / "workflow",
        repo / "workflow",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    shutil.copytree(REPO / "config", repo / "config")
    (repo / ".gitignore").write_text("results/\n.snakemake/\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "baseline")
    prices = repo / "config" / "prices" / "hetzner.csv"
    frame = pd.read_csv(prices, dtype=str, keep_default_na=False)
    row = frame.index[(frame["instance_type"] == "cax21") & (frame["region"] == "fsn1")]
    row = row[frame.loc[row, "billing"] == "on_demand"][0]
    old_price = float(frame.loc[row, "price_month"])
    new_price = round(old_price * 1.10, 2)
    frame.loc[row, "price_month"] = f"{new_price:.2f}"
    frame.to_csv(prices, index=False, lineterminator="\n")
    _git(repo, "commit", "-q", "-am", "cax21 +10%")

    status = main(
        ["diff", "git:HEAD~1", "git:HEAD", "--repo", str(repo), "--format", "json", "--cores", "2"]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    data = json.loads(captured.out)
    repriced = [c for c in data["price_changes"] if c["change"] == "repriced"]
    assert [(c["provider"], c["instance_type"], c["region"]) for c in repriced] == [
        ("hetzner", "cax21", "fsn1")
    ]
    assert (repriced[0]["old"], repriced[0]["new"]) == (old_price, new_price)
    assert data["current"]["changed"] is True
    assert data["cost_changes"][0]["strategy"] == "as_is"
    assert data["summary"]["old"] == "git:HEAD~1"


# ---------------------------------------------------------------- the Snakemake door


def _rule_workdir(tmp_path: Path, baseline: str | None) -> Path:
    work = tmp_path / "work"
    make_results(work / "results", prices={CAX31: 13.189})
    value = "None" if baseline is None else repr(baseline)
    (work / "Snakefile").write_text(
        f'config.setdefault("diff_baseline", {value})\n'
        f'include: "{REPO / "workflow" / "rules" / "diff.smk"}"\n'
    )
    return work


def _snakemake(work: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "diff", "--cores", "1", "--quiet", "rules"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )


def test_rule_diff_writes_md_and_html(base, tmp_path):
    work = _rule_workdir(tmp_path, str(base))
    run = _snakemake(work)
    assert run.returncode == 0, run.stderr[-2000:]
    md = (work / "results" / "diff.md").read_text()
    assert md.splitlines()[0] == f"# servecost diff: `{base}` -> `results`"
    assert "| repriced | cax31 |" in md
    assert "<td>cax31</td>" in (work / "results" / "diff.html").read_text()
    assert (work / "results" / "benchmarks" / "diff.tsv").exists()


def test_rule_diff_without_baseline_fails_clearly(tmp_path):
    """The script door, run in-process with the object Snakemake would inject."""
    from types import SimpleNamespace

    results = make_results(tmp_path / "results")
    fake = SimpleNamespace(
        params=SimpleNamespace(baseline=None, repo=str(REPO), break_even_threshold=5.0),
        input=SimpleNamespace(summary=str(results / "summary.json")),
        output=SimpleNamespace(md=str(results / "diff.md"), html=str(results / "diff.html")),
        log=[str(results / "logs" / "diff.log")],
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with pytest.raises(ServecostError, match="diff_baseline is null"):
            runpy.run_path(str(REPO / "workflow" / "scripts" / "diff.py"), {"snakemake": fake})
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level = saved[0], saved[1]
    assert "diff_baseline is null" in (results / "logs" / "diff.log").read_text()
    assert not (results / "diff.md").exists()
