"""``LakeFSModel``: the base class of every generated model.

Models are plain pydantic v2 models. This base adds the helper methods that code written
for the upstream ``lakefs-sdk`` calls (``to_dict``, ``from_json``, ``dict()``, ``parse_obj``
...), implemented on pydantic v2 so that none of them emits a deprecation warning, and
keeps secret fields (passwords, secret keys, tokens) out of ``repr()`` and ``str()``.

It also holds the validators generated models attach from the spec: enum values (the
spec's, or those lakeFS checks where the spec lists none: ``x-lakefs-enum`` hints), string
patterns, and the leniency for the places where a real lakeFS server departs from its
spec (``x-lakefs-server-deviations`` hints in ``api/openapi.yaml``).
"""

from __future__ import annotations

import functools
import pprint
import re
from typing import (
    Annotated,
    Any,
    Callable,
    ClassVar,
    Dict,
    FrozenSet,
    Iterable,
    Literal,
    Optional,
    Tuple,
    Union,
    get_args,
    get_origin,
)

import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.main import IncEx
from typing_extensions import Self

from lakefs_sdk._redact import redact_value

# Validation context key with which ``from_dict`` says that its data is a server answer.
SERVER_ANSWER = "lakefs_sdk.server_answer"

# The zero value of each type a lenient field may have: what Go's JSON encoder leaves out or
# sends as null when the server's value is empty.
_ZERO_FACTORIES: Dict[Any, Callable[[], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: bool,
    list: list,
    dict: dict,
}


class LakeFSModel(BaseModel):
    """Base of all lakeFS models: validated on construction and on assignment.

    Fields are set by their Python name or by their JSON name (``CommitCreation(date=1)``
    and ``CommitCreation(var_date=1)`` are the same); unknown JSON fields are ignored so
    that newer servers do not break older clients.
    """

    model_config = ConfigDict(
        validate_by_name=True,
        validate_by_alias=True,
        validate_assignment=True,
        protected_namespaces=(),
    )

    # JSON names of fields the spec marks ``nullable``: an explicit ``None`` is sent as null.
    _nullable_fields: ClassVar[FrozenSet[str]] = frozenset()

    @staticmethod
    def enum_validator(
        field: str,
        *,
        also: Iterable[str] = (),
        from_server: Iterable[str] = (),
        any_in_answers: bool = False,
    ) -> Any:
        """Build a validator that accepts only the values of ``field``'s ``Literal`` type (or None).

        The allowed values are read from the field's annotation (``Optional[Literal['a', 'b']]``)
        the first time a value is checked, so the spec's values are written once, in the type.
        It runs around the type check, so a wrong value gets this message (listing the allowed
        values) rather than pydantic's. Beyond those values:

        - ``also``: values accepted everywhere and kept as given, although the type leaves
          them out (``""``, which lakeFS takes as "unset" for a merge strategy);
        - ``from_server``: values a real lakeFS server sends that the spec's enum lacks: they
          are in the ``Literal`` (a value read from an answer may be one of them), accepted
          when a server answer is decoded (see :meth:`zero_when_absent`), refused in a model
          built in Python;
        - ``any_in_answers``: every string is accepted in a server answer (the spec lists no
          values; the ``Literal`` holds the ones lakeFS accepts in a request).
        """
        also_values = tuple(also)
        server_values = tuple(from_server)
        allowed_by_class: Dict[type, Tuple[Any, ...]] = {}

        def read_allowed(cls: type[BaseModel]) -> Tuple[Any, ...]:
            """Read ``cls``'s allowed values from its annotation, once (callers look in the cache first)."""
            literal = literal_values(cls.model_fields[field].annotation)
            allowed = allowed_by_class[cls] = tuple(v for v in literal if v not in server_values)
            return allowed

        if not (also_values or server_values or any_in_answers):
            # Only the Literal's values: checked before the type, which then has nothing to refuse
            # but None on a required field. A "before" validator costs pydantic-core far less per
            # value than a "wrap" one taking the validation info (a listing decodes 1,000 of them).
            def check_listed(cls: type[BaseModel], value: Any) -> Any:
                allowed = allowed_by_class.get(cls) or read_allowed(cls)
                if value is None or value in allowed:
                    return value  # None: the type decides (Optional or required)
                raise ValueError(f"must be one of {allowed!r}, got {value!r}")

            listed: Any = classmethod(check_listed)  # pydantic's stubs type only plain functions here
            return field_validator(field, mode="before")(listed)

        def check(cls: type[BaseModel], value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
            allowed = allowed_by_class.get(cls) or read_allowed(cls)
            if value is None:
                return handler(value)  # the type decides on None (Optional or required)
            if value in allowed:
                return value  # what the Literal would give back
            if isinstance(value, str):
                if value in also_values:
                    return value
                if _is_server_answer(info) and (any_in_answers or value in server_values):
                    return value
            raise ValueError(f"must be one of {allowed!r}, got {value!r}")

        validator: Any = classmethod(check)  # pydantic's stubs type only plain functions here
        return field_validator(field, mode="wrap")(validator)

    @staticmethod
    def zero_when_absent(*json_names: str) -> Any:
        """Build a validator for fields a real lakeFS server may leave out or send as null.

        When a server answer is decoded (JSON: every API response, ``from_json``,
        ``model_validate_json``; or ``from_dict``), a missing or null value of one of
        ``json_names`` becomes the field's zero value (``""``, ``[]``, ``{}``, ``0``,
        ``False``), so the field keeps its declared type. A model built in Python (its
        constructor, ``model_validate``) is checked as the spec says: what is sent does not change.
        """
        names = tuple(json_names)

        def fill(cls: type[BaseModel], data: Any, info: ValidationInfo) -> Any:
            if not isinstance(data, dict) or not _is_server_answer(info):
                return data
            return _fill_zero_values(data, zero_values(cls, names))

        validator: Any = classmethod(fill)  # pydantic's stubs type only plain functions here
        return model_validator(mode="before")(validator)

    @staticmethod
    def pattern_validator(field: str, pattern: str) -> Any:
        """Build a validator that accepts only strings matching the spec's ``pattern`` (or None)."""
        regex = re.compile(pattern)

        def check(cls: type, value: Any) -> Any:
            if value is not None and not regex.search(value):
                raise ValueError(f"must match {pattern!r}, got {value!r}")
            return value

        return field_validator(field)(classmethod(check))

    # -- conversions with the upstream lakefs-sdk semantics --------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """Return the JSON-ready dict sent on the wire: JSON names, ``None`` fields left out.

        A ``nullable`` field explicitly set to ``None`` is kept as ``None``.
        """
        data = self.model_dump(by_alias=True, exclude_none=True)
        _restore_nulls(self, data)
        return data

    def to_json(self) -> str:
        """Return :meth:`to_dict` as a JSON string."""
        return pydantic_core.to_json(self.to_dict()).decode()

    def to_str(self) -> str:
        """Return a readable multi-line representation (secret fields masked)."""
        return pprint.pformat({k: redact_value(k, v) for k, v in self.model_dump(by_alias=True).items()})

    @classmethod
    def from_dict(cls, obj: Optional[Any]) -> Optional[Self]:
        """Build an instance from a dict keyed by JSON or Python names; ``None`` gives ``None``.

        As upstream, a ``None`` value for a field that has a default (at any depth) gives that default.
        """
        if obj is None:
            return None
        if isinstance(obj, dict):
            obj = _nulls_to_defaults(cls, obj)
        return cls.model_validate(obj, context={SERVER_ANSWER: True})

    @classmethod
    def from_json(cls, json_str: Union[str, bytes, bytearray]) -> Self:
        """Parse and validate a JSON document in one pass (pydantic-core)."""
        return cls.model_validate_json(json_str)

    # -- pydantic v1 method names kept for existing callers, without deprecation warnings ---

    def dict(
        self,
        *,
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        by_alias: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
    ) -> Dict[str, Any]:
        """Same as ``model_dump``; kept because upstream code calls the pydantic v1 name."""
        return self.model_dump(
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )

    def json(
        self,
        *,
        include: IncEx | None = None,
        exclude: IncEx | None = None,
        by_alias: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        encoder: Optional[Callable[[Any], Any]] = None,
        models_as_dict: bool = True,
        indent: Optional[int] = None,
        **_ignored: Any,
    ) -> str:
        """Same as ``model_dump_json``; kept because upstream code calls the pydantic v1 name.

        ``encoder`` and ``models_as_dict`` (pydantic v1 options) are accepted and ignored.
        """
        return self.model_dump_json(
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            indent=indent,
        )

    @classmethod
    def parse_obj(cls, obj: Any) -> Self:
        """Same as ``model_validate`` (pydantic v1 name)."""
        return cls.model_validate(obj)

    @classmethod
    def parse_raw(cls, b: Union[str, bytes], **_ignored: Any) -> Self:
        """Same as ``model_validate_json`` (pydantic v1 name)."""
        return cls.model_validate_json(b)

    def copy(
        self, *, update: Optional[Dict[str, Any]] = None, deep: bool = False, **_ignored: Any
    ) -> Self:
        """Same as ``model_copy`` (pydantic v1 name)."""
        return self.model_copy(update=update, deep=deep)

    # -- keep secrets and presigned-URL signatures out of repr() and str() -----------------

    def __repr_args__(self) -> Iterable[tuple[Optional[str], Any]]:
        for name, value in super().__repr_args__():
            yield name, (redact_value(name, value) if name else value)


def literal_values(annotation: Any) -> Tuple[Any, ...]:
    """The values of the ``Literal`` in ``annotation`` (``Optional[Literal['a', 'b']]`` -> ``('a', 'b')``).

    Raises ``TypeError`` when the annotation holds no ``Literal``: an enum validator on such
    a field could not know its values.
    """
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)
    for arg in get_args(annotation) if origin in (Union, Annotated) else ():
        if arg is not type(None) and get_origin(arg) in (Literal, Union, Annotated):
            return literal_values(arg)
    raise TypeError(f"{annotation!r} holds no Literal type")


def _is_server_answer(info: ValidationInfo) -> bool:
    context = info.context
    return info.mode == "json" or (isinstance(context, dict) and bool(context.get(SERVER_ANSWER)))


@functools.cache
def zero_values(model: type[BaseModel], json_names: Tuple[str, ...]) -> Tuple[Tuple[str, str, Callable[[], Any]], ...]:
    """(JSON name, Python name, zero factory) of each field of ``model`` named in ``json_names``.

    Raises ``TypeError`` for a name that is no field of ``model``, or a field whose type has
    no zero value (a nested model, a ``Literal``): such a hint cannot be honoured.
    """
    found = []
    for json_name in json_names:
        match = [(name, f) for name, f in model.model_fields.items() if (f.alias or name) == json_name]
        if not match:
            raise TypeError(f"{model.__name__} has no field {json_name!r}")
        name, field = match[0]
        factory = _zero_factory(field.annotation)
        if factory is None:
            raise TypeError(f"{model.__name__}.{name}: type {field.annotation!r} has no zero value")
        found.append((json_name, name, factory))
    return tuple(found)


def _zero_factory(annotation: Any) -> Optional[Callable[[], Any]]:
    """The zero value factory of ``annotation`` (``StrictStr`` -> ``str``, ``List[X]`` -> ``list``), if any."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _zero_factory(get_args(annotation)[0])
    if origin is Union:
        present = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _zero_factory(present[0]) if len(present) == 1 else None
    return _ZERO_FACTORIES.get(origin if origin is not None else annotation)


def _fill_zero_values(data: Dict[str, Any], zeros: Tuple[Tuple[str, str, Callable[[], Any]], ...]) -> Dict[str, Any]:
    """``data``, or a copy of it in which each missing or null field of ``zeros`` holds its zero value."""
    result: Optional[Dict[str, Any]] = None
    for json_name, name, factory in zeros:
        if data.get(json_name) is not None or data.get(name) is not None:
            continue
        if result is None:
            result = dict(data)
        result.pop(name, None)
        result[json_name] = factory()
    return data if result is None else result


def _nulls_to_defaults(model: type[BaseModel], obj: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of ``obj`` without the ``None`` values of fields whose default is not ``None``."""
    result = dict(obj)
    for name, field in model.model_fields.items():
        for key in {field.alias or name, name}:
            if key not in result:
                continue
            if result[key] is not None:
                result[key] = _nested_nulls_to_defaults(field.annotation, result[key])
            elif not field.is_required() and field.get_default(call_default_factory=True) is not None:
                del result[key]
    return result


def _nested_nulls_to_defaults(annotation: Any, value: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _nulls_to_defaults(annotation, value) if isinstance(value, dict) else value
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args and isinstance(value, list):
        return [_nested_nulls_to_defaults(args[0], item) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _nested_nulls_to_defaults(args[1], item) for k, item in value.items()}
    for arg in args:  # Optional[X], Annotated[X, ...]
        if (isinstance(arg, type) and issubclass(arg, BaseModel)) or get_origin(arg) in (list, dict):
            return _nested_nulls_to_defaults(arg, value)
    return value


def _restore_nulls(model: BaseModel, data: Dict[str, Any]) -> None:
    """Put back explicit ``None`` values of nullable fields that ``exclude_none`` dropped."""
    fields = type(model).model_fields
    nullable: FrozenSet[str] = getattr(model, "_nullable_fields", frozenset())
    for name, value in model.__dict__.items():
        field = fields.get(name)
        if field is None:
            continue
        key = field.alias or name
        if value is None:
            if key in nullable and name in model.model_fields_set:
                data[key] = None
        elif key in data:
            _restore_nested(value, data[key])


def _restore_nested(value: Any, dumped: Any) -> None:
    if isinstance(value, BaseModel):
        _restore_nulls(value, dumped)
    elif isinstance(value, list):
        for item, item_dumped in zip(value, dumped, strict=False):
            _restore_nested(item, item_dumped)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in dumped:
                _restore_nested(item, dumped[key])

