"""Round trips from the plan: for each resource the plan creates and reads, a record is created
with a valid body (built from the OpenAPI request schema), read back by list and by id, changed
where an update endpoint exists, read back after a restart of the backend, deleted where a delete
endpoint exists and seen gone. Blocking (an HTTP client): the tier runs it in a worker thread.

A request the app refuses with a 4xx is its own choice (a validator the schema does not show):
the round trip of that resource stops there and nothing is reported; a 5xx or no answer is.
A planned endpoint the app does not serve is the static contract's problem (`endpoint-missing`),
never this module's: only the operations the OpenAPI schema has are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from protocol.plan import Plan
from server.checks.behaviour import findings as codes
from server.checks.behaviour.findings import Exchange, Finding
from server.checks.behaviour.openapi import (
    Operation,
    changed_body,
    example,
    operations,
    request_body_schema,
)
from server.checks.contract import path_matches

log = logging.getLogger(__name__)

TIMEOUT = 10.0


@dataclass(frozen=True)
class Resource:
    collection: str  # /api/tasks
    create: Operation
    list: Operation | None
    detail: Operation | None  # GET /api/tasks/{task_id}
    update: Operation | None  # PATCH (or PUT) of the same
    delete: Operation | None


def _is_item_of(operation: Operation, collection: str) -> bool:
    inner = operation.path.rstrip("/")
    head, _, last = inner.rpartition("/")
    return (
        head.rstrip("/") == collection.rstrip("/")
        and last.startswith("{")
        and last.endswith("}")
        and len(operation.path_parameters) == 1
    )


def resources(plan: Plan, schema: dict[str, Any]) -> list[Resource]:
    """The resources the plan creates (a POST endpoint) and reads (a list or a detail) that the
    app serves, with the operations the app has on them."""
    served = operations(schema)
    found = []
    for endpoint in plan.api_endpoints:
        if endpoint.method != "POST":
            continue
        create = next(
            (o for o in served if o.method == "POST" and path_matches(o.path, endpoint.path)),
            None,
        )
        if create is None or create.path_parameters:
            continue
        collection = create.path

        def item(*methods: str, collection: str = collection) -> Operation | None:
            return next(
                (
                    o
                    for m in methods
                    for o in served
                    if o.method == m and _is_item_of(o, collection)
                ),
                None,
            )

        listing = next(
            (
                o
                for o in served
                if o.method == "GET" and o.path.rstrip("/") == collection.rstrip("/")
            ),
            None,
        )
        resource = Resource(
            collection, create, listing, item("GET"), item("PATCH", "PUT"), item("DELETE")
        )
        if (resource.list or resource.detail) and resource not in found:
            found.append(resource)
    return found


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return value.removesuffix("Z").removesuffix("+00:00")
    return value


def same_fields(sent: dict[str, Any], record: Any) -> bool:
    """Whether `record` holds what was sent (the fields it has; a date-time's zone aside)."""
    if not isinstance(record, dict):
        return False
    return all(_text(record[key]) == _text(value) for key, value in sent.items() if key in record)


def record_id(record: Any) -> Any:
    if not isinstance(record, dict):
        return None
    if record.get("id") is not None:
        return record["id"]
    return next((v for k, v in record.items() if k.lower().endswith("id") and v is not None), None)


def listed_records(answer: Any) -> list[Any] | None:
    """The records of a list answer: the list itself, or the first list an object holds
    (`{"items": [...]}`)."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict):
        return next((v for v in answer.values() if isinstance(v, list)), None)
    return None


@dataclass
class Record:
    resource: Resource
    sent: dict[str, Any]
    id: Any
    expected: dict[str, Any] = field(default_factory=dict)  # what it should hold now


class RoundTrips:
    def __init__(self, client: httpx.Client, schema: dict[str, Any]) -> None:
        self.client = client
        self.schema = schema
        self.found: list[Finding] = []

    # --- requests --------------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: Any = None) -> tuple[Exchange, Any]:
        try:
            try:
                response = self.client.request(method, path, json=body, timeout=TIMEOUT)
            except httpx.RemoteProtocolError:
                # A kept-alive connection the server closed (uvicorn does after a 500): once more,
                # on a new one. A second failure is the answer.
                response = self.client.request(method, path, json=body, timeout=TIMEOUT)
        except httpx.HTTPError as error:
            return Exchange(method, path, body, 0, f"{type(error).__name__}: {error}"), None
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        return Exchange(method, path, body, response.status_code, response.text), data

    def _report(self, code: str, operation: Operation, what: str, exchange: Exchange) -> None:
        self.found.append(Finding(code, operation.method, operation.path, what, exchange))

    def _failed(self, operation: Operation, what: str, exchange: Exchange) -> bool:
        """Whether the step failed: a 5xx (or no answer) is reported; a 4xx stops quietly."""
        if exchange.status == 0 or exchange.status >= 500:
            self._report(codes.ROUNDTRIP, operation, what, exchange)
            return True
        return not 200 <= exchange.status < 300

    @staticmethod
    def _item_path(operation: Operation, identifier: Any) -> str:
        (name,) = operation.path_parameters
        return operation.path.replace("{" + name + "}", str(identifier))

    def _find(self, record: Record) -> tuple[bool | None, Any, Exchange | None]:
        """Whether the list holds the record (None: no list to ask), the record as read (by id
        where possible, else from the list), and the list's exchange."""
        resource = record.resource
        listed: bool | None = None
        read: Any = None
        exchange = None
        if resource.list is not None:
            exchange, data = self._send("GET", resource.list.path)
            records = listed_records(data) if 200 <= exchange.status < 300 else None
            if records is not None:
                matches = [
                    r
                    for r in records
                    if (record.id is not None and record_id(r) == record.id)
                    or (record.id is None and same_fields(record.sent, r))
                ]
                listed = bool(matches)
                read = matches[0] if matches else None
        return listed, read, exchange

    # --- the steps -------------------------------------------------------------------------------

    def create(self, resource: Resource) -> Record | None:
        schema = request_body_schema(self.schema, resource.create)
        body = example(schema) if schema is not None else None
        if not isinstance(body, dict):
            return None
        exchange, data = self._send("POST", resource.create.path, body)
        if self._failed(resource.create, "Creating a record with a valid body failed", exchange):
            return None
        record = Record(resource, body, record_id(data), dict(body))
        listed, _, list_exchange = self._find(record)
        if listed is False and list_exchange is not None:
            self._report(
                codes.NOT_STORED,
                resource.create,
                f"A record created with {exchange.describe()} is not stored: "
                f"the list does not hold it",
                list_exchange,
            )
            return None
        if resource.detail is not None and record.id is not None:
            path = self._item_path(resource.detail, record.id)
            got, read = self._send("GET", path)
            if got.status == 404 and listed is None:
                self._report(
                    codes.NOT_STORED,
                    resource.create,
                    f"A record created with {exchange.describe()} is not stored",
                    got,
                )
                return None
            what = "Reading a record just created by its id failed"
            if self._failed(resource.detail, what, got):
                return record
            if not same_fields(body, read):
                self._report(
                    codes.NOT_STORED,
                    resource.create,
                    f"A record created with {body_of(body)} reads back different",
                    got,
                )
        return record

    def update(self, record: Record) -> None:
        resource = record.resource
        if resource.update is None or record.id is None:
            return
        schema = request_body_schema(self.schema, resource.update)
        body = changed_body(schema, record.expected) if schema is not None else None
        if body is None:
            return
        path = self._item_path(resource.update, record.id)
        exchange, _ = self._send(resource.update.method, path, body)
        if self._failed(resource.update, "Changing a record with a valid body failed", exchange):
            return
        previous = dict(record.expected)
        record.expected.update(body)
        read = self._read(record)
        if read is not None and not same_fields(body, read[1]):
            record.expected = previous
            self._report(
                codes.NOT_STORED,
                resource.update,
                f"A change made with {exchange.describe()} is not stored",
                read[0],
            )

    def _read(self, record: Record) -> tuple[Exchange, Any] | None:
        resource = record.resource
        if resource.detail is not None and record.id is not None:
            exchange, data = self._send("GET", self._item_path(resource.detail, record.id))
            if 200 <= exchange.status < 300:
                return exchange, data
        listed, read, list_exchange = self._find(record)
        if listed and list_exchange is not None:
            return list_exchange, read
        return None

    def survived(self, record: Record) -> None:
        """After the backend's restart: the record is still there, as it was left."""
        listed, _, exchange = self._find(record)
        gone = listed is False
        if listed is None and record.resource.detail is not None and record.id is not None:
            exchange, _ = self._send("GET", self._item_path(record.resource.detail, record.id))
            gone = exchange.status == 404
        if gone and exchange is not None:
            self._report(
                codes.NOT_STORED,
                record.resource.create,
                f"A record created with {body_of(record.sent)} does not survive a restart of "
                "the backend (kept in memory, not in the database)",
                exchange,
            )

    def delete(self, record: Record) -> None:
        resource = record.resource
        if resource.delete is None or record.id is None:
            return
        exchange, _ = self._send("DELETE", self._item_path(resource.delete, record.id))
        if self._failed(resource.delete, "Deleting a record failed", exchange):
            return
        listed, _, list_exchange = self._find(record)
        if listed and list_exchange is not None:
            self._report(
                codes.NOT_DELETED,
                resource.delete,
                f"A record deleted with {exchange.describe()} is still listed",
                list_exchange,
            )
            return
        if resource.detail is not None:
            got, _ = self._send("GET", self._item_path(resource.detail, record.id))
            if 200 <= got.status < 300:
                self._report(
                    codes.NOT_DELETED,
                    resource.delete,
                    f"A record deleted with {exchange.describe()} is still there",
                    got,
                )


def body_of(body: Any) -> str:
    return codes.body_text(body) if body is not None else "no body"


def run(
    base_url: str, plan: Plan, schema: dict[str, Any], restart: Callable[[], None]
) -> list[Finding]:
    """Every resource's round trip; `restart` restarts the backend once, between the writes and
    the deletes (the records must survive it)."""
    with httpx.Client(base_url=base_url, trust_env=False) as client:
        trips = RoundTrips(client, schema)
        records = []
        for resource in resources(plan, schema):
            record = trips.create(resource)
            if record is not None:
                trips.update(record)
                records.append(record)
        if records:
            restart()
            for record in records:
                trips.survived(record)
            for record in records:
                trips.delete(record)
        return trips.found
