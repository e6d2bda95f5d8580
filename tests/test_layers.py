"""The layers of DESIGN.md, enforced on the source: imports point down only, and nothing at or
below ``app/`` imports a door-only library (typer, rich, FastAPI, SQLAlchemy, alpaca, Dask).

Every import counts, also one inside a function (a lazy import is still a dependency); only
imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "poise"

# Top to bottom; a package may import its own layer and those below it.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("doors", frozenset({"cli", "service", "scale", "__main__"})),
    ("adapters", frozenset({"store", "broker", "feeds"})),
    ("use cases", frozenset({"app"})),
    ("replay, risk, figures", frozenset({"backtest", "risk", "analytics", "report"})),
    ("execution", frozenset({"execute"})),
    ("plans and targets", frozenset({"plan", "allocate"})),
    ("rules", frozenset({"policy", "tax"})),
    # costs/ and calendar/ import nothing of poise but the error tree, so the value objects
    # may hold them (TradingRules gives its cost model)
    (
        "values and edges",
        frozenset(
            {
                "model",
                "io",
                "data",
                "costs",
                "calendar",
                "_errors",
                "_home",
                "_lazy",
                "_numbers",
                "_progress",
            }
        ),
    ),
)
RANK = {pkg: len(LAYERS) - k for k, (_, pkgs) in enumerate(LAYERS) for pkg in pkgs}

# Known upward imports, each with why it is there. The test fails when one of them is gone
# (remove it here) and when a new one appears.
KNOWN: dict[tuple[str, str], str] = {
    ("io", "policy"): "the household reader builds the household's policy from [policy]",
    ("io", "allocate"): "the household reader builds the [allocation] model",
    ("io", "risk"): "the household reader builds the [risk] rules",
    ("io", "tax"): "the transactions reader builds tax.Transaction rows",
    ("plan", "risk"): "the plan applies the [risk] concentration guard to its trades",
}

DOOR_ONLY = frozenset(
    {
        "typer",
        "rich",
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "alpaca",
        "dask",
        "distributed",
        "jinja2",
    }
)


def _package(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path) -> Iterator[str]:
    """Fully qualified names of every module ``path`` imports outside TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "poise":
                yield from (f"poise.{alias.name}" for alias in node.names)
            else:
                yield node.module


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if _package(p) != "__init__")


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in _sources()}
    assert packages - set(RANK) == set(), "give the new package a layer in LAYERS"


def test_imports_point_down() -> None:
    found: dict[tuple[str, str], list[str]] = {}
    for path in _sources():
        here = _package(path)
        for name in _imports(path):
            if not name.startswith("poise."):
                continue
            there = name.split(".")[1]
            if there in RANK and RANK[there] > RANK[here]:
                found.setdefault((here, there), []).append(str(path.relative_to(SRC)))
    new = {edge: files for edge, files in found.items() if edge not in KNOWN}
    assert new == {}, "imports pointing up (see DESIGN.md's layers)"
    gone = set(KNOWN) - set(found)
    assert gone == set(), "these upward imports are gone: remove them from KNOWN"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_door_library_at_or_below_app(path: Path) -> None:
    if RANK[_package(path)] > RANK["app"]:
        return
    used = {name.split(".")[0] for name in _imports(path)} & DOOR_ONLY
    assert used == set(), f"{path.relative_to(SRC)} imports {sorted(used)}"


def test_the_test_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import rich\n"
        "def f():\n    import typer\n    from poise.app import rebalance\n"
    )
    assert sorted(_imports(module)) == ["poise.app", "typer", "typing"]
