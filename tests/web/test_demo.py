"""``poise serve --demo``: the demo firm, its households and its users."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from poise.service.web._demo import DEMO_FIRM, load_demo
from poise.store import Firm, HoldingsSnapshot, Household, User, make_engine, read_session, upgrade
from poise.store._passwords import check_password


def test_demo_firm_households_and_users(tmp_path: Path) -> None:
    os.environ["POISE_ARGON2_PROFILE"] = "test"
    engine = make_engine(f"sqlite:///{tmp_path / 'poise.db'}")
    upgrade(engine)
    first = load_demo(engine)
    assert {login.role for login in first} == {"advisor", "viewer"}
    with read_session(engine) as session:
        firm = session.scalar(select(Firm).where(Firm.name == DEMO_FIRM))
        assert firm is not None
        names = set(session.scalars(select(Household.name).where(Household.firm_id == firm.id)))
        assert names == {
            "Rivera household",
            "Okafor household",
            "Minimum-variance household",
            "Chen household",
        }
        snapshots = session.scalar(select(func.count()).select_from(HoldingsSnapshot))
        assert snapshots == 4
        for login in first:
            user = session.scalar(select(User).where(User.email == login.email))
            assert user is not None
            assert check_password(user.password_hash, login.password)

    again = load_demo(engine)  # same store: same households, new passwords
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 4
        for old, new in zip(first, again, strict=True):
            user = session.scalar(select(User).where(User.email == new.email))
            assert user is not None
            assert new.password != old.password
            assert check_password(user.password_hash, new.password)
            assert not check_password(user.password_hash, old.password)
    engine.dispose()
