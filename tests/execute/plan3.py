"""A 3-leg plan file (one sell, two buys in one account) and its expected end, worked by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SLIPPAGE_BPS = 10.0

PLAN: dict[str, Any] = {
    "as_of": "2024-03-01",
    "triggered": True,
    "reasons": ["test"],
    "trades": [
        {
            "account": "ira",
            "symbol": "BBB",
            "side": "buy",
            "quantity": 10.0,
            "price": 50.0,
            "value": 500.0,
            "cost": 0.0,
            "reason": "buy to target",
        },
        {
            "account": "ira",
            "symbol": "AAA",
            "side": "sell",
            "quantity": 4.0,
            "price": 100.0,
            "value": 400.0,
            "cost": 0.0,
            "reason": "sell to target",
            "lots": [{"acquired": "2020-01-02", "quantity": 4.0, "basis": 320.0}],
        },
        {
            "account": "ira",
            "symbol": "CCC",
            "side": "buy",
            "quantity": 5.0,
            "price": 20.0,
            "value": 100.0,
            "cost": 0.0,
            "reason": "buy to target",
        },
    ],
    "cash_after": {"ira": 100.0},
}

# Cash before: 100 − 400 + 500 + 100 = 300. Fills at 10 bps against each order:
# sell AAA 4 × 99.9 = 399.6; buy BBB 10 × 50.05 = 500.5; buy CCC 5 × 20.02 = 100.1.
EXPECTED_CASH = 300.0 + 399.6 - 500.5 - 100.1  # 99.0
EXPECTED_LOTS = {("ira", "BBB"): (10.0, 500.5), ("ira", "CCC"): (5.0, 100.1)}
EXPECTED_PRICES = {"AAA": 99.9, "BBB": 50.05, "CCC": 20.02}
LEGS = ("AAA", "BBB", "CCC")  # sending order: the sell first


def write_plan(folder: Path) -> Path:
    path = folder / "plan.json"
    path.write_text(json.dumps(PLAN), encoding="utf-8")
    return path
