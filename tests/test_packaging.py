"""The core install (``pip install -e .``, README's first command) carries every module the
core imports: ``poise demo`` must run without any extra."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _core_dependencies() -> set[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    names = set()
    for spec in project["dependencies"]:
        name = spec.split(";")[0]
        for mark in "<>=!~[ ":
            name = name.split(mark)[0]
        names.add(name.strip().lower())
    return names


def test_platformdirs_is_a_core_dependency() -> None:
    # poise._home imports platformdirs whenever POISE_HOME is unset, and the bundled
    # data's cache (poise demo's first step) asks for the home folder.
    assert "platformdirs" in _core_dependencies()
