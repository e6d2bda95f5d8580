"""``poise orders submit`` limits that would let buys spend cash an account does not have (a
negative reserve or price buffer, a NaN minimum) are refused with exit 2 before anything is
recorded or sent."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.execute.plan3 import write_plan


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--cash-reserve", "-5", "--cash-reserve: must be zero or more"),
        ("--cash-reserve", "1e300", "out of range"),
        ("--min-notional", "nan", "is not a number"),
        ("--min-notional", "-1", "--min-notional: must be zero or more"),
        ("--max-order-value", "0", "--max-order-value: must be a positive amount"),
        ("--price-buffer-bps", "-50", "--price-buffer-bps: must be between 0 and 10,000"),
        ("--max-price-age", "-1", "--max-price-age"),
    ],
)
def test_a_bad_limit_exits_2_and_sends_nothing(flag, value, words, tmp_path, monkeypatch):
    monkeypatch.setenv("POISE_HOME", str(tmp_path))
    monkeypatch.delenv("POISE_DATABASE_URL", raising=False)
    for name in ("POISE_FAILPOINT", "POISE_PAPER_FAULT", "POISE_PAPER_SLICES"):
        monkeypatch.delenv(name, raising=False)
    plan = write_plan(tmp_path)
    out = run_cli(["orders", "submit", plan, "--broker", "paper", flag, value])
    assert out.code == 2, out.stderr
    assert words in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "paper.db").exists()  # the venue was never opened
