"""One home for trading costs and for trade reasons (issue 9): the planning modules charge and
gross up costs through ``poise.costs.CostModel`` and word trade reasons through
``poise.model.Reason``, never inline."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "poise"

# The array kernel reads the rules' commission and spread to hand them, as plain numbers, to
# its compiled steps (``plan/_compiled.py``), which must match the engine to the bit. Its
# reasons are ``Reason``s like everyone's.
KERNEL = frozenset({"plan/_kernel.py"})


def _modules(folder: str, allowed: frozenset[str] = frozenset()) -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted((SRC / folder).rglob("*.py")):
        rel = str(path.relative_to(SRC))
        if rel not in allowed:
            out.append((rel, ast.parse(path.read_text(encoding="utf-8"))))
    return out


def test_plan_reads_no_cost_field_but_through_the_cost_model():
    found = [
        f"{rel}:{node.lineno} .{node.attr}"
        for rel, tree in _modules("plan", KERNEL)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"spread_bps", "commission"}
    ]
    assert found == [], "compute costs with poise.costs.CostModel (rules.costs) instead"


def test_no_module_words_the_drift_reason_but_reason():
    found = []
    for rel, tree in _modules("."):
        if rel == "model/_reason.py":
            continue
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and "% vs target " in text:
                found.append(f"{rel}:{node.lineno}")
    assert found == [], "build a poise.model.Reason; its str() is the text"
