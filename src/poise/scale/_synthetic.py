"""Random books of households written as files, for tests and benchmarks of batch runs.

Each household draws its symbols from the price table's columns, one to three accounts
(taxable, tax-deferred, tax-free), a policy among the built-in kinds, lots bought over the last
years at the table's closes times a random factor (gains and losses), and some cash. Seeded:
the same seed writes the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["POLICIES", "write_book"]

POLICIES = (
    'kind = "threshold"\nabsolute = 0.05\nrelative = 0.25',
    'kind = "threshold"\nabsolute = 0.03',
    'kind = "threshold"\nrelative = 0.2\nrebalance_to = "band"',
    'kind = "calendar"\nfrequency = "quarterly"',
    'kind = "volatility"\nabsolute = 0.04\nwindow = 21\nlong_window = 252',
    'kind = "cash_flow"',
    'kind = "any_of"\n[[policy.rules]]\nkind = "calendar"\nfrequency = "annual"\n'
    '[[policy.rules]]\nkind = "threshold"\nabsolute = 0.1',
)
"""``[policy]`` tables the generator picks from."""

_KINDS = ("taxable", "tax_deferred", "tax_free")


def write_book(
    folder: Path,
    prices: pd.DataFrame,
    count: int,
    *,
    seed: int = 0,
    symbols: int = 8,
    accounts: int | None = None,
    lots_per_position: int = 2,
    accounts_per_symbol: int | None = None,
    policies: tuple[str, ...] = POLICIES,
    as_of: pd.Timestamp | None = None,
) -> Path:
    """Write ``count`` households and their holdings under ``folder``; returns the manifest.

    Parameters
    ----------
    folder : Path
        Created if missing; gets ``manifest.csv`` and ``hh/NNNNNN.toml`` / ``.csv`` files.
    prices : DataFrame
        The price table the households are valued with (symbols are drawn from its columns).
    count : int
        Number of households.
    seed : int
        Random seed.
    symbols : int
        Target symbols per household (at most the table's columns).
    accounts : int, optional
        Accounts per household (1 to 3); random when omitted.
    lots_per_position : int
        Lots of each symbol in each account holding it.
    accounts_per_symbol : int, optional
        Accounts holding each symbol; random (1 to all) when omitted.
    policies : tuple of str
        ``[policy]`` tables to pick from.
    as_of : Timestamp, optional
        Lots are acquired before it (default: the table's last day).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hh").mkdir(exist_ok=True)
    day = prices.index[-1] if as_of is None else as_of
    history = prices.loc[:day].iloc[-1000:]
    closes = history.iloc[-1]
    universe = [c for c in prices.columns if np.isfinite(closes[c])]
    rows = ["household,holdings"]
    for n in range(count):
        name = f"hh/{n:06d}"
        k = min(symbols, len(universe))
        chosen = list(rng.choice(universe, size=k, replace=False))
        raw = rng.dirichlet(np.ones(k + 1))
        weights = np.round(raw / raw.sum(), 4)
        weights[-1] = round(1.0 - float(weights[:-1].sum()), 4)
        if weights[-1] < 0:
            weights[0] += weights[-1]
            weights[-1] = 0.0
        n_acc = accounts if accounts is not None else int(rng.integers(1, 4))
        acc_ids = [f"a{j}" for j in range(n_acc)]
        policy = policies[int(rng.integers(len(policies)))]
        harvest = bool(rng.random() < 0.5)
        lines = [f'name = "household {n}"']
        for j, acc in enumerate(acc_ids):
            lines += ["[[accounts]]", f'id = "{acc}"', f'kind = "{_KINDS[j % 3]}"']
        lines.append("[targets]")
        lines += [f'"{s}" = {w:.4f}' for s, w in zip(chosen, weights[:-1], strict=True)]
        lines.append(f"CASH = {weights[-1]:.4f}")
        lines += ["[policy]", policy]
        lines += ["[harvest]", f"enabled = {str(harvest).lower()}", "min_loss = 50.0"]
        (folder / f"{name}.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        value = float(rng.uniform(2e4, 2e6))
        tilt = rng.lognormal(0.0, 0.25, size=k)
        held = weights[:-1] * tilt
        lot_rows = ["account,symbol,quantity,cost_basis,acquired"]
        for s, w in zip(chosen, held, strict=True):
            spread = accounts_per_symbol or int(rng.integers(1, len(acc_ids) + 1))
            owners = rng.choice(acc_ids, size=min(spread, len(acc_ids)), replace=False)
            for acc in owners:
                for _ in range(lots_per_position):
                    i = int(rng.integers(0, len(history) - 1))
                    bought = history.index[i]
                    paid = float(history[s].iloc[i])
                    if not np.isfinite(paid):
                        paid = float(closes[s])
                    qty = round(value * w / len(owners) / lots_per_position / float(closes[s]), 3)
                    if qty <= 0:
                        continue
                    basis = round(qty * paid * float(rng.uniform(0.8, 1.25)), 2)
                    lot_rows.append(f"{acc},{s},{qty},{basis},{bought.date().isoformat()}")
        cash = round(value * float(rng.uniform(0.0, 0.08)), 2)
        lot_rows.append(f"{acc_ids[0]},CASH,{cash},,")
        (folder / f"{name}.csv").write_text("\n".join(lot_rows) + "\n", encoding="utf-8")
        rows.append(f"{name}.toml,{name}.csv")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return manifest
