"""Lazy package exports (PEP 562): a package lists which submodule gives each public name,
and the submodule is imported the first time one of its names is used.

This keeps ``import poise`` and ``import poise.app`` cheap: the command line starts without
pandas, skfolio or cvxpy and imports them only in the command that needs them. Type checkers
read the same names from the package's ``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence

__all__ = ["attach"]


def attach(
    package: str,
    exports: Mapping[str, Sequence[str]],
    aliases: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``exports``'s modules
    (``{module: [names]}``) on first use of one of their names (then cache the name).
    ``aliases`` maps former names to exported ones (importable, not exported)."""
    owner = {name: module for module, names in exports.items() for name in names}
    renamed = dict(aliases or {})

    def __getattr__(name: str) -> object:
        target = renamed.get(name, name)
        module = owner.get(target)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), target)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(owner) | set(renamed) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
