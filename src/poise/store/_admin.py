"""Firms and users, created from the command line (``poise admin``) or by tests."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from poise._errors import InputError
from poise.store._audit import append_event
from poise.store._models import ROLES, Firm, User
from poise.store._passwords import hash_password

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_new_password",
    "create_firm",
    "create_user",
    "normalize_email",
]

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")


def normalize_email(email: str) -> str:
    """``email`` trimmed and lower-cased.

    Raises
    ------
    InputError
        Not an address (``field`` ``email``).
    """
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise InputError(f"{email!r} is not an e-mail address", field="email")
    return value


def check_new_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"must have at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if "\x00" in password or len(password) > 1024:
        raise InputError("must not contain NUL characters or exceed 1024 characters", field=field)


def create_firm(
    session: Session, name: str, *, prices: str = "sp500", actor: str = "admin-cli"
) -> Firm:
    """A new firm (tenant) whose plans use ``prices`` unless a household or request says
    otherwise.

    Raises
    ------
    InputError
        Empty name, or a firm of that name exists (``field`` ``name``).
    """
    name = name.strip()
    if not name or "\x00" in name or len(name) > 200:
        raise InputError("a firm needs a name of 1 to 200 characters", field="name")
    if not prices.strip() or "\x00" in prices:
        raise InputError("name a price set or bundled data set", field="--prices")
    exists = session.scalar(select(func.count()).select_from(Firm).where(Firm.name == name))
    if exists:
        raise InputError(f"a firm named {name!r} exists already", field="name")
    firm = Firm(name=name, prices=prices.strip())
    session.add(firm)
    session.flush()
    append_event(
        session,
        actor=actor,
        action="firm.create",
        obj=f"firm:{firm.id}",
        firm_id=firm.id,
        detail={"prices": firm.prices},
    )
    return firm


def create_user(
    session: Session,
    email: str,
    *,
    firm: str,
    role: str,
    password: str,
    actor: str = "admin-cli",
) -> User:
    """A new user of ``firm`` with ``role``; the password is stored as its argon2id hash.

    Raises
    ------
    InputError
        Unknown firm or role, a taken address, or a password that is too short.
    """
    address = normalize_email(email)
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="--role")
    check_new_password(password)
    found = session.scalar(select(Firm).where(Firm.name == firm.strip()))
    if found is None:
        raise InputError(
            f"no firm named {firm!r}; create it with poise admin create-firm", field="--firm"
        )
    if session.scalar(select(func.count()).select_from(User).where(User.email == address)):
        raise InputError(f"a user {address!r} exists already", field="email")
    user = User(firm_id=found.id, email=address, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    append_event(
        session,
        actor=actor,
        action="user.create",
        obj=f"user:{user.id}",
        firm_id=found.id,
        detail={"role": role},
    )
    return user
