"""The documentation stays true: the docstring examples of the main entry points run, every ```python block
of the README runs, and every command of the README (its bash blocks and the commands written inline in
its prose) is either run here as written (in a temporary directory, on loopback: only a free port is
swapped in for 8000 and 127.0.0.1 for 0.0.0.0) or listed in ``NOT_RUN_HERE`` with the reason."""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import numpy as np
import pandas as pd
import pytest

import system_tools
from mlmon.core import baseline, functional, monitor

# The service tests' helpers live beside them (as tests/client/conftest.py does).
sys.path.insert(0, str(Path(__file__).resolve().parent / "service"))
from service_helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

# Commands that do not run inside the test suite, by prefix, with the reason.
NOT_RUN_HERE = {
    "make demo": "builds the extension (tests never build); the `mlmon demo` it runs is run below",
    "make test": "is this suite; CI runs it through .ci/run",
    "make test-slow": "the slow tier of this suite (tens of minutes); the scheduled workflow runs it",
    "make build": "builds the extension with maturin (tests never build)",
    "make lint": "builds first; its linters run in tests/test_workflows.py and tests/ship as tests too",
    "make format": "rewrites the sources",
    "make bench": "minutes of benchmarks; bench.yml runs it on demand",
    "mlmon bench": "what make bench runs; tests/test_bench_suite.py runs it end to end in its tiny mode",
    "make bench-rust": "criterion benches, minutes of cargo build and timing",
    "pip install": "installs from PyPI; this environment already has every extra",
    "maturin develop": "builds the extension (tests never build)",
    "cargo test": "cargo builds; CI's test-rust job and `make test` run it",
    ".venv/bin/python benches/": "benchmark comparisons, minutes of CPU; bench.yml runs the suite",
    "mlmon deploy --dry-run": "names the Deploy from CI block's dry run, which runs below with its --config",
    "docker build": "no Docker engine runs on these machines; ci.yml's container job builds and runs it",
    "kubectl": "needs a cluster; tests/ship renders and validates the same manifests offline",
}
# Commands run by the tests below, by (section, prefix); a new README command must be added here (and run)
# or to NOT_RUN_HERE.
RUN_HERE = {
    ("Command line", "mlmon baseline fit"),
    ("Command line", "mlmon drift"),
    ("Command line", "mlmon db upgrade"),
    ("Command line", "mlmon serve"),
    ("Command line", "mlmon demo"),
    ("Service quickstart", "MLMON_ADMIN_TOKEN="),
    ("Service quickstart", "curl"),
    ("Deploy from CI", "python deploy/train.py"),
    ("Deploy from CI", "mlmon deploy"),
}
# Inline commands (in the prose) run by the tests below, by (section, prefix).
RUN_INLINE = {("Batch drift over history", "mlmon drift churn.mlmon")}
# Sections whose ```python blocks run below (every other python block fails the coverage test).
PYTHON_RUN_HERE = {"In-process quickstart", "Service quickstart", "Batch drift over history"}
SECTIONS = [
    "The two commands",
    "In-process quickstart",
    "Service quickstart",
    "Deploy from CI",
    "Kubernetes",
    "Configuration reference",
    "Engine performance",
    "Layout",
]


@pytest.mark.parametrize("module", [baseline, monitor, functional], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", README.read_text(), flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.M | re.S)


def split_commands(block: str) -> list[str]:
    """A shell block's commands: backslash continuations and quotes spanning lines kept together,
    comment-only lines dropped."""
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if shlex.split(pending, comments=True):
            commands.append(pending)
        pending = ""
    assert not pending, f"unterminated command in README: {pending!r}"
    return commands


def readme_commands(section: str | None = None) -> list[str]:
    """Every command of the README's bash blocks (of one section, if given)."""
    texts = [_sections()[section]] if section else [README.read_text()]
    return [cmd for text in texts for block in _blocks(text, "bash") for cmd in split_commands(block)]


_PROGRAMS = {
    "mlmon",
    "make",
    "pip",
    "cargo",
    "maturin",
    "kubectl",
    "docker",
    "curl",
    "python",
    ".venv/bin/python",
}


def inline_commands(section: str | None = None) -> list[str]:
    """Commands written inline in the prose (`mlmon drift a b`), outside fenced blocks: a known program
    with arguments; ``mlmon <subcommand>`` alone names a command rather than running one."""
    text = _sections()[section] if section else README.read_text()
    found = []
    for span in re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)):
        try:
            words = shlex.split(span)
        except ValueError:
            continue
        if (
            words
            and words[0] in _PROGRAMS
            and len(words) >= 2
            and not (words[0] == "mlmon" and len(words) == 2)
        ):
            found.append(span)
    return found


def _excused(command: str) -> bool:
    # By whole words (`make bench` does not excuse `make bench-rust`), or a path prefix ending in "/".
    words = shlex.split(command, comments=True)
    return any(
        words[: len(shlex.split(p))] == shlex.split(p) or (p.endswith("/") and command.startswith(p))
        for p in NOT_RUN_HERE
    )


def test_sections_in_order() -> None:
    headings = list(_sections())
    positions = [headings.index(s) for s in SECTIONS]
    assert positions == sorted(positions), headings


def test_configuration_reference_lists_every_setting() -> None:
    from mlmon.service.settings import Settings

    reference = _sections()["Configuration reference"]
    documented = set(re.findall(r"^\| `((?:MLMON|PROMETHEUS)_[A-Z_]+)`", reference, flags=re.M))
    expected = {f"MLMON_{f.upper()}" for f in Settings.__struct_fields__} | {"PROMETHEUS_MULTIPROC_DIR"}
    assert documented == expected, f"missing {expected - documented}, unknown {documented - expected}"


def test_configuration_reference_defaults_are_the_services() -> None:
    from mlmon.service.settings import Settings

    reference = _sections()["Configuration reference"]
    rows = re.findall(r"^\| `MLMON_([A-Z_]+)` \| ([^|]+) \|", reference, flags=re.M)
    defaults = Settings()
    for name, default in rows:
        field = name.lower()
        if default.strip() == "unset":
            assert not getattr(defaults, field), f"MLMON_{name} has a default: {getattr(defaults, field)!r}"
        else:
            value = default.strip().strip("`")
            parsed = getattr(Settings.from_env({f"MLMON_{name}": value}), field)
            assert parsed == getattr(defaults, field), f"MLMON_{name}: README says {value}"


def test_split_commands() -> None:
    block = "a --x \\\n  --y\n# note\nb 'one\ntwo'\nc  # trailing\n"
    assert split_commands(block) == ["a --x \\\n  --y", "b 'one\ntwo'", "c  # trailing"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data the README's commands read: train.parquet and a drifted current.parquet."""
    path = tmp_path_factory.mktemp("readme")
    for name, shift, n in (("train", 0.0, 5000), ("current", 15.0, 3000)):
        _frame(n, shift, seed=len(name)).to_parquet(path / f"{name}.parquet")
    return path


def _frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 9, n),
            "tenure": rng.exponential(12, n),
            "plan": rng.choice(["free", "pro", "team"], n),
            "country": rng.choice(["de", "fr", "us"], n),
        }
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def _run(command: str, cwd: Path, ok: tuple[int, ...] = (0,), **env: str) -> str:
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=180
    )
    assert done.returncode in ok, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def _commands(section: str, prefix: str) -> list[str]:
    assert (section, prefix) in RUN_HERE
    found = [c for c in readme_commands(section) if c.startswith(prefix)]
    assert found, f"{section}: no command starts with {prefix!r}"
    return found


def _command(section: str, prefix: str) -> str:
    (found,) = _commands(section, prefix)
    return found


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"the README's server did not become ready: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "mlmon serve exits 0 after SIGTERM"


def test_in_process_quickstart(workdir: Path) -> None:
    (code,) = _blocks(_sections()["In-process quickstart"], "python")
    prelude = (
        f"import pandas as pd\ntrain_df = pd.read_parquet({str(workdir / 'train.parquet')!r})\n"
        f"batch_df = pd.read_parquet({str(workdir / 'current.parquet')!r})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "critical"  # the age column moved by 15 years
    assert (workdir / "drift.html").stat().st_size > 1000 and (workdir / "churn-3.mlmon").exists()


def test_command_line(workdir: Path) -> None:
    section = "Command line"
    _run(_command(section, "mlmon baseline fit"), workdir)
    assert (workdir / "churn.mlmon").exists()
    _run(_command(section, "mlmon drift"), workdir, ok=(1,))  # critical drift: exit 1 gates a pipeline
    assert (workdir / "report.html").exists() and (workdir / "report.json").exists()
    _run(_command(section, "mlmon db upgrade"), workdir)
    assert (workdir / "mlmon.db").exists()


# Slow tier (20 s); make test runs the same demo through e2e/test_demo_loop.
@pytest.mark.slow
def test_command_line_demo(tmp_path: Path) -> None:
    _run(_command("Command line", "mlmon demo"), tmp_path)


def test_command_line_serve(tmp_path: Path) -> None:
    # `mlmon serve` as written; MLMON_PORT (which it reads) moves it off 8000, which may be taken here.
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            ["bash", "-c", _command("Command line", "mlmon serve")],
            cwd=tmp_path,
            env=_env(MLMON_PORT=str(port)),
            stdout=sink,
            stderr=sink,
        )
    try:
        _wait_ready(port, proc, log)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        _stop(proc)


@pytest.fixture
def served(workdir: Path) -> Iterator[int]:
    """The Service quickstart's server command, on loopback and a free port instead of 0.0.0.0:8000."""
    serve = _command("Service quickstart", "MLMON_ADMIN_TOKEN=")
    port = free_port()
    local = serve.replace("--host 0.0.0.0", "--host 127.0.0.1").replace("--port 8000", f"--port {port}")
    assert local != serve
    log = workdir / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(["bash", "-c", local], cwd=workdir, env=_env(), stdout=sink, stderr=sink)
    try:
        _wait_ready(port, proc, log)
        yield port
    finally:
        _stop(proc)


def test_service_quickstart(workdir: Path, served: int) -> None:
    system_tools.require("curl")
    if not (workdir / "churn.mlmon").exists():
        _run(_command("Command line", "mlmon baseline fit"), workdir)
    put, ingest, drift, metrics = (
        c.replace(":8000/", f":{served}/") for c in _commands("Service quickstart", "curl")
    )
    _run(put, workdir)
    assert '"accepted"' in _run(ingest, workdir)
    report = _run(drift, workdir)
    assert '"age"' in report and '"tenure"' in report
    assert "mlmon_rows_ingested_total" in _run(metrics, workdir)
    # The drift client block, against the same server: its three rows are counted.
    before = httpx.get(f"http://127.0.0.1:{served}/v1/models/churn/drift", headers=_CHURN).json()
    (code,) = _blocks(_sections()["Service quickstart"], "python")
    out = _run_python(code.replace(":8000", f":{served}"), workdir)
    assert "sent 3 rows, dropped 0" in out
    after = httpx.get(f"http://127.0.0.1:{served}/v1/models/churn/drift", headers=_CHURN).json()
    assert after["current_rows"] == before["current_rows"] + 3


_CHURN = {"Authorization": "Bearer churn-secret"}


def _run_python(code: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_deploy_dry_run(tmp_path: Path) -> None:
    # A copy of deploy/, so the artifacts are written outside the checkout.
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns("artifacts"))
    _run(_command("Deploy from CI", "python deploy/train.py"), tmp_path)
    assert (tmp_path / "deploy" / "artifacts" / "model.skops").exists()
    out = _run(_command("Deploy from CI", "mlmon deploy"), tmp_path)
    assert '"status":"dry-run"' in out and '"exit_code":0' in out


def test_batch_history_block(workdir: Path, tmp_path: Path) -> None:
    (code,) = _blocks(_sections()["Batch drift over history"], "python")
    # What the block reads: a baseline, days of features with a timestamp, and a training directory.
    shutil.copy(workdir / "train.parquet", tmp_path)
    _run(_command("Command line", "mlmon baseline fit"), tmp_path)
    for folder, name, shift, start in (
        ("data", "a", 0.0, "2026-02-01"),
        ("data", "b", 15.0, "2026-02-03"),
        ("train", "part-0", 0.0, "2026-01-01"),
    ):
        frame = _frame(2000, shift, seed=len(name)).assign(ts=pd.Timestamp(start, tz="UTC"))
        (tmp_path / folder).mkdir(exist_ok=True)
        frame.to_parquet(tmp_path / folder / f"{name}.parquet")
    check = "\nassert len(table) and big.model == 'churn'\nprint(sorted(set(table['overall_severity'])))\n"
    assert "critical" in _run_python(code + check, tmp_path)  # the shifted day
    assert (tmp_path / "history.html").stat().st_size > 1000
    # The section's shell form of the same job, written inline in its prose.
    (shell,) = [
        c for c in inline_commands("Batch drift over history") if c.startswith("mlmon drift churn.mlmon")
    ]
    (tmp_path / "history.html").unlink()
    _run(shell, tmp_path, ok=(1,))  # the shifted day is critical: exit 1
    assert (tmp_path / "history.html").stat().st_size > 1000


def test_every_python_block_runs() -> None:
    sections = {name for name, text in _sections().items() if _blocks(text, "python")}
    assert sections == PYTHON_RUN_HERE, (
        f"python blocks not run by tests/test_docs.py: {sections - PYTHON_RUN_HERE}"
    )


def test_every_command_is_run_or_excused() -> None:
    ran = {c for section, prefix in RUN_HERE for c in readme_commands(section) if c.startswith(prefix)}
    ran |= {c for section, prefix in RUN_INLINE for c in inline_commands(section) if c.startswith(prefix)}
    missing = [c for c in readme_commands() + inline_commands() if c not in ran and not _excused(c)]
    assert not missing, f"README commands neither run by tests/test_docs.py nor excused: {missing}"
