"""The household: accounts, targets and the rules that govern rebalancing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from poise._errors import InputError
from poise.costs import CostModel

if TYPE_CHECKING:
    from poise.policy import Policy
    from poise.risk import RiskRules

__all__ = [
    "CASH",
    "MAX_SPREAD_BPS",
    "Account",
    "AccountKind",
    "HarvestRules",
    "Household",
    "LotMethod",
    "OptimizeRules",
    "PlanMethod",
    "TaxEfficiency",
    "TaxRules",
    "TradingRules",
]

CASH = "CASH"
"""The name of the cash position, in targets, holdings and weights."""

MAX_SPREAD_BPS = 10_000.0
"""A spread of this many basis points costs a trade's whole value: ``spread_bps`` stays below."""


class AccountKind(StrEnum):
    """How an account is taxed."""

    TAXABLE = "taxable"
    TAX_DEFERRED = "tax_deferred"
    TAX_FREE = "tax_free"


class LotMethod(StrEnum):
    """Which tax lots a sell disposes of.

    ``tax_min`` chooses the lots that minimise the estimated tax of the sale (short- and
    long-term gains netted as US rules net them); ``tax_order`` is the fixed order it used to
    be: losses first (largest first), then long-term gains (smallest first), then short-term
    gains (smallest first), which is not always the minimum (a small short-term gain can cost
    less than a large long-term one).
    """

    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    TAX_MIN = "tax_min"
    TAX_ORDER = "tax_order"


class PlanMethod(StrEnum):
    """How trades are chosen: a fast heuristic, or an optimisation (cvxpy)."""

    HEURISTIC = "heuristic"
    OPTIMIZE = "optimize"


@dataclass(frozen=True, slots=True)
class Account:
    """One account of a household."""

    id: str
    kind: AccountKind

    @property
    def taxable(self) -> bool:
        """Whether gains realized here are taxed now."""
        return self.kind is AccountKind.TAXABLE


@dataclass(frozen=True, slots=True)
class TradingRules:
    """How trades are sized and what they cost.

    ``commission`` is currency per trade; ``spread_bps`` is charged on each trade's value.
    Costs are paid from the trading account's cash. ``costs`` is the household's cost model
    (:class:`poise.costs.CostModel`), built from these two fields.
    """

    fractional: bool = True
    min_trade_value: float = 0.0
    cash_reserve: float = 0.0
    commission: float = 0.0
    spread_bps: float = 0.0
    costs: CostModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("min_trade_value", "cash_reserve", "commission", "spread_bps"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InputError(
                    f"must be a finite number ≥ 0, got {value!r}", field=f"trading.{name}"
                )
        if self.spread_bps >= MAX_SPREAD_BPS:
            raise InputError(
                f"is in basis points of each trade's value (5 for 0.05%); {self.spread_bps:g} "
                f"would cost the whole trade or more: use less than {MAX_SPREAD_BPS:g}",
                field="trading.spread_bps",
            )
        object.__setattr__(self, "costs", CostModel(self.commission, self.spread_bps))

    def cost(self, trade_value: float) -> float:
        """Commission plus spread for one trade of ``trade_value`` (currency)."""
        return self.costs.cost(trade_value)


@dataclass(frozen=True, slots=True)
class TaxRules:
    """Lot selection and the household's tax rates (US conventions by default).

    ``defer_days``: a taxable sell of a short-term gain lot that turns long-term within this
    many days is avoided when other lots or accounts can do the job.
    ``ordinary_income_rate``: the value of each unit of net capital loss deducted against
    ordinary income (up to ``ordinary_income_offset`` a year); None means ``short_term_rate``.
    """

    lot_method: LotMethod = LotMethod.FIFO
    short_term_rate: float = 0.0
    long_term_rate: float = 0.0
    ordinary_income_offset: float = 3000.0
    defer_days: int = 0
    ordinary_income_rate: float | None = None


class TaxEfficiency(StrEnum):
    """How much tax an asset's income costs in a taxable account (``[location]``).

    inefficient: bonds, REITs (income taxed as ordinary income): tax-deferred accounts first;
    growth: the highest expected growth: tax-free accounts first; efficient (the default):
    broad equity funds with qualified dividends: taxable accounts first.
    """

    EFFICIENT = "efficient"
    INEFFICIENT = "inefficient"
    GROWTH = "growth"


@dataclass(frozen=True, slots=True)
class OptimizeRules:
    """Weights (λ) of the optimising plan's objective (``[plan]`` with ``method = "optimize"``).

    The plan minimises ``lambda_tracking`` × Σ (weight drift from target)² + ``lambda_cost`` ×
    trading cost / value + ``lambda_tax`` × estimated tax / value.
    """

    lambda_tracking: float = 50.0
    lambda_cost: float = 1.0
    lambda_tax: float = 1.0


@dataclass(frozen=True, slots=True)
class HarvestRules:
    """Tax-loss harvesting settings (``[harvest]``)."""

    enabled: bool = False
    min_loss: float = 0.0
    min_loss_fraction: float = 0.0
    min_net_benefit: float = 0.0
    swap_back: bool = False
    substitutes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Household:
    """A household: its accounts, target weights and rules.

    ``targets`` are fractions of the household's total value (cash included) and sum to 1.
    When an ``[allocation]`` model sets the targets, ``allocation`` holds its specification
    and ``targets`` holds the fallback (equal weights over the model's universe) until fitted.
    ``risk`` holds the ``[risk]`` table (groups, concentration limits, drawdown overlay);
    None means no limits and one group per symbol (see ``poise.risk.risk_rules``).
    ``location`` declares per-symbol tax efficiency (``[location]``) for asset location;
    ``optimize`` holds the λ weights of ``plan_method = optimize``.
    """

    name: str
    accounts: tuple[Account, ...]
    targets: Mapping[str, float]
    policy: Policy
    trading: TradingRules = TradingRules()
    tax: TaxRules = TaxRules()
    harvest: HarvestRules = HarvestRules()
    identical_groups: tuple[frozenset[str], ...] = ()
    plan_method: PlanMethod = PlanMethod.HEURISTIC
    allocation: Any = None
    source: str = "<household>"
    risk: RiskRules | None = None
    location: Mapping[str, TaxEfficiency] = field(default_factory=dict)
    optimize: OptimizeRules = OptimizeRules()

    def account(self, account_id: str) -> Account:
        """The account called ``account_id`` (KeyError if there is none)."""
        for acc in self.accounts:
            if acc.id == account_id:
                return acc
        raise KeyError(account_id)

    @property
    def account_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.accounts)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Target symbols other than cash, in file order."""
        return tuple(s for s in self.targets if s != CASH)
