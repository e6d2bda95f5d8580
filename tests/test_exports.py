"""Each package's public surface: ``__all__`` sorted (constants, classes, functions), every
name importable and documented, no private name exported, and no public name meaning two
things in the engine (one name, one object)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import poise

DOORS = frozenset({"cli", "service", "scale"})


def _packages() -> list[str]:
    names = ["poise"]
    for info in pkgutil.walk_packages(poise.__path__, "poise."):
        last = info.name.rsplit(".", 1)[-1]
        if info.ispkg and not last.startswith("_") and "migrations" not in info.name:
            names.append(info.name)
    return names


def _load(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:  # a door whose extra is not installed
        if exc.name and not exc.name.startswith("poise"):
            pytest.skip(f"{name} needs {exc.name} (an extra)")
        raise


def _key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", _packages())
def test_exports_are_sorted_importable_and_public(name: str) -> None:
    module = _load(name)
    exported = list(getattr(module, "__all__", ()))
    assert exported, f"{name} has no __all__"
    assert exported == sorted(exported, key=_key), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported)
    for export in exported:
        assert not export.startswith("_"), f"{name} exports the private {export}"
        assert hasattr(module, export), f"{name}.{export} is listed but not importable"
    assert module.__doc__, f"{name} has no docstring"


def test_engine_and_adapter_names_mean_one_thing() -> None:
    """Across the engine and the adapters (store, broker, feeds): the doors may re-export."""
    owners: dict[str, list[tuple[str, object]]] = {}
    for name in _packages():
        top = name.split(".")[1] if "." in name else ""
        if top in DOORS:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an adapter whose extra is not installed: the
            if exc.name and exc.name.startswith("poise"):  # others are still checked
                raise
            continue
        for export in getattr(module, "__all__", ()):
            owners.setdefault(export, []).append((name, getattr(module, export)))
    clashes = {
        export: [where for where, _ in found]
        for export, found in owners.items()
        if len({id(obj) for _, obj in found}) > 1
    }
    assert clashes == {}, "one public name, two meanings"


def test_store_rows_do_not_take_the_model_names() -> None:
    """The store's rows end in ``Row`` where a value of ``poise.model`` has the name; the
    former names stay importable, with a deprecation warning, for existing callers."""
    store = _load("poise.store")
    for old in ("Account", "Household", "Plan"):
        assert old not in store.__all__
        with pytest.deprecated_call():
            assert getattr(store, old) is getattr(store, f"{old}Row")
