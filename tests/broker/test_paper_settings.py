"""The paper venue's settings from the environment, set wrong by a user: exit 2 naming the
variable and the fix before any order is recorded, never a traceback or orders left unknown."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.execute.plan3 import write_plan


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("POISE_PAPER_SLIPPAGE_BPS", "nan", "is not a number"),
        ("POISE_PAPER_SLIPPAGE_BPS", "1e300", "out of range"),
        ("POISE_PAPER_MARKET", "maybe", "must be open or closed"),
        ("POISE_PAPER_URL", "bogus://x", "cannot open the paper venue's database"),
        ("POISE_PAPER_URL", "sqlite:///{tmp}/no/such/folder/paper.db", "unable to open"),
        (
            "POISE_PAPER_URL",
            "postgresql+psycopg://poise:secret@127.0.0.1:1/paper",
            "cannot open the paper venue's database postgresql+psycopg://poise:***@",
        ),
    ],
)
def test_a_bad_paper_setting_exits_2_and_records_nothing(
    name, value, words, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("POISE_HOME", str(tmp_path))
    monkeypatch.delenv("POISE_DATABASE_URL", raising=False)
    for other in ("POISE_FAILPOINT", "POISE_PAPER_FAULT", "POISE_PAPER_SLICES"):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value.format(tmp=tmp_path))
    plan = write_plan(tmp_path)
    out = run_cli(["orders", "submit", plan, "--broker", "paper"])
    assert out.code == 2, out.stderr
    assert f"{name}: " in out.stderr
    assert words in out.stderr
    assert "Traceback" not in out.stderr
    assert "secret" not in out.stderr
    monkeypatch.delenv(name)
    listed = run_cli(["orders", "list", "--json"])
    assert listed.code == 0
    assert '"client_order_id"' not in listed.stdout  # nothing was recorded
