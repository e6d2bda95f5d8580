"""poise as a service (extra ``poise[service]``): a FastAPI application over the store, with
authentication, firms and roles, under ``/api/v1`` (see DESIGN.md, "State, service, execution
and scale"). Every route calls :mod:`poise.app` for the work; none copies the engine.

Extending the app (dashboard pages, order routes): build it with :func:`create_app`, declare
the caller with the :data:`Viewer` / :data:`Advisor` / :data:`Admin` dependencies (or
:func:`require`), and reach the caller's firm only through ``state.read(caller)`` /
``state.write(caller)`` (a :class:`poise.store.FirmScope`).
"""

from poise.service._app import API_PREFIX, create_app, serve
from poise.service._deps import (
    ROLE_RANK,
    Admin,
    Advisor,
    Principal,
    ServiceState,
    State,
    Viewer,
    current_principal,
    require,
    service_state,
)
from poise.service._http import Conflict, ObjectId, documented
from poise.service._plans import (
    TRANSITIONS,
    IdempotencyKey,
    check_plan_current,
    plan_out,
    remember_response,
    replay_response,
    set_status,
)
from poise.service._settings import Settings

__all__ = [
    "API_PREFIX",
    "ROLE_RANK",
    "TRANSITIONS",
    "Admin",
    "Advisor",
    "Conflict",
    "IdempotencyKey",
    "ObjectId",
    "Principal",
    "ServiceState",
    "Settings",
    "State",
    "Viewer",
    "check_plan_current",
    "create_app",
    "current_principal",
    "documented",
    "plan_out",
    "remember_response",
    "replay_response",
    "require",
    "serve",
    "service_state",
    "set_status",
]
