"""GitHub workflows are validated offline against check-jsonschema's built-in workflow schema."""

from pathlib import Path

import pytest

check_jsonschema = pytest.importorskip("check_jsonschema")

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_there_are_workflows() -> None:
    assert WORKFLOWS, "no workflow files found"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_schema(path: Path) -> None:
    from check_jsonschema.cli.main_command import main

    with pytest.raises(SystemExit) as done:
        main(["--builtin-schema", "vendor.github-workflows", str(path)])
    assert done.value.code == 0
