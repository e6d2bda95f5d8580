"""schemathesis against the OpenAPI document, on both databases: no 500, and every status
code answered is documented for its route, with the documented content type and schema.
Bounded: a few generated examples per operation (the whole run stays near a minute)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import HOLDINGS_CSV, Api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12


def test_api_conforms_to_its_openapi_document(api: Api) -> None:
    firm = api.firm(("admin",))
    token = firm.call("admin", "POST", "/auth/api-tokens", json={"name": "fuzz"}).json()["token"]
    hid = firm.household("admin")
    firm.call(
        "admin",
        "PUT",
        f"/households/{hid}/holdings",
        content=HOLDINGS_CSV,
        headers={"content-type": "text/csv"},
    )
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app)
    auth = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            headers = {**(case.headers or {}), **auth}
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 20
    print(sorted(statuses.items()))
    # the fuzzing reached the routes, not only the validation in front of them
    assert sum(statuses.values()) >= operations * 5
    assert statuses.get(200, 0) + statuses.get(201, 0) > 0
    assert statuses.get(422, 0) > 0
    assert not failures, "\n\n".join(failures)
