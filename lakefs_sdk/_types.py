"""From the type names generated code records (``"Ref"``, ``"List[StorageConfig]"``) to
validators and serializers, resolved on first use and cached.

Generated API modules only name their models, so importing an API class imports no
model; the model module is imported the first time a response or body needs it. JSON is
always parsed once, in pydantic-core (``model_validate_json``), never via ``json.loads``
followed by a walk in Python.
"""

from __future__ import annotations

import datetime
import functools
import re
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable, Dict, List

if TYPE_CHECKING:  # pydantic is imported on first use, keeping API-class imports cheap
    from pydantic import BaseModel, TypeAdapter

_PRIMITIVES: Dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "bytes": bytes,
    "bytearray": bytes,
    "object": Any,
    "datetime": datetime.datetime,
    "date": datetime.date,
}
_GENERIC = re.compile(r"^(List|Dict)\[(.*)\]$")
_LIST: Any = List
_DICT: Any = Dict

# Response type names whose body is returned as it came, without parsing.
BINARY_TYPES = frozenset({"bytes", "bytearray", "file"})


@functools.cache
def model_class(name: str) -> type[BaseModel]:
    """The generated model class called ``name``."""
    models = import_module("lakefs_sdk.models")
    cls: type[BaseModel] = getattr(models, name)
    return cls


def python_type(type_name: str) -> Any:
    """The Python type for a generated type name: primitives, models, ``List[...]``, ``Dict[str, ...]``."""
    type_name = type_name.strip()
    primitive = _PRIMITIVES.get(type_name)
    if primitive is not None:
        return primitive
    generic = _GENERIC.match(type_name)
    if generic is None:
        return model_class(type_name)
    kind, inner = generic.groups()
    # Subscripted at run time with types found at run time: a value, not an annotation, for mypy.
    if kind == "List":
        return _LIST[python_type(inner)]
    key, _, value = inner.partition(",")
    return _DICT[python_type(key), python_type(value)]


@functools.cache
def type_adapter(type_name: str) -> TypeAdapter[Any]:
    """A cached pydantic ``TypeAdapter`` for a generated type name."""
    from pydantic import TypeAdapter

    return TypeAdapter(python_type(type_name))


def is_model(type_name: str) -> bool:
    """True when ``type_name`` names a generated model rather than a primitive or container."""
    return type_name not in _PRIMITIVES and _GENERIC.match(type_name) is None


def decode_json(type_name: str, body: bytes) -> Any:
    """Parse and validate a JSON body as ``type_name`` in one pydantic-core pass."""
    return json_decoder(type_name)(body)


@functools.cache
def json_decoder(type_name: str) -> Callable[[bytes], Any]:
    """The function that parses and validates a JSON body as ``type_name``."""
    if is_model(type_name):
        cls = model_class(type_name)
        if not cls.__pydantic_complete__:  # pragma: no cover - generated models are complete once imported
            return cls.model_validate_json
        # The model's own validator: what model_validate_json calls, without its per-call checks.
        validate: Callable[[bytes], Any] = cls.__pydantic_validator__.validate_json
        return validate
    return type_adapter(type_name).validate_json


def validate_value(type_name: str, value: Any) -> Any:
    """Validate a Python value (e.g. a body argument given as dicts) as ``type_name``."""
    if is_model(type_name):
        cls = model_class(type_name)
        return value if isinstance(value, cls) else cls.model_validate(value)
    return type_adapter(type_name).validate_python(value)


def encode_json(value: Any) -> bytes:
    """Serialize a request body: models as their ``to_dict()`` (JSON names, no unset None)."""
    import pydantic_core

    return pydantic_core.to_json(_jsonable(value))


def _jsonable(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
