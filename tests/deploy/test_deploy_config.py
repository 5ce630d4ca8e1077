"""Deploy config: TOML with paths relative to the file, URLs from the environment, typed fields named
in errors; secrets only from the environment and redacted from any text."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon.deploy import BadInputError, Secrets, load_config
from mlmon.exceptions import MlmonError

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads_with_paths_beside_it() -> None:
    cfg = load_config(ROOT / "deploy" / "deploy.toml", environ={})
    assert cfg.model.name == "breast-cancer"
    assert cfg.model.artifact == str(ROOT / "deploy" / "artifacts" / "model.skops")
    assert cfg.data.validation == str(ROOT / "deploy" / "artifacts" / "validation.parquet")
    assert cfg.gates.minimum["roc_auc"] == 0.9 and cfg.gates.tolerance == {"roc_auc": 0.01}
    assert cfg.services.serving_url == "http://127.0.0.1:8080"


def test_version_override_and_urls_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[model]\nname="m"\nartifact="a.skops"\nversion="1"\n[data]\ntraining="t.csv"\n'
                    'validation="v.csv"\ntarget="y"\n')  # fmt: skip
    env = {"MLMON_DRIFT_URL": "http://127.0.0.1:9", "MLMON_SERVING_URL": "http://127.0.0.1:10"}
    cfg = load_config(path, version="2", environ=env)
    assert cfg.model.version == "2"
    assert cfg.model.artifact == str(tmp_path / "a.skops")
    assert (cfg.services.drift_url, cfg.services.serving_url) == ("http://127.0.0.1:9", "http://127.0.0.1:10")
    assert load_config(path, environ={}).model.version == "1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model]\nname='m'\n", r"invalid deploy config .*artifact"),
        ("[model\n", "cannot read deploy config"),
        (
            "[model]\nname='m'\nartifact='a'\nbogus=1\n[data]\ntraining='t'\nvalidation='v'\ntarget='y'\n",
            "bogus",
        ),
        (
            "[model]\nname='m'\nartifact='a'\n[data]\ntraining='t'\nvalidation='v'\ntarget='y'\n"
            "[gates]\nminimum={accuracy='high'}\n",
            r"gates\.minimum",
        ),
    ],
)
def test_bad_config_is_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.toml"
    path.write_text(text)
    with pytest.raises(BadInputError, match=message) as info:
        load_config(path, environ={})
    assert info.value.exit_code == 4 and isinstance(info.value, MlmonError)


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such deploy config"):
        load_config(tmp_path / "nope.toml")


def test_secrets_from_environment_and_redaction() -> None:
    env = {
        "MLMON_DATABASE_URL": "postgresql://mlmon:pg-pass-123@db:5432/mlmon",
        "MLMON_ADMIN_TOKEN": "admin-token-1",
        "MLMON_SERVING_ADMIN_TOKEN": "serving-token-2",
        "MLMON_SLACK_WEBHOOK_URL": "https://hooks.example/T000/secret",
    }
    s = Secrets.from_env(env)
    assert s.webhook_url == "https://hooks.example/T000/secret"
    assert Secrets.from_env({**env, "MLMON_DEPLOY_WEBHOOK_URL": "https://deploy.example/x"}).webhook_url == (
        "https://deploy.example/x"
    )
    text = (
        "connect postgresql://mlmon:pg-pass-123@db:5432/mlmon failed: password pg-pass-123 refused; "
        "Bearer admin-token-1 / serving-token-2 to https://hooks.example/T000/secret"
    )
    clean = s.redact(text)
    for secret in ("pg-pass-123", "admin-token-1", "serving-token-2", "T000/secret"):
        assert secret not in clean
    assert clean.count("***") == 5
    assert Secrets().redact(text) == text


def test_the_artifact_hmac_key_is_a_redacted_secret() -> None:
    key = "hmac-key-" + "k" * 32
    s = Secrets.from_env({"MLMON_SERVING_ARTIFACT_HMAC_KEY": key})
    assert s.artifact_hmac_key == key
    assert s.redact(f"signing with {key}") == "signing with ***"
