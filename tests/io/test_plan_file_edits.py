"""A plan file edited by hand: what ``poise orders submit`` must refuse before anything is
sent (exit 2 naming the file, the field and the fix), found by trying it as a new user."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest

from poise._errors import InputError
from poise.io import parse_plan, read_plan
from tests.conftest import run_cli
from tests.execute.plan3 import PLAN


def _edited(**changes: object) -> dict:
    plan = copy.deepcopy(PLAN)
    sell = plan["trades"][1]  # sell 4 AAA from one listed lot of 4
    for key, value in changes.items():
        if key == "as_of":
            plan["as_of"] = value
        else:
            sell[key] = value
    return plan


@pytest.mark.parametrize(
    ("plan", "field", "words"),
    [
        # a sell of more than the lots it lists would sell shares the household may not have
        (_edited(quantity=1e300), "trades[1].quantity", "out of range"),
        (_edited(quantity=10**400), "trades[1].quantity", "out of range"),
        (_edited(quantity=5.0), "trades[1].quantity", "sells 5 but its lots hold 4"),
        (_edited(price=2e15), "trades[1].price", "out of range"),
        (_edited(account="nope"), "trades[1].account", "unknown account 'nope'"),
        (_edited(as_of=(date.today() + timedelta(days=30)).isoformat()), "as_of", "future"),
    ],
)
def test_an_edited_plan_is_refused_naming_the_field(plan, field, words):
    with pytest.raises(InputError) as caught:
        parse_plan(plan, "plan.json")
    assert caught.value.field == field
    assert words in str(caught.value)


def test_the_plan_as_written_still_reads():
    plan = parse_plan(copy.deepcopy(PLAN), "plan.json")
    assert [t.quantity for t in plan.trades] == [10.0, 4.0, 5.0]
    # cash before the plan: 100 after, less the buys, plus the sell (worked by hand)
    assert plan.holdings.cash == {"ira": pytest.approx(100.0 + 500.0 + 100.0 - 400.0)}


def test_a_sell_without_lots_still_reads():
    plan = copy.deepcopy(PLAN)
    del plan["trades"][1]["lots"]
    assert parse_plan(plan, "plan.json").holdings.lots[0].quantity == 4.0


def test_cli_exits_2_on_an_oversized_sell(tmp_path, monkeypatch):
    monkeypatch.setenv("POISE_HOME", str(tmp_path))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_edited(quantity=1e300)), encoding="utf-8")
    out = run_cli(["orders", "submit", path, "--broker", "paper"])
    assert out.code == 2
    assert "plan.json: trades[1].quantity" in out.stderr
    assert "Traceback" not in out.stderr
    with pytest.raises(InputError):
        read_plan(path)


def test_a_batch_line_or_a_backtest_is_not_a_plan():
    line = {"household": "a.toml", "ok": True, "plan": copy.deepcopy(PLAN)}
    with pytest.raises(InputError, match='save its "plan" object') as caught:
        parse_plan(line, "one.json")
    assert caught.value.field == "as_of"
    with pytest.raises(InputError, match="this is not a plan"):
        parse_plan({"start": "2022-01-03", "final_value": 1.0}, "bt.json")
