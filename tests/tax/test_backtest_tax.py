"""Annual accounting and harvesting inside the backtest, worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from poise.backtest import TaxLedger, run_backtest
from poise.model import HarvestRules, Side, TaxRules, Trade
from poise.policy import ThresholdPolicy
from tests.conftest import make_household

RATES = TaxRules(short_term_rate=0.35, long_term_rate=0.15)


def sell(short_term: float = 0.0, long_term: float = 0.0, account: str = "brokerage") -> Trade:
    return Trade(account, "X", Side.SELL, 1, 1, 0, "test", short_term, long_term)


def test_ledger_carries_losses_forward_with_character():
    # 2021: ST -10,000 → 3,000 against income, 7,000 ST carried.
    # 2022: ST 0, LT +5,000 with 7,000 ST carried in → net -2,000: 2,000 against income.
    # 2023: LT +4,000 → taxed in full (nothing left to carry): 600.
    ledger = TaxLedger(RATES, ["brokerage"])
    ledger.record(2021, [sell(short_term=-10_000)])
    ledger.record(2022, [sell(long_term=5_000)])
    ledger.record(2023, [sell(long_term=4_000)])
    assert ledger.close_year(2023) == {"brokerage": pytest.approx(600)}
    y21, y22 = ledger.years[2021], ledger.years[2022]
    assert (y21.ordinary_offset, y21.carried_out.short_term_loss) == (3000, 7000)
    assert y21.ordinary_tax_saving == pytest.approx(1050)
    assert ledger.close_year(2022) == {}
    assert y22.ordinary_offset == 2000
    assert y22.carried_out.total == 0


def _days(start: str, end: str) -> pd.DatetimeIndex:
    return pd.bdate_range(start, end, name="date")


def _prices() -> pd.DataFrame:
    # A and its substitute B move together: 100 for three days, 70 to the end of 2021, 140 in
    # 2022.
    days = _days("2021-01-04", "2022-12-30")
    path = [100.0 if i < 3 else 70.0 if d.year == 2021 else 140.0 for i, d in enumerate(days)]
    return pd.DataFrame({"A": path, "B": path}, index=days)


def _household(harvest: bool):
    return make_household(
        {"A": 1.0},
        policy=ThresholdPolicy(0.05, 0.25),
        tax=RATES,
        harvest=HarvestRules(
            enabled=harvest, min_loss_fraction=0.05, substitutes={"A": ("B",), "B": ("A",)}
        ),
    )


def test_harvest_in_a_backtest_by_hand():
    # 100,000 buys 1,000 A at 100. On 2021-01-07 A is 70: harvest 1,000 A (short-term loss
    # 30,000), buy 1,000 B at 70. 2021: 3,000 against income (saving 1,050, credited on
    # 2022-01-03 as cash), 27,000 short-term carried. End of 2022, B at 140: value 140,000 +
    # 1,050 cash. Liquidated: long-term gain 70,000 less the 27,000 carried = 43,000 at 15% =
    # 6,450 → 134,600. Without harvesting: 140,000 less 15% of the 40,000 gain = 134,000.
    on = run_backtest(_household(True), _prices(), reinvest_tax_savings=True)
    off = run_backtest(_household(False), _prices(), reinvest_tax_savings=True)
    harvests = on.trades[on.trades["kind"] == "harvest"]
    assert harvests[["symbol", "side"]].values.tolist() == [["A", "sell"], ["B", "buy"]]
    assert harvests["date"].iloc[0] == pd.Timestamp("2021-01-07")
    assert harvests["realized_short_term"].iloc[0] == pytest.approx(-30_000)
    taxes = on.taxes
    assert taxes.loc[2021, "harvested"] == pytest.approx(-30_000)
    assert taxes.loc[2021, "ordinary_offset"] == pytest.approx(3_000)
    assert taxes.loc[2021, "tax_saving"] == pytest.approx(1_050)
    assert taxes.loc[2021, "carryforward_short_term"] == pytest.approx(27_000)
    assert taxes.loc[2021, "paid"] == pytest.approx(-1_050)
    assert on.final_value == pytest.approx(141_050)
    assert on.after_tax_liquidated == pytest.approx(141_050 - 6_450)
    # Not liquidated, 2022 realizes nothing: the 27,000 carried in gives another 3,000 against
    # income, whose 1,050 saving is still to come: 141,050 + 1,050.
    assert on.after_tax_value == pytest.approx(142_100)
    assert off.after_tax_liquidated == pytest.approx(134_000)
    assert off.taxes["harvested"].sum() == 0
    # no A bought back inside the wash-sale window (nor after: B stands in for it)
    bought_a = on.trades[(on.trades["symbol"] == "A") & (on.trades["side"] == "buy")]
    assert (bought_a["date"] <= pd.Timestamp("2021-01-04")).all()
    out = on.to_dict()
    assert out["losses_harvested"] == pytest.approx(-30_000)
    assert out["after_tax_liquidated"] == pytest.approx(134_600)


def test_without_reinvesting_the_saving_is_reported_only():
    on = run_backtest(_household(True), _prices())
    assert on.taxes.loc[2021, "tax_saving"] == pytest.approx(1_050)
    assert on.taxes.loc[2021, "paid"] == 0
    assert on.final_value == pytest.approx(140_000)
    assert on.after_tax_liquidated == pytest.approx(140_000 - 6_450)


def test_harvest_every_nth_day(monkeypatch):
    # Checked every 5th trading day only (days 0, 5, ...): the loss that appears on day 3
    # (2021-01-07) is harvested on day 5 (2021-01-11).
    import poise.backtest._engine as engine
    from poise.backtest import default_steps
    from poise.backtest._harvest import Harvest

    def steps(state, flows, screen=True):
        loop = default_steps(state, flows, screen)
        return [Harvest(state, every=5) if isinstance(s, Harvest) else s for s in loop]

    monkeypatch.setattr(engine, "default_steps", steps)
    result = run_backtest(_household(True), _prices())
    harvests = result.trades[result.trades["kind"] == "harvest"]
    assert harvests["date"].iloc[0] == pd.Timestamp("2021-01-11")
