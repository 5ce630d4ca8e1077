"""Registry and baselines, the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest

from mlmon.exceptions import InputError
from mlmon.store import ConflictError, NotFoundError, Store

SHA_A = "a" * 64
SHA_B = "b" * 64


def test_models_are_unique_by_name(store: Store) -> None:
    first = store.create_model("churn", "predicts churn")
    again = store.create_model("churn", "ignored")
    assert again == first
    store.create_model("alpha")
    assert [m.name for m in store.list_models()] == ["alpha", "churn"]
    with pytest.raises(NotFoundError, match="'nope'"):
        store.get_model("nope")


def test_register_version_round_trips_everything(store: Store) -> None:
    v = store.register_version(
        "churn",
        "v1",
        metrics={"auc": 0.91, "n": 3},
        params={"depth": 4, "nested": {"a": [1, 2]}},
        feature_schema={"age": {"kind": "numerical"}},
        feature_importances={"age": 0.7, "plan": 0.3},
        artifact_uri="s3://bucket/model.skops",
        artifact_sha256=SHA_A,
        git_sha="0123abcd",
    )
    assert v.stage == "none" and v.deployed_at is None
    assert store.get_version("churn", "v1") == v
    assert v.params == {"depth": 4, "nested": {"a": [1, 2]}}
    assert v.feature_importances == {"age": 0.7, "plan": 0.3}
    assert v.created_at.tzinfo is not None


def test_register_version_is_idempotent_for_the_same_artifact(store: Store) -> None:
    first = store.register_version("m", "v1", artifact_sha256=SHA_A, metrics={"auc": 0.9})
    assert store.register_version("m", "v1", artifact_sha256=SHA_A, metrics={"auc": 0.1}) == first
    with pytest.raises(ConflictError, match="artifact sha256"):
        store.register_version("m", "v1", artifact_sha256=SHA_B)


def test_unknown_model_and_version(store: Store) -> None:
    with pytest.raises(NotFoundError, match="model 'ghost'"):
        store.get_version("ghost", "v1")
    store.register_version("m", "v1")
    with pytest.raises(NotFoundError, match="no version 'v9'"):
        store.get_version("m", "v9")
    with pytest.raises(NotFoundError):
        store.promote("m", "v9")
    assert store.production_version("m") is None


def test_promote_archives_the_previous_production(store: Store) -> None:
    for version in ("v1", "v2", "v3"):
        store.register_version("m", version)
    store.set_stage("m", "v3", "staging")
    assert store.promote("m", "v1").deployed_at is not None
    promoted = store.promote("m", "v2")
    assert promoted.stage == "production"
    assert [v.stage for v in store.list_versions("m")] == ["archived", "production", "staging"]
    assert store.production_version("m") == promoted
    # Promoting the production version again changes nothing, deployed_at included.
    assert store.promote("m", "v2") == promoted


def test_one_production_version_is_a_database_constraint(store: Store) -> None:
    store.register_version("m", "v1")
    store.register_version("m", "v2")
    store.promote("m", "v1")
    raw = "UPDATE model_versions SET stage = 'production' WHERE version = 'v2'"
    with pytest.raises(ConflictError):
        store._run(lambda tx: tx.execute(raw), write=True)  # type: ignore[attr-defined]
    assert [v.stage for v in store.list_versions("m")] == ["production", "none"]


def test_other_models_keep_their_production_version(store: Store) -> None:
    store.register_version("a", "v1")
    store.register_version("b", "v1")
    store.promote("a", "v1")
    store.promote("b", "v1")
    assert store.get_version("a", "v1").stage == "production"


def test_bad_stage_is_refused(store: Store) -> None:
    store.register_version("m", "v1")
    with pytest.raises(InputError, match="stage"):
        store.set_stage("m", "v1", "live")  # type: ignore[arg-type]


def test_baselines_are_content_addressed(store: Store) -> None:
    store.register_version("m", "v1")
    store.register_version("m", "v2")
    old, new = b"baseline one", b"baseline two"
    sha_old = store.put_baseline("m", "v1", old)
    assert sha_old == hashlib.sha256(old).hexdigest()
    sha_new = store.put_baseline("m", "v1", new)
    assert store.get_baseline("m", "v1") == (sha_new, new)
    assert store.get_baseline("m", "v1", sha_old) == (sha_old, old)
    assert store.put_baseline("m", "v1", old) == sha_old  # idempotent, and now the latest again
    assert store.get_baseline("m", "v1") == (sha_old, old)
    assert store.put_baseline("m", "v2", old) == sha_old  # shared bytes, stored once
    assert store.get_baseline_by_sha(sha_new) == new
    with pytest.raises(NotFoundError):
        store.get_baseline("m", "v2", sha_new)
    with pytest.raises(NotFoundError, match="no baseline"):
        store.get_baseline_by_sha("0" * 64)
    with pytest.raises(InputError):
        store.put_baseline("m", "v1", b"")


def test_json_fields_must_be_serializable(store: Store) -> None:
    with pytest.raises(InputError, match="metrics"):
        store.register_version("m", "v1", metrics={"auc": object()})
