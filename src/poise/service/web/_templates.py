"""The dashboard's Jinja2 environment: templates and static files shipped in this package."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from poise.service.web._format import FILTERS

__all__ = ["HTMX_FILE", "STATIC_DIR", "TEMPLATES_DIR", "environment", "static_url"]

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
HTMX_FILE = "htmx-2.0.11.min.js"
"""The vendored htmx (see ``static/VENDORED.md`` for its version, licence and checksum)."""


def static_url(name: str) -> str:
    """Where the server serves a file of ``static/``."""
    return f"/static/{name}"


@cache
def environment() -> jinja2.Environment:
    """The template environment (autoescaping on, undefined names an error)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(static_url=static_url, htmx_file=HTMX_FILE)
    return env
