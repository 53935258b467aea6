"""Helpers for the per-operation contract tests (tests/contract/test_<tag>.py).

``Wire`` looks at what one test sent through a Prism proxy; ``assert_typed`` checks that a
decoded result is a fully typed model, all the way down. Nothing here talks to the network.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple, TypeVar, get_args, get_origin
from urllib.parse import unquote

from pydantic import BaseModel, TypeAdapter

import lakefs_sdk

from support.gate import Gate
from support.recording_proxy import BASE_PATH, Exchange, PrismProxy

M = TypeVar("M", bound=BaseModel)

STATIC, DYNAMIC = "static", "dynamic"
SYNC, ASYNC = "sync", "aio"

_DATETIME = TypeAdapter(datetime.datetime)

# Shared by tests/contract/conftest.py and the coverage gate (a conftest is not importable).
CONTRACT_GATE = Gate(Path(__file__).resolve().parents[1] / "contract", "contract coverage")


def basic_auth_configuration(host: str) -> lakefs_sdk.Configuration:
    """A basic-auth configuration with fast retries (as tests/conftest.py builds for ``client``)."""
    configuration = lakefs_sdk.Configuration(
        host=host, username="AKIAIOSFODNN7EXAMPLE", password="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    configuration.retry_backoff = 0.01
    return configuration


def sent_by_async_client(exchange: Exchange) -> bool:
    """True for a request the asyncio client sent (through ``AioBridge``, which marks its requests)."""
    return exchange.request.header("X-Test-Transport") == "aio"


def succeeded(exchange: Exchange) -> bool:
    """True for an exchange Prism answered with a 2xx or 3xx and no spec violation."""
    return 200 <= exchange.status < 400 and not exchange.violations


@dataclass
class Wire:
    """The exchanges one test caused on one proxy (static or dynamic Prism)."""

    proxy: PrismProxy
    mode: str
    start: int

    @property
    def static(self) -> bool:
        return self.mode == STATIC

    def exchanges(self) -> List[Exchange]:
        return self.proxy.since(self.start)

    def only(self, operation_id: str, status: Optional[int] = None) -> Exchange:
        """The single exchange of this test: it addressed ``operation_id`` and succeeded."""
        sent = self.exchanges()
        summary = [f"{e.operation_id}: {e.method} {e.target} -> {e.status}" for e in sent]
        assert [e.operation_id for e in sent] == [operation_id], f"expected one {operation_id} request, got {summary}"
        exchange = sent[0]
        if status is None:
            assert succeeded(exchange), f"{operation_id}: {exchange.status} {exchange.violations}"
        else:
            assert exchange.status == status, f"{operation_id}: status {exchange.status}, expected {status}"
        return exchange


def api_path(exchange: Exchange) -> str:
    """The raw (still percent-encoded) request path below the /api/v1 base path."""
    path = exchange.request.path
    assert path.startswith(BASE_PATH + "/"), path
    return path[len(BASE_PATH) :]


def segments(exchange: Exchange) -> List[str]:
    """The decoded path segments below /api/v1 (an encoded "/" stays inside its segment)."""
    return [unquote(s) for s in api_path(exchange).split("/")[1:]]


def query(exchange: Exchange) -> List[Tuple[str, str]]:
    """The query as decoded (name, value) pairs, in order; "+" is a literal plus, never a space."""
    raw = exchange.request.query
    if not raw:
        return []
    pairs = []
    for part in raw.split("&"):
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def query_dict(exchange: Exchange) -> dict[str, str]:
    """The query as a dict; fails if a name is repeated."""
    pairs = query(exchange)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"repeated query parameter in {exchange.target}"
    return dict(pairs)


def json_body(exchange: Exchange) -> Any:
    """The request body, parsed as JSON, after checking it was sent as JSON."""
    assert exchange.request.header("Content-Type") == "application/json", exchange.request.headers
    return json.loads(exchange.request.body)


def assert_typed(value: Any, cls: type[M]) -> M:
    """``value`` is a ``cls`` whose nested values are typed models, and it survives a JSON round trip.

    Checks every level: required fields are present (None only where the spec allows it),
    and every field declared as a model (or a list / dict of models) holds model instances,
    never raw dicts.
    """
    assert isinstance(value, cls), f"expected {cls.__name__}, got {type(value).__name__}: {value!r}"
    _check_fields(value, cls.__name__)
    again = cls.model_validate_json(value.model_dump_json(by_alias=True))
    assert again == value, f"{cls.__name__} does not survive a JSON round trip"
    return value


def _check_fields(model: BaseModel, where: str) -> None:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if field.is_required() and value is None:
            assert _allows_none(field.annotation), f"{where}.{name}: required field is None"
        _check_value(value, field.annotation, f"{where}.{name}")


def _check_value(value: Any, annotation: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        assert isinstance(value, annotation), f"{where}: expected {annotation.__name__}, got {type(value).__name__}"
        _check_fields(value, where)
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args:
        assert isinstance(value, list), f"{where}: expected a list, got {type(value).__name__}"
        for i, item in enumerate(value):
            _check_value(item, args[0], f"{where}[{i}]")
    elif origin is dict and len(args) == 2:
        assert isinstance(value, dict), f"{where}: expected a dict, got {type(value).__name__}"
        for key, item in value.items():
            _check_value(item, args[1], f"{where}[{key!r}]")
    elif args and origin is not None and type(None) in args and len(args) == 2:  # Optional[X]
        _check_value(value, next(a for a in args if a is not type(None)), where)
    elif isinstance(value, BaseModel):
        _check_fields(value, where)


def _allows_none(annotation: Any) -> bool:
    return annotation is None or type(None) in get_args(annotation)


def assert_decoded(value: Any, exchange: Exchange) -> None:
    """``value`` holds exactly what the JSON response body of ``exchange`` said.

    Every field the model knows is compared with the received JSON (unknown fields a newer
    server may send are ignored); a field absent from the JSON holds its default.
    """
    raw = json.loads(exchange.response_body)
    _compare(value, raw, "response")


def assert_result(value: Any, cls: type[M], exchange: Exchange) -> M:
    """``assert_typed`` and ``assert_decoded`` together: the typed result of ``exchange``."""
    assert_typed(value, cls)
    assert_decoded(value, exchange)
    return value


def _compare(value: Any, raw: Any, where: str) -> None:
    if isinstance(value, BaseModel):
        assert isinstance(raw, dict), f"{where}: model {type(value).__name__} from {raw!r}"
        for name, field in type(value).model_fields.items():
            key = field.alias or name
            if key in raw:
                _compare(getattr(value, name), raw[key], f"{where}.{key}")
            else:
                default = None if field.is_required() else field.get_default(call_default_factory=True)
                assert getattr(value, name) == default, (
                    f"{where}.{key}: absent from the JSON but {getattr(value, name)!r}"
                )
    elif isinstance(value, list):
        assert isinstance(raw, list) and len(raw) == len(value), f"{where}: {value!r} from {raw!r}"
        for i, (item, raw_item) in enumerate(zip(value, raw, strict=True)):
            _compare(item, raw_item, f"{where}[{i}]")
    elif isinstance(value, dict):
        assert isinstance(raw, dict) and raw.keys() == value.keys(), f"{where}: {value!r} from {raw!r}"
        for key in raw:
            _compare(value[key], raw[key], f"{where}[{key!r}]")
    elif isinstance(value, datetime.datetime):
        assert isinstance(raw, str) and value == _DATETIME.validate_python(raw), (
            f"{where}: {value!r} decoded from {raw!r}"
        )
    elif isinstance(value, float) and type(raw) is int:
        assert value == raw, f"{where}: {value!r} decoded from {raw!r}"
    else:
        assert type(value) is type(raw) and value == raw, f"{where}: {value!r} decoded from {raw!r}"
