"""Every GitHub workflow is validated offline: check-jsonschema's vendored workflow schema, yamllint with
the repo's .yamllint, and the hygiene rules (pinned actions, least-privilege permissions, no
pull_request_target, deploys bound to environments, secrets only through ``env:``). The rules are also run
on small broken workflows, so a rule that stopped matching would fail here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared_helpers import assert_yamllint_clean

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))

_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"@[0-9a-f]{40}\s+#\s*v\d+\.\d+\.\d+\b")
_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# Contexts an attacker or a secret store controls: never spliced into a shell line.
_UNSAFE_IN_RUN = re.compile(r"\b(secrets\.|github\.event\.|github\.head_ref|inputs\.)")
_WRITE = "write"


def _on(doc: dict[Any, Any]) -> Any:
    # PyYAML reads an unquoted `on:` key as the boolean True (YAML 1.1).
    return doc.get("on", doc.get(True))


def _jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(doc.get("jobs") or {})


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def _perms_write(perms: Any) -> set[str]:
    if perms == "write-all":
        return {"*"}
    if isinstance(perms, dict):
        return {k for k, v in perms.items() if v == _WRITE}
    return set()


def hygiene_problems(text: str) -> list[str]:
    """The rule violations of one workflow's text (empty: clean)."""
    doc = yaml.safe_load(text)
    problems: list[str] = []
    triggers = _on(doc)
    names = set(triggers) if isinstance(triggers, (dict, list)) else {triggers}
    if "pull_request_target" in names:
        problems.append("pull_request_target runs untrusted code with secrets")
    if "permissions" not in doc:
        problems.append("no top-level permissions:")
    elif _perms_write(doc["permissions"]):
        problems.append("top-level permissions grant write; widen per job instead")
    for line in text.splitlines():
        uses = re.match(r"^\s*-?\s*uses:\s*(\S+)", line)
        if not uses or uses.group(1).startswith("./"):
            continue
        ref = uses.group(1)
        if not _PINNED.match(ref):
            problems.append(f"{ref}: not pinned to a 40-hex commit")
        elif not _VERSION_COMMENT.search(line):
            problems.append(f"{ref}: pin lacks a '# vX.Y.Z' comment")
    for name, job in _jobs(doc).items():
        problems += _job_problems(name, job)
    return problems


def _job_problems(name: str, job: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    widened = _perms_write(job.get("permissions"))
    runs = [str(step.get("run", "")) for step in _steps(job)]
    # A job deploys when it runs `mlmon deploy` without --dry-run (a dry run registers and pushes nothing).
    deploys = any(
        re.search(r"\bmlmon deploy\b(?!.*--dry-run)", line) for run in runs for line in run.splitlines()
    )
    if deploys and not job.get("environment"):
        problems.append(f"job {name}: runs mlmon deploy without an environment:")
    if "id-token" in widened and not job.get("environment"):
        problems.append(f"job {name}: id-token: write outside an environment-bound deploy job")
    uses_secrets = "secrets." in yaml.safe_dump(job)
    if uses_secrets and not job.get("environment"):
        problems.append(f"job {name}: reads secrets without an environment: (secrets live in environments)")
    for run in runs:
        for expr in _EXPR.findall(run):
            if _UNSAFE_IN_RUN.search(expr):
                problems.append(f"job {name}: '{expr.strip()}' spliced into run:; pass it through env:")
    return problems


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml", "bench.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_schema(path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint_clean() -> None:
    assert_yamllint_clean(*WORKFLOWS)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_hygiene(path: Path) -> None:
    assert hygiene_problems(path.read_text()) == []


def _env_name(env: Any) -> str | None:
    return env if isinstance(env, str) or env is None else env.get("name")


def test_deploy_workflow_shape() -> None:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    triggers = _on(doc)
    assert "workflow_dispatch" in triggers and "tags" in triggers["push"]
    jobs = _jobs(doc)
    envs = {name: _env_name(job.get("environment")) for name, job in jobs.items()}
    assert {"staging", "production"} <= set(envs.values())
    production = next(n for n, e in envs.items() if e == "production")
    staging = next(n for n, e in envs.items() if e == "staging")
    needs = jobs[production].get("needs")
    assert staging in ([needs] if isinstance(needs, str) else needs), "production must wait for staging"
    # A failure anywhere is announced.
    assert any("failure()" in str(job.get("if", "")) for job in jobs.values())


_GOOD = """
name: ok
"on": {push: {}}
permissions: {contents: read}
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2
      - run: echo "$TOKEN"
        env:
          TOKEN: ${{ secrets.TOKEN }}
    environment: staging
"""


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2", "@v4", "not pinned"),
        ("  # v4.2.2", "", "comment"),
        ("{push: {}}", "{pull_request_target: {}}", "pull_request_target"),
        ("permissions: {contents: read}\n", "", "no top-level permissions"),
        ("{contents: read}", "{contents: write}", "top-level permissions grant write"),
        ('echo "$TOKEN"', "echo ${{ secrets.TOKEN }}", "spliced into run"),
        ('echo "$TOKEN"', "echo ${{ github.event.issue.title }}", "spliced into run"),
        ('echo "$TOKEN"', "mlmon deploy x", None),
        ("    environment: staging\n", "", "reads secrets without an environment"),
        ("    environment: staging\n", "    permissions: {id-token: write}\n", "id-token"),
    ],
)
def test_hygiene_rules_catch_violations(old: str, new: str, problem: str | None) -> None:
    assert hygiene_problems(_GOOD) == []
    broken = _GOOD.replace(old, new)
    assert broken != _GOOD
    found = hygiene_problems(broken)
    if problem is None:  # a deploy inside an environment is fine
        assert found == []
    else:
        assert any(problem in p for p in found), found


_DEPLOY_JOB = """
name: deploy
"on": {workflow_dispatch: {}}
permissions: {contents: read}
jobs:
  ship:
    runs-on: ubuntu-24.04
    steps:
      - run: mlmon deploy deploy/deploy.toml --version 1
"""


def test_a_deploy_needs_an_environment_a_dry_run_does_not() -> None:
    assert any("runs mlmon deploy without an environment" in p for p in hygiene_problems(_DEPLOY_JOB))
    assert hygiene_problems(_DEPLOY_JOB.replace("--version 1", "--version 1 --dry-run")) == []


def test_deploy_ci_config_takes_service_urls_from_the_environment(tmp_path: Path) -> None:
    # Runs deploy.yml's own config step on a copy of deploy/, then reads the result as mlmon deploy does.
    from mlmon.deploy.config import load_config

    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    (step,) = [s for s in _steps(_jobs(doc)["train"]) if "DEPLOY_CONFIG" in str(s.get("run", ""))]
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns("artifacts"))
    env = {"PATH": os.environ["PATH"], "DEPLOY_CONFIG": doc["env"]["DEPLOY_CONFIG"]}
    subprocess.run(["bash", "-c", step["run"]], cwd=tmp_path, env=env, check=True, timeout=60)
    urls = {"MLMON_DRIFT_URL": "https://drift.staging.example", "MLMON_SERVING_URL": "https://api.example"}
    config = load_config(tmp_path / doc["env"]["DEPLOY_CONFIG"], environ=urls)
    assert (config.services.drift_url, config.services.serving_url) == tuple(urls.values())
    assert config.model.artifact == str(tmp_path / "deploy" / "artifacts" / "model.skops")
    # Without the step the file's local URLs would win: the step is what makes the environments apply.
    assert (
        load_config(ROOT / "deploy" / "deploy.toml", environ=urls).services.drift_url
        != urls["MLMON_DRIFT_URL"]
    )


def test_ci_workflow_shape() -> None:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs = _jobs(doc)
    assert {"lint", "test-rust", "test-python", "container", "wheels", "sdist"} <= set(jobs)
    assert "postgres" in jobs["test-python"]["services"]
    runs = {name: " ".join(str(s.get("run", "")) for s in _steps(job)) for name, job in jobs.items()}
    assert "make lint" in runs["lint"] and "actionlint" in runs["lint"]
    assert "make test-rust" in runs["test-rust"] and "make test-python" in runs["test-python"]
    assert "docker build -f service/Dockerfile" in runs["container"]
    targets = {(m["os"].split("-")[0], m["target"]) for m in jobs["wheels"]["strategy"]["matrix"]["include"]}
    assert {("ubuntu", "x86_64"), ("ubuntu", "aarch64"), ("macos", "aarch64"), ("windows", "x64")} <= targets
    for name in ("wheels", "sdist"):
        assert any(str(s.get("uses", "")).startswith("PyO3/maturin-action@") for s in _steps(jobs[name]))
    # Caches: cargo through actions/cache, pip through setup-python.
    for name in ("lint", "test-rust", "test-python"):
        assert any(str(s.get("uses", "")).startswith("actions/cache@") for s in _steps(jobs[name])), name
    assert all(
        s.get("with", {}).get("cache") == "pip"
        for name in ("lint", "test-python")
        for s in _steps(jobs[name])
        if str(s.get("uses", "")).startswith("actions/setup-python@")
    )


def test_bench_workflow_runs_make_bench_on_demand_and_uploads() -> None:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "bench.yml").read_text())
    assert set(_on(doc)) == {"workflow_dispatch"}
    (job,) = _jobs(doc).values()
    assert any("make bench" in str(s.get("run", "")) for s in _steps(job))
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact@") for s in _steps(job))
