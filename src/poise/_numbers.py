"""Numbers at the edge: what a file cell or an option may hold, checked once for every door.

A number poise accepts is finite, at most ``MAX_MAGNITUDE`` in size (more than any household's
money or shares: ``1e308`` is a typo, not a balance) and either zero or at least
``MIN_MAGNITUDE`` (a denormal such as ``5e-324`` is noise, not a quantity). Text cells are
read the English way: a point for decimals, commas only between groups of three digits
(``1,000.50``), an optional leading ``$``; ``1,5`` (a decimal comma) is refused rather than
read as 15.
"""

from __future__ import annotations

import math
import re

from poise._errors import InputError

__all__ = ["MAX_MAGNITUDE", "MIN_MAGNITUDE", "check_number", "number_problem", "parse_number"]

MAX_MAGNITUDE = 1e15
"""The largest size of any amount, quantity or price poise accepts."""

MIN_MAGNITUDE = 1e-12
"""The smallest non-zero size of a number poise accepts (smaller ones are noise)."""

_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_CURRENCY = re.compile(r"^([+-]?)\s*\$\s*")
_SIMPLE = re.compile(r"-?\d+(?:\.\d+)?")  # most cells: read at once, checked the same way


def number_problem(value: float) -> str | None:
    """Why ``value`` is not a number poise accepts (None when it is)."""
    if math.isnan(value):
        return "is not a number (NaN)"
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        return f"is out of range (at most {MAX_MAGNITUDE:,.0f} in size)"
    if value != 0 and abs(value) < MIN_MAGNITUDE:
        return f"is too small to mean anything (write 0, or at least {MIN_MAGNITUDE:g})"
    return None


def check_number(value: float, *, source: str | None = None, field: str | None = None) -> float:
    """``value`` as a float when it is finite and of a plausible size, else ``InputError``."""
    problem = number_problem(float(value))
    if problem is not None:
        raise InputError(f"{value!r} {problem}", source=source, field=field)
    return float(value)


def parse_number(text: str, *, source: str | None = None, field: str | None = None) -> float:
    """A number from a file cell: ``1000``, ``1,000.50``, ``$1,000``, ``-2.5e3``.

    Raises
    ------
    InputError
        For an empty cell, a decimal comma (``1,5``), ``NaN``, ``inf``, a number out of range
        or too small to mean anything, or anything else that is not a number; the message says
        how to write it.
    """
    if _SIMPLE.fullmatch(text):
        value = float(text)  # finite unless hundreds of digits long
        if value == 0.0 or MIN_MAGNITUDE <= abs(value) <= MAX_MAGNITUDE:
            return value
        problem = number_problem(value)
        if problem is not None:
            raise InputError(f"{text!r} {problem}", source=source, field=field)
        return value
    raw = text.strip()
    body = _CURRENCY.sub(r"\1", raw)
    if not body:
        raise InputError(f"a number is needed here, got {raw!r}", source=source, field=field)
    if _THOUSANDS.fullmatch(body):
        body = body.replace(",", "")
    elif _DECIMAL_COMMA.fullmatch(body):
        raise InputError(
            f"{raw!r} has a decimal comma; write {body.replace(',', '.')} (a point for "
            "decimals, commas only between thousands)",
            source=source,
            field=field,
        )
    if body.lower() in {"nan", "+nan", "-nan", "na", "n/a", "null", "none"}:
        raise InputError(
            f"{raw!r} is not a number; write the number, or leave the cell empty where a "
            "value may be missing",
            source=source,
            field=field,
        )
    if body.lower().lstrip("+-") in {"inf", "infinity"}:
        raise InputError(
            f"{raw!r} is out of range (infinite); write a finite number", source=source, field=field
        )
    if not _PLAIN.fullmatch(body):
        raise InputError(f"{raw!r} is not a number", source=source, field=field)
    value = float(body)
    problem = number_problem(value)
    if problem is not None:
        raise InputError(f"{raw!r} {problem}", source=source, field=field)
    return value
