"""``poise serve --demo``: a demo firm with the example households and two users, so the
dashboard can be tried on a fresh store.

The households are those of the ``examples/`` folder (each with ``examples/holdings.csv``)
and one household held exactly at its targets, valued on the bundled S&P 500 prices. Running
``--demo`` again on the same store keeps the firm and its data and sets new passwords.
"""

from __future__ import annotations

import json
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from poise._errors import InputError
from poise.io import holdings_from_text
from poise.service._households import household_document
from poise.store import (
    Firm,
    FirmScope,
    HouseholdRow,
    SqlLedgerStore,
    User,
    parse_household,
    write_session,
)
from poise.store._admin import create_firm, create_user
from poise.store._passwords import hash_password

__all__ = ["DEMO_FIRM", "DemoLogin", "examples_folder", "load_demo"]

DEMO_FIRM = "Demo firm"
DEMO_USERS = (("advisor@demo.poise", "advisor"), ("viewer@demo.poise", "viewer"))
HOUSEHOLDS = ("household.toml", "retirement.toml", "min_variance.toml")


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    role: str
    password: str


def examples_folder() -> Path:
    """The ``examples/`` folder: in the working directory, else beside the source tree.

    Raises
    ------
    InputError
        Neither exists (an installed wheel has no examples): run from a checkout of poise.
    """
    here = Path.cwd() / "examples"
    source = Path(__file__).resolve().parents[4] / "examples"
    for folder in (here, source):
        if (folder / "household.toml").is_file() and (folder / "holdings.csv").is_file():
            return folder
    raise InputError(
        "no examples/ folder with household.toml and holdings.csv here or beside the source; "
        "run poise serve --demo from a checkout of poise",
        field="--demo",
    )


def _as_json(document: dict[str, Any]) -> dict[str, Any]:
    """The TOML's tables as the API receives them (TOML dates as ISO strings)."""
    out: dict[str, Any] = json.loads(json.dumps(document, default=str))
    return out


def _balanced(closes: dict[str, float]) -> tuple[dict[str, Any], str]:
    body: dict[str, Any] = {
        "name": "Chen household",
        "accounts": [{"id": "ira", "kind": "tax_deferred"}],
        "targets": {"KO": 0.3, "PG": 0.3, "JNJ": 0.4},
        "policy": {"kind": "threshold", "absolute": 0.05, "relative": 0.25},
    }
    lines = ["account,symbol,quantity,cost_basis,acquired"]
    for symbol, weight in (("KO", 0.3), ("PG", 0.3), ("JNJ", 0.4)):
        quantity = 250_000 * weight / closes[symbol]
        lines.append(f"ira,{symbol},{quantity:.6f},{200_000 * weight:.2f},2016-03-01")
    return body, "\n".join(lines) + "\n"


def load_demo(engine: Engine) -> list[DemoLogin]:
    """Create (or refresh) the demo firm; returns the users' e-mail addresses, roles and new
    passwords (printed by ``poise serve --demo``)."""
    from poise.data import load_dataset

    folder = examples_folder()
    holdings_csv = (folder / "holdings.csv").read_text()
    closes = {str(k): float(v) for k, v in load_dataset("sp500").iloc[-1].items()}
    logins = [DemoLogin(email, role, secrets.token_urlsafe(12)) for email, role in DEMO_USERS]
    with write_session(engine) as session:
        firm = session.scalar(select(Firm).where(Firm.name == DEMO_FIRM))
        fresh = firm is None
        if firm is None:
            firm = create_firm(session, DEMO_FIRM, actor="poise serve --demo")
        for login in logins:
            user = session.scalar(select(User).where(User.email == login.email))
            if user is None:
                create_user(
                    session,
                    login.email,
                    firm=DEMO_FIRM,
                    role=login.role,
                    password=login.password,
                    actor="poise serve --demo",
                )
            elif user.firm_id == firm.id:
                user.password_hash = hash_password(login.password)
        if not fresh:
            return logins
        scope = FirmScope(session, firm.id, "poise serve --demo")
        bodies = [
            (_as_json(tomllib.loads((folder / name).read_text())), holdings_csv)
            for name in HOUSEHOLDS
            if (folder / name).is_file()
        ]
        bodies.append(_balanced(closes))
        for body, csv_text in bodies:
            document, prices, name, _ = household_document(body)
            row = scope.add(HouseholdRow(name=name, document=document, prices=prices, version=1))
            scope.audit("household.create", f"household:{row.id}", {"version": 1})
            household = parse_household(row.id, row.version, document)
            holdings = holdings_from_text(csv_text, household, source=f"{name} holdings")
            record = SqlLedgerStore(scope).save_holdings(row.id, holdings)
            scope.audit(
                "holdings.import",
                f"household:{row.id}",
                {"version": record.version, "lots": len(holdings.lots)},
            )
    return logins
