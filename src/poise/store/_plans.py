"""Saving a proposed plan: the one place a plan row, its trades and its audit event are
written, whoever made the plan (the service's ``POST /households/{id}/plans``, the dashboard's
"plan all breached", ``poise batch rebalance --firm``).

A plan is saved with what it was made from (holdings snapshot, household version, prices
name and digest), so approving or sending it after any of them changed can be refused. The
row, the trades and the ``plan.create`` event go in the caller's transaction: all or none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from poise._errors import InputError
from poise.store._models import PlanRow, PlanTrade
from poise.store._scope import FirmScope

if TYPE_CHECKING:
    from poise.app import RebalanceResult, StoredRequest

__all__ = ["PlanLeg", "ProposedPlan", "proposed_plan", "save_plan"]


@dataclass(frozen=True, slots=True)
class PlanLeg:
    """One trade of a plan as stored: ``side`` is ``buy`` or ``sell``, ``quantity`` in
    shares, ``price`` and ``value`` in the account's currency (full precision, unlike the
    rounded JSON body)."""

    account: str
    symbol: str
    side: str
    quantity: float
    price: float
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposedPlan:
    """A plan ready to be saved.

    Parameters
    ----------
    household_id : str
    snapshot_id : int
        The holdings snapshot it was planned from.
    household_version : int
        The household's version it was planned from.
    prices_name, prices_digest : str
        The price table's name and the digest of its content (see
        :func:`poise.store._prices.prices_digest`).
    as_of : date
        The decision day.
    body : mapping
        The ``poise rebalance --json`` object (finite numbers only).
    legs : tuple of PlanLeg
        The trades, in plan order (leg 1 first).
    """

    household_id: str
    snapshot_id: int
    household_version: int
    prices_name: str
    prices_digest: str
    as_of: date
    body: Mapping[str, Any]
    legs: tuple[PlanLeg, ...]

    @property
    def triggered(self) -> bool:
        return bool(self.body["triggered"])


def proposed_plan(
    stored: StoredRequest, result: RebalanceResult, *, prices_name: str, prices_digest: str
) -> ProposedPlan:
    """The plan ``result`` made from ``stored``, ready for :func:`save_plan`.

    Raises
    ------
    InputError
        The plan holds non-finite numbers (``field`` ``prices``).
    """
    from poise.report import rebalance_to_dict

    return ProposedPlan(
        household_id=stored.household.id,
        snapshot_id=stored.holdings.snapshot,
        household_version=stored.household.version,
        prices_name=prices_name,
        prices_digest=prices_digest,
        as_of=result.plan.as_of,
        body=rebalance_to_dict(result),
        legs=tuple(
            PlanLeg(t.account, t.symbol, t.side.value, t.quantity, t.price, t.value)
            for t in result.plan.trades
        ),
    )


def save_plan(scope: FirmScope, proposed: ProposedPlan, *, created_by: int | None) -> PlanRow:
    """Save ``proposed`` as a ``proposed`` plan of the scope's firm, with its trades and a
    ``plan.create`` audit event, in the scope's transaction.

    Parameters
    ----------
    scope : FirmScope
        An open write scope; the caller commits.
    proposed : ProposedPlan
    created_by : int, optional
        The user who asked for the plan (None for a batch run from the command line).

    Returns
    -------
    PlanRow
        The new row (its ``id`` set).

    Raises
    ------
    InputError
        The body holds non-finite numbers (``field`` ``prices``); nothing is written.
    NotFoundError
        The household is not the scope's firm's.
    """
    if not _finite(proposed.body):
        raise InputError("the plan holds non-finite numbers; check the prices", field="prices")
    scope.check_household(proposed.household_id)
    plan = PlanRow(
        household_id=proposed.household_id,
        snapshot_id=proposed.snapshot_id,
        household_version=proposed.household_version,
        prices_name=proposed.prices_name,
        prices_digest=proposed.prices_digest,
        as_of=proposed.as_of,
        status="proposed",
        body=dict(proposed.body),
        created_by=created_by,
    )
    scope.add(plan)
    if proposed.legs:  # one multi-row insert (the ORM's unit of work is 20 x slower here)
        scope.session.execute(
            insert(PlanTrade),
            [
                {
                    "plan_id": plan.id,
                    "leg": i,
                    "account": leg.account,
                    "symbol": leg.symbol,
                    "side": leg.side,
                    "quantity": leg.quantity,
                    "price": leg.price,
                    "value": leg.value,
                }
                for i, leg in enumerate(proposed.legs, start=1)
            ],
        )
    scope.audit(
        "plan.create",
        f"plan:{plan.id}",
        {
            "household": proposed.household_id,
            "trades": len(proposed.legs),
            "triggered": proposed.triggered,
            "prices_digest": proposed.prices_digest,
        },
    )
    return plan


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:  # NaN or an infinity somewhere in it
        return False
    return True
