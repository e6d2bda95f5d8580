"""Views and model options are checked at the edge, with the option named."""

from __future__ import annotations

import pytest

from poise._errors import InputError
from poise.allocate import Constraints, GroupLimit, ModelName, ModelSpec, View, parse_view

SYMBOLS = ["AAPL", "MSFT", "BRK-B", "JNJ"]


def test_absolute_and_relative_views():
    assert parse_view("AAPL=0.10@0.6", SYMBOLS) == View("AAPL", 0.10, None, 0.6)
    assert parse_view(" AAPL - MSFT = 0.02 ", SYMBOLS) == View("AAPL", 0.02, "MSFT", None)
    assert parse_view("BRK-B=0.05", SYMBOLS) == View("BRK-B", 0.05)
    assert parse_view("BRK-B-JNJ=-0.01@1", SYMBOLS) == View("BRK-B", -0.01, "JNJ", 1.0)
    assert str(View("AAPL", 0.02, "MSFT", 0.5)) == "AAPL-MSFT=0.02@0.5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AAPL", "not understood"),
        ("AAPL=ten", "'ten' is not a number"),
        ("AAPL=0.1@1.5", r"confidence must be in \(0, 1\]"),
        ("AAPL=0.1@0", r"confidence must be in \(0, 1\]"),
        ("TSLA=0.1", "'TSLA', which is not a symbol"),
        ("AAPL-AAPL=0.1", "not a symbol"),
    ],
)
def test_bad_views_are_explained(text, message):
    with pytest.raises(InputError, match=message):
        parse_view(text, SYMBOLS)


def check(spec: ModelSpec, symbols=SYMBOLS) -> None:
    spec.check(symbols, label=lambda key: f"--{key}")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelSpec(views=(View("AAPL", 0.1),)), "--views: views apply to black_litterman"),
        (ModelSpec(risk_budget={"AAPL": 2.0}), "--risk_budget: risk budget apply to risk_parity"),
        (
            ModelSpec(model=ModelName.HRP, constraints=Constraints(target_return=0.1)),
            "hrp takes no target_return",
        ),
        (
            ModelSpec(model=ModelName.MIN_VARIANCE, constraints=Constraints(target_volatility=0.1)),
            "min_variance takes no target_volatility; models that do: black_litterman",
        ),
        (ModelSpec(model=ModelName.MEAN_VARIANCE), "mean_variance needs a target_volatility"),
        (ModelSpec(model=ModelName.BLACK_LITTERMAN), "needs at least one view"),
        (
            ModelSpec(
                model=ModelName.BLACK_LITTERMAN,
                views=(View("AAPL", 0.1, None, 0.5), View("JNJ", 0.1)),
            ),
            "confidence for every view or for none",
        ),
        (
            ModelSpec(
                model=ModelName.HRP,
                constraints=Constraints(groups=(GroupLimit("g", ("AAPL",), 0, 0.5),)),
            ),
            "hrp takes no group limits",
        ),
        (
            ModelSpec(model=ModelName.EQUAL_WEIGHT, constraints=Constraints(max_weight=0.5)),
            "equal_weight takes no weight bounds",
        ),
        (ModelSpec(constraints=Constraints(asset_max={"TSLA": 0.1})), "'TSLA' is not in"),
        (ModelSpec(constraints=Constraints(min_weight=0.3)), "minimum weights sum to 1.2 > 1"),
        (
            ModelSpec(constraints=Constraints(max_weight=0.2)),
            r"maximum weights sum to 0.8 < 1.*at least 0.25",
        ),
        (
            ModelSpec(constraints=Constraints(asset_min={"AAPL": 0.5}, asset_max={"AAPL": 0.4})),
            "AAPL: minimum weight 0.5 is above its maximum 0.4",
        ),
        (
            ModelSpec(
                constraints=Constraints(
                    max_weight=0.3, groups=(GroupLimit("g", ("AAPL", "MSFT"), 0.7, 1.0),)
                )
            ),
            "group g must hold at least 0.7 but its assets' maximum weights allow only 0.6",
        ),
        (
            ModelSpec(
                constraints=Constraints(
                    max_weight=0.4, groups=(GroupLimit("g", ("AAPL", "MSFT"), 0.0, 0.1),)
                )
            ),
            "group g is capped at 0.1 and the other assets may hold at most 0.8",
        ),
        (
            ModelSpec(model=ModelName.RISK_PARITY, constraints=Constraints(min_weight=-0.1)),
            "risk_parity is long-only",
        ),
    ],
)
def test_spec_check_rejects(spec, message):
    with pytest.raises(InputError, match=message):
        check(spec)


def test_spec_check_needs_two_symbols():
    with pytest.raises(InputError, match="at least 2 symbols"):
        check(ModelSpec(), ["AAPL"])


def test_valid_specs_pass():
    check(ModelSpec())
    check(ModelSpec(model=ModelName.MEAN_VARIANCE, risk_aversion=2.0))
    check(
        ModelSpec(
            model=ModelName.BLACK_LITTERMAN,
            views=(View("AAPL", 0.1, "MSFT", 0.5),),
            constraints=Constraints(
                max_weight=0.5, groups=(GroupLimit("g", ("AAPL", "MSFT"), 0.1, 0.6),)
            ),
        )
    )
