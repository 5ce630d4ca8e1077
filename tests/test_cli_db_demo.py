"""`mlmon db upgrade|current` and `mlmon demo` through the real console entry point."""

from pathlib import Path

import pytest

from mlmon.cli import main


def test_db_upgrade_then_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "upgraded from 0 to" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", url]) == 0
    assert "up to date" in capsys.readouterr().out


def test_db_errors_are_one_line_and_hide_passwords(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current", "--database-url", "mysql://x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlmon: error:") and err.count("\n") == 1


def test_demo_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--in-process", "--out", str(tmp_path), "--rows", "5000"]) == 0
    assert (tmp_path / "drift.html").exists()
    assert "severity critical" in capsys.readouterr().out


def test_serve_refuses_a_public_address_without_auth(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("litestar")
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "token" in capsys.readouterr().err.lower()
