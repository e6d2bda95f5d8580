"""The dashboard's pages and fragments, on the service's own sessions, roles, firm scope and
route functions: a page that changes something calls the same function the JSON API calls
(same checks, same audit events, same 409 on a stale plan), after checking the CSRF token and
the caller's role itself (a page never relies on hiding a button).

Every page and fragment of another firm's object answers 404, as the API does.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import String, cast, select

from poise._errors import PoiseError
from poise.app import NotFoundError
from poise.service._auth_routes import (
    ApiTokenRequest,
    PasswordChange,
    change_password,
    create_api_token,
    logout,
)
from poise.service._auth_routes import login as api_login
from poise.service._deps import ServiceState, service_state
from poise.service._http import Conflict
from poise.service._orders import send_plan
from poise.service._plans import PlanRequest, approve_plan, create_plan, plan_out, reject_plan
from poise.service.web._backtest import INITIAL as BACKTEST_INITIAL
from poise.service.web._backtest import YEARS as BACKTEST_YEARS
from poise.service.web._chart import weights_chart
from poise.service.web._context import lots_by_account, value_household
from poise.service.web._data import load_book, prices_for
from poise.service.web._security import SECURITY_HEADERS
from poise.service.web._session import (
    LoginRequired,
    PageCaller,
    clear_login_cookies,
    csrf_ok,
    login_binding,
    login_url,
    page_caller,
    set_login_cookies,
)
from poise.service.web._templates import STATIC_DIR, environment
from poise.service.web._views import filter_book, lot_rows
from poise.store import (
    ApiToken,
    AuditEvent,
    BrokerConnection,
    HouseholdRow,
    PlanRow,
    SqlHouseholdStore,
    SqlLedgerStore,
    User,
)
from poise.store._audit import event_to_dict, verify_chain

__all__ = ["install_dashboard", "router"]

router = APIRouter(include_in_schema=False)

BOOK_LIMIT = 2000
"""Rows the book page renders at most (search narrows it)."""
AUDIT_PAGE = 200

FLASH = {
    "approved": ("ok", "Plan approved."),
    "rejected": ("ok", "Plan rejected."),
    "proposed": ("ok", "New plan proposed: read its trades and approve or reject it."),
    "sent": ("ok", "Orders sent."),
    "password": ("ok", "Password changed. Sign in with the new password."),
    "loggedout": ("info", "You are signed out."),
    "user": ("ok", "User added."),
    "connection": ("ok", "Broker connection added; its keys are stored encrypted."),
    "revoked": ("ok", "API token revoked."),
    "cancelled": ("ok", "Orders cancelled. Each order below shows what it ended as."),
}


class PageError(Exception):
    """A page answers with an error page: ``status`` and a message for the user."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def _state(request: Request) -> ServiceState:
    return service_state(request)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    caller: PageCaller | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page (or fragment) with the caller's details and CSRF token."""
    base: dict[str, Any] = {
        "user": caller.view() if caller else None,
        "csrf_token": caller.csrf_token if caller else "",
        "flash": _flash(request),
        "active": "",
        "title": "poise",
    }
    base.update(context)
    html = environment().get_template(template).render(base)
    response = HTMLResponse(html, status_code=status)
    if caller is not None and caller.renewed is not None:
        set_login_cookies(response, request, _state(request), caller.renewed)
    return response


def _error_page(request: Request, exc: PageError, caller: PageCaller | None) -> HTMLResponse:
    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<p class="flash error" role="alert">{_escape(exc.message)}</p>',
            status_code=exc.status,
        )
    return render(
        request,
        "error.html",
        {"title": exc.title, "message": exc.message},
        caller=caller,
        status=exc.status,
    )


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


NOT_FOUND = PageError(404, "Not found", "There is no such page, or it belongs to another firm.")


def page(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Turn the ways a page can fail into pages: not signed in (to ``/login``), another
    firm's or an unknown object (404), a refused action (its status and message)."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            return handler(*args, **kwargs)
        except LoginRequired:
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            target = login_url(request) if request.method == "GET" else "/login"
            response = RedirectResponse(target, status_code=303)
            clear_login_cookies(response)
            return response
        except NotFoundError:
            return _error_page(request, NOT_FOUND, _quiet_caller(request))
        except PageError as exc:
            return _error_page(request, exc, _quiet_caller(request))

    return wrapped


def _quiet_caller(request: Request) -> PageCaller | None:
    try:
        return page_caller(request, _state(request))
    except (LoginRequired, PoiseError):
        return None


def _acting(request: Request, csrf_token: str | None, role: str = "advisor") -> PageCaller:
    """The caller of a state-changing request: signed in, with the right CSRF token, and with
    ``role`` (or higher). Checked on the server whatever the page showed."""
    state = _state(request)
    caller = page_caller(request, state)
    if not csrf_ok(request, state, caller, csrf_token):
        raise PageError(
            403, "Form expired", "This form has expired: reload the page and try again."
        )
    if not caller.principal.can(role):
        raise PageError(
            403, "Not allowed", f"Only an {role} may do this; your role is {caller.principal.role}."
        )
    return caller


CsrfField = Annotated[str | None, Form(max_length=200)]

# ---------------------------------------------------------------- login, logout


@router.get("/")
def home() -> Response:
    return RedirectResponse("/households", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never ``//host`` or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/households"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    state = _state(request)
    try:
        page_caller(request, state)
        return RedirectResponse(_safe_next(next), status_code=303)
    except LoginRequired:
        pass
    return _login_form(request, next=_safe_next(next))


def _login_form(
    request: Request, *, next: str, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    from poise.service.web._security import csrf_token
    from poise.service.web._session import csrf_key

    response = HTMLResponse("")
    binding = login_binding(request, response)
    html = (
        environment()
        .get_template("login.html")
        .render(
            title="Sign in",
            user=None,
            flash=_flash(request),
            csrf_token=csrf_token(csrf_key(_state(request)), binding),
            next=next,
            error=error,
            username=username,
            active="",
        )
    )
    out = HTMLResponse(html, status_code=status)
    for header, value in response.headers.items():
        if header == "set-cookie":
            out.headers.append(header, value)
    return out


def _flash(request: Request) -> dict[str, str] | None:
    done = request.query_params.get("done")
    if done in FLASH:
        kind, text = FLASH[done]
        count = request.query_params.get("n", "")
        if done == "cancelled" and count.isdigit() and len(count) < 7:
            noun = "order" if count == "1" else "orders"
            text = text.replace("Orders cancelled", f"{count} {noun} cancelled")
        return {"kind": kind, "text": text}
    return None


@router.post("/login")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: CsrfField = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    state = _state(request)
    target = _safe_next(next)
    if not csrf_ok(request, state, None, csrf_token):
        return _login_form(
            request,
            next=target,
            username=username,
            error="The sign-in form expired: please try again.",
            status=403,
        )
    try:
        tokens = api_login(request, state, username, password)
    except HTTPException as exc:
        if exc.status_code == 429:
            wait = (exc.headers or {}).get("Retry-After", "a few")
            message = (
                "Too many sign-in attempts for this account or from this address. "
                f"Sign-in is locked: try again in {wait} seconds."
            )
        else:
            message = "Wrong e-mail address or password."
        return _login_form(
            request, next=target, username=username, error=message, status=exc.status_code
        )
    if isinstance(tokens, Response):  # the API answered itself (never for a success)
        return _login_form(request, next=target, username=username, error="Sign-in failed.")
    response = RedirectResponse(target, status_code=303)
    set_login_cookies(response, request, state, tokens)
    return response


@router.post("/logout")
@page
def logout_submit(request: Request, csrf_token: CsrfField = None) -> Response:
    caller = _acting(request, csrf_token, role="viewer")
    logout(caller.principal, _state(request))
    response = RedirectResponse("/login?done=loggedout", status_code=303)
    clear_login_cookies(response)
    return response


# ---------------------------------------------------------------- the book


def _book_context(request: Request, caller: PageCaller, q: str, show: str) -> dict[str, Any]:
    state = _state(request)
    with state.read(caller.principal) as scope:
        book = load_book(scope)
    matched = filter_book(book.rows, query=q, show=show)
    return {
        "title": "Book",
        "active": "book",
        "as_of": book.as_of,
        "counts": {"total": len(book.rows), "breached": sum(r.triggered for r in book.rows)},
        "rows": matched[:BOOK_LIMIT],
        "matched": len(matched),
        "truncated": len(matched) > BOOK_LIMIT,
        "query": q,
        "show": show,
        "can_act": caller.can_act,
    }


Search = Annotated[str, Query(max_length=200)]
Show = Annotated[str, Query(pattern="^(all|breached|inside|proposed)$")]


@router.get("/households")
@page
def book_page(request: Request, q: Search = "", show: Show = "all") -> Response:
    caller = page_caller(request, _state(request))
    return render(request, "book.html", _book_context(request, caller, q, show), caller=caller)


@router.get("/households/rows")
@page
def book_rows(request: Request, q: Search = "", show: Show = "all") -> Response:
    caller = page_caller(request, _state(request))
    return render(
        request, "_book_rows.html", _book_context(request, caller, q, show), caller=caller
    )


@router.post("/households/plan-breached")
@page
def plan_breached(request: Request, csrf_token: CsrfField = None) -> Response:
    """Propose a plan for every household outside its bands that has none waiting."""
    caller = _acting(request, csrf_token)
    state = _state(request)
    with state.read(caller.principal) as scope:
        book = load_book(scope)
    todo = [r for r in book.rows if r.triggered and r.plan_status not in ("proposed", "approved")]
    from poise.scale import BookRequest, plan_book

    principal = caller.principal
    outcome = plan_book(
        state.engine,
        BookRequest(
            firm_id=principal.firm_id,
            household_ids=[r.id for r in todo],
            actor=principal.email,
            created_by=principal.user_id,
        ),
    )
    names = {r.id: r.name for r in todo}
    made = len(outcome.plan_ids)
    failed = [f"{names[o.household]}: {o.error}" for o in outcome.outcomes if o.error]
    text = f"{made} plan{'s' if made != 1 else ''} proposed"
    if failed:
        text += f"; {len(failed)} failed ({'; '.join(failed[:3])})"
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<span role="status">{_escape(text)}.</span>')
    return RedirectResponse("/households?show=proposed", status_code=303)


# ---------------------------------------------------------------- one household


def _valid_id(value: str) -> str:
    if not (1 <= len(value) <= 64) or not value.isalnum():
        raise NotFoundError("no such object")
    return value


def _household_context(request: Request, caller: PageCaller, household_id: str) -> dict[str, Any]:
    state = _state(request)
    household_id = _valid_id(household_id)
    with state.read(caller.principal) as scope:
        record = SqlHouseholdStore(scope).get(household_id)
        row = scope.get(HouseholdRow, household_id)
        ledger = SqlLedgerStore(scope)
        held = ledger.holdings(household_id)
        transactions = ledger.transactions(household_id)
        prices_name, table = prices_for(scope, row.prices, scope.firm().prices)
        latest = scope.session.scalar(
            scope.select(PlanRow)
            .where(PlanRow.household_id == household_id)
            .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
            .limit(1)
        )
        plan = plan_out(latest) if latest is not None else None
        connections = [
            {"id": c.id, "kind": c.kind, "api_key_hint": c.api_key_hint}
            for c in scope.session.scalars(scope.select(BrokerConnection))
        ]
    household = record.household
    context: dict[str, Any] = {
        "title": household.name,
        "active": "book",
        "household": {"id": household_id, "name": household.name},
        "policy": household.policy.describe(),
        "prices_name": prices_name,
        "backtest_years": BACKTEST_YEARS,
        "backtest_initial": BACKTEST_INITIAL,
        "plan": plan,
        "can_act": caller.can_act,
        "connections": connections,
        "holdings_error": None,
    }
    if held is None:
        context["holdings_error"] = (
            "No holdings imported yet (PUT /api/v1/households/{id}/holdings)."
        )
        return context
    try:
        valuation = value_household(
            household, held.holdings, table.frame, source=f"prices {prices_name}"
        )
    except PoiseError as exc:
        context["holdings_error"] = str(exc)
        return context
    lots = lot_rows(
        held.holdings,
        valuation.prices,
        valuation.as_of,
        identical_groups=household.identical_groups,
        transactions=transactions,
    )
    context.update(
        as_of=valuation.as_of,
        total_value=valuation.total_value,
        triggered=valuation.triggered,
        reasons=valuation.reasons,
        weights=valuation.rows,
        chart=weights_chart(valuation.rows, title=f"{household.name}: weights against targets"),
        accounts=lots_by_account(household, held.holdings, lots),
    )
    return context


@router.get("/households/{household_id}")
@page
def household_page(request: Request, household_id: str) -> Response:
    caller = page_caller(request, _state(request))
    return render(
        request, "household.html", _household_context(request, caller, household_id), caller=caller
    )


@router.get("/households/{household_id}/plan")
@page
def plan_fragment(request: Request, household_id: str) -> Response:
    caller = page_caller(request, _state(request))
    return render(
        request, "_plan.html", _household_context(request, caller, household_id), caller=caller
    )


def _refused(
    request: Request, caller: PageCaller, household_id: str, message: str, status: int
) -> Response:
    context = _household_context(request, caller, household_id)
    context["flash"] = {"kind": "error", "text": message}
    return render(request, "household.html", context, caller=caller, status=status)


@router.post("/households/{household_id}/plans")
@page
def propose(request: Request, household_id: str, csrf_token: CsrfField = None) -> Response:
    caller = _acting(request, csrf_token)
    household_id = _valid_id(household_id)
    try:
        create_plan(household_id, PlanRequest(), caller.principal, _state(request), None)
    except PoiseError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _refused(request, caller, household_id, f"No plan could be made: {exc}", 422)
    return RedirectResponse(f"/households/{household_id}?done=proposed#plan", status_code=303)


def _plan_household(request: Request, caller: PageCaller, plan_id: str) -> str:
    with _state(request).read(caller.principal) as scope:
        return scope.get(PlanRow, _valid_id(plan_id)).household_id


@router.post("/plans/{plan_id}/approve")
@page
def approve(request: Request, plan_id: str, csrf_token: CsrfField = None) -> Response:
    return _decide(request, plan_id, csrf_token, approve_plan, "approved")


@router.post("/plans/{plan_id}/reject")
@page
def reject(request: Request, plan_id: str, csrf_token: CsrfField = None) -> Response:
    return _decide(request, plan_id, csrf_token, reject_plan, "rejected")


def _decide(
    request: Request,
    plan_id: str,
    csrf_token: str | None,
    action: Callable[..., Any],
    done: str,
) -> Response:
    caller = _acting(request, csrf_token)
    household_id = _plan_household(request, caller, plan_id)
    try:
        action(plan_id, caller.principal, _state(request))
    except Conflict as exc:
        return _refused(request, caller, household_id, f"Not done: {exc}", 409)
    return RedirectResponse(f"/households/{household_id}?done={done}#plan", status_code=303)


@router.post("/plans/{plan_id}/send")
@page
def send(
    request: Request,
    plan_id: str,
    csrf_token: CsrfField = None,
    connection: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    caller = _acting(request, csrf_token)
    household_id = _plan_household(request, caller, plan_id)
    if not connection or re.fullmatch(r"[0-9a-f]{32}", connection) is None:
        return _refused(request, caller, household_id, "Choose a broker connection.", 422)
    try:
        send_plan(_state(request), caller.principal, plan_id, connection)
    except NotFoundError:
        return _refused(request, caller, household_id, "No such broker connection.", 422)
    except Conflict as exc:
        return _refused(request, caller, household_id, f"Not sent: {exc}", 409)
    except PoiseError as exc:  # the broker failed: the orders stay recorded; send again
        return _refused(request, caller, household_id, f"Not finished: {exc}", 502)
    return RedirectResponse(f"/households/{household_id}?done=sent#plan", status_code=303)


# ---------------------------------------------------------------- orders


OrderStateFilter = Annotated[
    str,
    Query(
        pattern="^(|new|submitting|submitted|partially_filled|filled|cancelled|rejected"
        "|expired|unknown)$"
    ),
]
HouseholdFilter = Annotated[str, Query(pattern=r"^[A-Za-z0-9]{0,64}$")]
ORDERS_LIMIT = 1000
"""Orders the blotter shows at most (the filters narrow it)."""
OPEN_STATES = ("new", "submitting", "submitted", "partially_filled", "unknown")


def _orders_context(
    request: Request, caller: PageCaller, order_state: str, household: str
) -> dict[str, Any]:
    from poise.service._blotter import ORDER_STATES, firm_orders

    state = _state(request)
    blotter = firm_orders(
        state,
        caller.principal,
        order_state=order_state or None,
        household=household or None,
        limit=ORDERS_LIMIT + 1,
    )
    with state.read(caller.principal) as scope:
        households = [
            (r.id, r.name)
            for r in scope.session.scalars(scope.select(HouseholdRow).order_by(HouseholdRow.name))
        ]
        names = dict(households)
        plans = [
            {
                **plan_out(p),
                "household_name": names.get(p.household_id, p.household_id),
            }
            for p in scope.session.scalars(
                scope.select(PlanRow)
                .where(
                    PlanRow.status.in_(
                        ("approved", "sent", "filled", "partially_filled", "expired")
                    )
                )
                .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
                .limit(500)
            )
        ]
    orders = blotter.orders
    return {
        "title": "Orders",
        "active": "orders",
        "orders": orders[:ORDERS_LIMIT],
        "truncated": len(orders) > ORDERS_LIMIT,
        "venues": blotter.venues,
        "open_count": sum(o["state"] in OPEN_STATES for o in orders),
        "open_states": OPEN_STATES,
        "states": ORDER_STATES,
        "households": households,
        "filters": {"state": order_state, "household": household},
        "plans": plans,
        "can_act": caller.can_act,
    }


@router.get("/orders")
@page
def orders_page(
    request: Request, state: OrderStateFilter = "", household: HouseholdFilter = ""
) -> Response:
    caller = page_caller(request, _state(request))
    return render(
        request, "orders.html", _orders_context(request, caller, state, household), caller=caller
    )


def _cancel_refused(request: Request, caller: PageCaller, message: str, status: int) -> Response:
    context = _orders_context(request, caller, "", "")
    context["flash"] = {"kind": "error", "text": message}
    return render(request, "orders.html", context, caller=caller, status=status)


def _cancel_done(request: Request, caller: PageCaller, order_id: str | None) -> Response:
    from poise.service._blotter import cancel_orders

    try:
        stopped = cancel_orders(_state(request), caller.principal, order_id)
    except Conflict as exc:
        return _cancel_refused(request, caller, f"Not cancelled: {exc}", 409)
    except NotFoundError:
        raise
    except PoiseError as exc:  # a venue failed: what was cancelled stays cancelled
        return _cancel_refused(request, caller, f"Not finished: {exc}; cancel again.", 502)
    return RedirectResponse(f"/orders?done=cancelled&n={len(stopped)}", status_code=303)


@router.post("/orders/cancel-all")
@page
def cancel_all_submit(
    request: Request,
    csrf_token: CsrfField = None,
    confirm: Annotated[str | None, Form(max_length=32)] = None,
) -> Response:
    """The kill switch; the form asks for confirmation first (``confirm=cancel-all``)."""
    caller = _acting(request, csrf_token)
    if confirm != "cancel-all":
        return _cancel_refused(request, caller, "Confirm to cancel every open order.", 422)
    return _cancel_done(request, caller, None)


@router.post("/orders/{order_id}/cancel")
@page
def cancel_submit(request: Request, order_id: str, csrf_token: CsrfField = None) -> Response:
    caller = _acting(request, csrf_token)
    if re.fullmatch(r"poise-[0-9a-f]{12}-[0-9]{3}", order_id) is None:
        raise NotFoundError("no such order")
    return _cancel_done(request, caller, order_id)


# ---------------------------------------------------------------- audit


def _audit_events(
    request: Request,
    caller: PageCaller,
    *,
    household: str,
    actor: str,
    action: str,
    start: date | None,
    end: date | None,
    limit: int | None,
    offset: int = 0,
) -> Iterator[dict[str, Any]]:
    with _state(request).read(caller.principal) as scope:
        query = scope.select(AuditEvent)
        if household:
            query = query.where(
                AuditEvent.object.contains(household)
                | cast(AuditEvent.detail, String).contains(household)
            )
        if actor:
            query = query.where(AuditEvent.actor.contains(actor.strip().lower()))
        if action:
            query = query.where(AuditEvent.action.startswith(action.strip()))
        if start:
            query = query.where(AuditEvent.at >= start.isoformat())
        if end:
            query = query.where(AuditEvent.at < (end + timedelta(days=1)).isoformat())
        query = query.order_by(AuditEvent.seq.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        for event in scope.session.scalars(query):
            yield event_to_dict(event)


AuditText = Annotated[str, Query(max_length=200)]


@router.get("/audit")
@page
def audit_page(
    request: Request,
    household: AuditText = "",
    actor: AuditText = "",
    action: AuditText = "",
    start: date | None = None,
    end: date | None = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    caller = page_caller(request, _state(request))
    filters: dict[str, Any] = {
        "household": household,
        "actor": actor,
        "action": action,
        "start": start,
        "end": end,
    }
    events = list(
        _audit_events(
            request,
            caller,
            household=household,
            actor=actor,
            action=action,
            start=start,
            end=end,
            limit=AUDIT_PAGE + 1,
            offset=offset,
        )
    )
    with _state(request).read(caller.principal) as scope:
        households = [
            (r.id, r.name)
            for r in scope.session.scalars(scope.select(HouseholdRow).order_by(HouseholdRow.name))
        ]
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(
        request,
        "audit.html",
        {
            "title": "Audit trail",
            "active": "audit",
            "events": events[:AUDIT_PAGE],
            "more": len(events) > AUDIT_PAGE,
            "offset": offset,
            "page_size": AUDIT_PAGE,
            "filters": filters,
            "households": households,
            "query": query,
        },
        caller=caller,
    )


@router.get("/audit.csv")
@page
def audit_csv(
    request: Request,
    household: AuditText = "",
    actor: AuditText = "",
    action: AuditText = "",
    start: date | None = None,
    end: date | None = None,
) -> Response:
    caller = page_caller(request, _state(request))
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["seq", "at", "actor", "action", "object", "detail", "prev_hash", "hash"]
    writer.writerow(columns)
    import json

    for event in _audit_events(
        request,
        caller,
        household=household,
        actor=actor,
        action=action,
        start=start,
        end=end,
        limit=None,
    ):
        event["detail"] = json.dumps(event["detail"], sort_keys=True)
        writer.writerow([_csv_cell(event[c]) for c in columns])
    stamp = datetime.now().strftime("%Y%m%d")
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="poise-audit-{stamp}.csv"'},
    )


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/audit/verify")
@page
def audit_verify(request: Request) -> Response:
    caller = page_caller(request, _state(request))
    with _state(request).read(caller.principal) as scope:
        checked, broken = verify_chain(scope.session)
    if broken is None:
        html = (
            f'<span class="badge ok">intact</span> {checked:,} events checked, every hash matches.'
        )
    else:
        html = (
            f'<span class="badge alert">broken</span> at event {broken.seq}: '
            f"{_escape(broken.reason)}."
        )
    return HTMLResponse(html)


# ---------------------------------------------------------------- settings


def _settings_context(request: Request, caller: PageCaller) -> dict[str, Any]:
    with _state(request).read(caller.principal) as scope:
        users = (
            [
                {"email": u.email, "role": u.role, "created_at": u.created_at}
                for u in scope.session.scalars(
                    select(User).where(User.firm_id == scope.firm_id).order_by(User.email)
                )
            ]
            if caller.principal.can("admin")
            else []
        )
        connections = [
            {"id": c.id, "kind": c.kind, "api_key_hint": c.api_key_hint, "created_at": c.created_at}
            for c in scope.session.scalars(scope.select(BrokerConnection))
        ]
        tokens = [
            {"id": t.id, "name": t.name, "created_at": t.created_at}
            for t in scope.session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == caller.principal.user_id, ApiToken.revoked_at.is_(None))
                .order_by(ApiToken.created_at)
            )
        ]
    return {
        "title": "Settings",
        "active": "settings",
        "users": users,
        "connections": connections,
        "tokens": tokens,
        "is_admin": caller.principal.can("admin"),
        "new_token": None,
        "errors": {},
    }


@router.get("/settings")
@page
def settings_page(request: Request) -> Response:
    caller = page_caller(request, _state(request))
    return render(request, "settings.html", _settings_context(request, caller), caller=caller)


def _settings_error(request: Request, caller: PageCaller, form: str, message: str) -> Response:
    context = _settings_context(request, caller)
    context["errors"] = {form: message}
    return render(request, "settings.html", context, caller=caller, status=422)


@router.post("/settings/password")
@page
def password_submit(
    request: Request,
    csrf_token: CsrfField = None,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    caller = _acting(request, csrf_token, role="viewer")
    if new_password != confirm_password:
        return _settings_error(request, caller, "password", "The new passwords differ.")
    if not current_password or not new_password:
        return _settings_error(request, caller, "password", "Fill in every password field.")
    try:
        change_password(
            PasswordChange(current_password=current_password, new_password=new_password),
            caller.principal,
            _state(request),
        )
    except HTTPException as exc:
        detail = exc.detail
        message = detail[0]["msg"] if isinstance(detail, list) and detail else str(detail)
        return _settings_error(request, caller, "password", f"Password not changed: {message}.")
    response = RedirectResponse("/login?done=password", status_code=303)
    clear_login_cookies(response)
    return response


@router.post("/settings/api-tokens")
@page
def token_create(
    request: Request,
    csrf_token: CsrfField = None,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    caller = _acting(request, csrf_token, role="viewer")
    if not name.strip():
        return _settings_error(request, caller, "token", "Give the token a name.")
    created = create_api_token(
        ApiTokenRequest(name=name.strip()), caller.principal, _state(request)
    )
    context = _settings_context(request, caller)
    context["new_token"] = {"name": created.name, "token": created.token}
    return render(request, "settings.html", context, caller=caller, status=201)


@router.post("/settings/api-tokens/{token_id}/revoke")
@page
def token_revoke(request: Request, token_id: str, csrf_token: CsrfField = None) -> Response:
    from poise.service._auth_routes import revoke_api_token

    caller = _acting(request, csrf_token, role="viewer")
    try:
        revoke_api_token(_valid_id(token_id), caller.principal, _state(request))
    except HTTPException as exc:
        if exc.status_code == 404:
            raise NotFoundError("no such token") from None
        raise
    return RedirectResponse("/settings?done=revoked", status_code=303)


@router.post("/settings/users")
@page
def user_create(
    request: Request,
    csrf_token: CsrfField = None,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    from poise.store import write_session
    from poise.store._admin import create_user

    caller = _acting(request, csrf_token, role="admin")
    try:
        with write_session(_state(request).engine) as session:
            create_user(
                session,
                email,
                firm=caller.firm,
                role=role,
                password=password,
                actor=caller.principal.email,
            )
    except PoiseError as exc:
        return _settings_error(request, caller, "user", f"User not added: {exc}")
    return RedirectResponse("/settings?done=user", status_code=303)


@router.post("/settings/broker-connections")
@page
def connection_create(
    request: Request,
    csrf_token: CsrfField = None,
    kind: Annotated[str, Form(max_length=16)] = "paper",
    api_key: Annotated[str, Form(max_length=500)] = "",
    api_secret: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    from pydantic import ValidationError

    from poise.service._book import ConnectionIn, create_connection

    caller = _acting(request, csrf_token, role="admin")
    try:
        body = ConnectionIn(
            kind=kind,  # type: ignore[arg-type]
            api_key=api_key or None,
            api_secret=api_secret or None,
        )
        create_connection(body, caller.principal, _state(request))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _settings_error(request, caller, "connection", f"Not added: {where}: {first['msg']}")
    except PoiseError as exc:
        return _settings_error(request, caller, "connection", f"Not added: {exc}")
    return RedirectResponse("/settings?done=connection", status_code=303)


# ---------------------------------------------------------------- install


class _SecurityHeaders:
    """Adds the content security policy and friends to every response outside ``/api/``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k, v)
                    for k, v in self.headers
                    if k not in present and not (static and k == b"cache-control")
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def install_dashboard(app: FastAPI) -> None:
    """Add the dashboard to the service's app: its pages at the root, its static files under
    ``/static`` and the browser-facing security headers."""
    from poise.service.web._backtest import router as backtest_router

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.include_router(backtest_router)
    app.add_middleware(_SecurityHeaders)
