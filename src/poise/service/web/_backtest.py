"""The household page's "Backtest this rule": :func:`poise.app.backtest` of the household's own
rule over its own prices, the last :data:`YEARS` years of them, with the HTML report of
:func:`poise.report.backtest_report` embedded in a sandboxed frame.

The backtest runs when asked (an htmx request from the page, which shows a spinner meanwhile)
and is kept per household version and prices digest (:data:`CACHE_SIZE` of them), so a second
look, or the frame loading its report, costs nothing. As ``poise backtest`` does, it starts
with :data:`INITIAL` in cash in the first account and invests to target on the first day; the
household's holdings do not enter it.

The report embeds plotly.js and draws with inline scripts and styles, which the dashboard's
content security policy forbids. Only the report's own route relaxes it, to inline scripts and
styles with nothing fetched from anywhere (``default-src 'none'``, no ``connect-src``), inside
a sandbox without the page's origin (the ``sandbox`` directive and the frame's ``sandbox``
attribute): its scripts can neither read the dashboard nor call the server.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from poise._errors import PoiseError
from poise.app import NotFoundError

__all__ = ["CACHE_SIZE", "INITIAL", "REPORT_POLICY", "YEARS", "BacktestView", "router"]

router = APIRouter(include_in_schema=False)

YEARS = 10
"""The backtest covers at most this many years, ending on the prices' last day."""
INITIAL = 100_000.0
"""Cash the backtest starts with (currency), as ``poise backtest``'s default."""
CACHE_SIZE = 8
"""Backtests kept (each holds its report, about 5 MB with plotly.js)."""
MONTE_CARLO_PATHS = 200
"""Paths of the report's Monte Carlo section (kept small: the page waits for it)."""

REPORT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'none'; sandbox allow-scripts"
)
"""The report's content security policy: inline scripts and styles (plotly), nothing fetched,
framed by the dashboard only, sandboxed away from the dashboard's origin."""


@dataclass(frozen=True, slots=True)
class BacktestView:
    """What the page shows of a backtest: its window, headline figures and the report."""

    start: str
    end: str
    policy: str
    figures: dict[str, Any]
    report_html: str


_cache: OrderedDict[tuple[str, int, str, str], BacktestView] = OrderedDict()
_lock = threading.Lock()


def window_start(prices: pd.DataFrame, years: int = YEARS) -> pd.Timestamp:
    """The first day of the last ``years`` years of ``prices`` (the table's first day when it
    is shorter)."""
    first, last = prices.index[0], prices.index[-1]
    return max(first, last - pd.DateOffset(years=years))


def run_backtest(
    household_id: str, version: int, prices_name: str, digest: str, household: Any, prices: Any
) -> BacktestView:
    """The backtest of ``household`` over the last :data:`YEARS` years of ``prices`` (cached by
    household id and version, price set name and digest).

    Raises
    ------
    InputError, DataError
        The prices lack a symbol of the household, or the window is too short.
    """
    key = (household_id, version, prices_name, digest)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    from poise.app import BacktestRequest, ReportOptions, backtest

    start = window_start(prices).date()
    outcome = backtest(
        BacktestRequest(
            household=household,
            prices=prices,
            start=start,
            initial=INITIAL,
            report=ReportOptions(
                benchmark_unavailable="the dashboard's backtest has no benchmark; "
                "run poise attribution for one",
                paths=MONTE_CARLO_PATHS,
            ),
        )
    )
    result = outcome.result
    figures = result.to_dict()
    view = BacktestView(
        start=str(figures.get("start", start)),
        end=str(figures.get("end", "")),
        policy=result.policy,
        figures=figures,
        report_html=outcome.report_html or "",
    )
    with _lock:
        _cache[key] = view
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return view


def _load(request: Request, household_id: str) -> tuple[Any, str, BacktestView]:
    from poise.service.web._data import prices_for
    from poise.service.web._pages import _state, _valid_id
    from poise.service.web._session import page_caller
    from poise.store import HouseholdRow, SqlHouseholdStore

    state = _state(request)
    caller = page_caller(request, state)
    household_id = _valid_id(household_id)
    with state.read(caller.principal) as scope:
        record = SqlHouseholdStore(scope).get(household_id)
        row = scope.get(HouseholdRow, household_id)
        name, table = prices_for(scope, row.prices, scope.firm().prices)
        version = row.version
    view = run_backtest(household_id, version, name, table.digest, record.household, table.frame)
    return caller, name, view


@router.get("/households/{household_id}/backtest")
def backtest_fragment(request: Request, household_id: str) -> Response:
    """The htmx fragment: headline figures and the report's frame (404 for another firm's
    household; the reason when the backtest cannot run)."""
    from poise.service.web._pages import page, render

    @page
    def handle(request: Request) -> Response:
        from poise.service.web._pages import _state
        from poise.service.web._session import page_caller

        try:
            caller, prices_name, view = _load(request, household_id)
        except NotFoundError:
            raise
        except PoiseError as exc:  # shown in place (htmx swaps only a 2xx answer)
            return render(
                request,
                "_backtest.html",
                {"household_id": household_id, "bt": None, "error": str(exc)},
                caller=page_caller(request, _state(request)),
            )
        return render(
            request,
            "_backtest.html",
            {"household_id": household_id, "prices_name": prices_name, "bt": view, "error": None},
            caller=caller,
        )

    return handle(request=request)


@router.get("/households/{household_id}/backtest/report")
def backtest_report_page(request: Request, household_id: str) -> Response:
    """The report itself, for the frame, under its own content security policy."""
    from poise.service.web._pages import PageError, page

    @page
    def handle(request: Request) -> Response:
        try:
            _, _, view = _load(request, household_id)
        except NotFoundError:
            raise
        except PoiseError as exc:
            raise PageError(422, "No backtest", f"The backtest cannot run: {exc}") from None
        return HTMLResponse(
            view.report_html,
            headers={
                "Content-Security-Policy": REPORT_POLICY,
                "X-Frame-Options": "SAMEORIGIN",
                "Cache-Control": "private, no-store",
            },
        )

    return handle(request=request)
