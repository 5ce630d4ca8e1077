"""Hostile names are rejected with an error naming the field; hostile values are stored literally."""

from __future__ import annotations

import pytest
from store_workers import MINUTE, T0

from mlmon.exceptions import InputError
from mlmon.store import Store
from mlmon.store.names import validate_name

HOSTILE = [
    "x'); DROP TABLE models;--",
    "../../etc/passwd",
    'a"}\n',
    "a" * 129,
    "a" * 10_000,
    "zero\u200bwidth",
    "ünïcode",
    "",
    " leading",
    "-rf",
    "..",
    "tab\tname",
    "nul\x00byte",
    "trailing\n",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_model_names_are_rejected(store: Store, name: str) -> None:
    with pytest.raises(InputError, match="model"):
        store.register_version(name, "v1")
    with pytest.raises(InputError, match="version"):
        store.register_version("m", name)
    assert store.list_models() == []


@pytest.mark.parametrize("name", HOSTILE[:3])
def test_hostile_feature_names_are_rejected(store: Store, name: str) -> None:
    with pytest.raises(InputError, match="feature"):
        store.drift_history("m", name, T0, T0 + MINUTE)


def test_valid_names_pass() -> None:
    for name in ["churn", "churn-model_v2.1", "ns:model", "a" * 128, "_private", "0"]:
        assert validate_name(name, "model") == name
    with pytest.raises(InputError, match="model must be a string"):
        validate_name(3, "model")


def test_hostile_values_are_stored_literally(store: Store) -> None:
    payload = "x'); DROP TABLE models;-- ünï\u200b ? %s %(x)s"
    store.create_model("m", description=payload)
    v = store.register_version("m", "v1", params={payload: payload}, git_sha="'; --")
    assert store.get_model("m").description == payload
    assert store.get_version("m", "v1").params == {payload: payload} == v.params
    assert store.get_version("m", "v1").git_sha == "'; --"
    assert [m.name for m in store.list_models()] == ["m"]
