"""Several machines on one: two `newsbot serve` replicas, two clones, one PostgreSQL, one
remote (the scenario and its checks are in several_machines.py, also a script)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.flows import several_machines
from tests.bot.flows.git_site import git_environment


@pytest.mark.postgres
def test_two_replicas_on_two_clones_behave_as_one_desk(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in git_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    checks = several_machines.run(tmp_path, postgres_url)  # raises on the first failed check
    assert checks[-1] == "no token in any replica's log"
