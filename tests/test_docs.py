"""The docstring examples of the main entry points run and stay true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from mlmon import baseline, functional, monitor


@pytest.mark.parametrize("module", [baseline, monitor, functional], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
