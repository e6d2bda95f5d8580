"""The web dashboard: server-rendered pages (Jinja2 and a vendored htmx) on the service's own
authentication, tenancy and use cases. Routes: ``/login``, ``/households`` (the book),
``/households/{id}``, ``/orders``, ``/audit``, ``/settings``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poise.service.web._chart import weights_chart
from poise.service.web._security import CONTENT_SECURITY_POLICY, check_csrf, csrf_token
from poise.service.web._templates import environment
from poise.service.web._views import (
    BookRow,
    LotRow,
    WeightRow,
    current_weights,
    filter_book,
    lot_rows,
    policy_view,
    sort_book,
    weight_rows,
)

if TYPE_CHECKING:
    from fastapi import FastAPI


def install_dashboard(app: FastAPI) -> None:
    """Add the dashboard's pages, static files and security headers to the service's app
    (see :mod:`poise.service.web._pages`)."""
    from poise.service.web._pages import install_dashboard as install

    install(app)


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "BookRow",
    "LotRow",
    "WeightRow",
    "check_csrf",
    "csrf_token",
    "current_weights",
    "environment",
    "filter_book",
    "install_dashboard",
    "lot_rows",
    "policy_view",
    "sort_book",
    "weight_rows",
    "weights_chart",
]
