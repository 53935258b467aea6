"""Helpers of upstream ``lakefs-sdk``'s ``ApiClient`` that code built on it still calls.

Neutral: no I/O. Both clients inherit :class:`UpstreamHelpers`; none of our own calls
goes through it. Each method does what upstream 1.x does for the inputs such code passes
(tests/unit/test_compat_helpers.py holds the expected values), with these deliberate
differences, where upstream fails or sends something the server cannot read:

* ``sanitize_for_serialization`` returns an object it cannot convert unchanged
  (upstream raises ``AttributeError``: no ``to_dict``);
* ``deserialize(response, "str")`` of a body that is not JSON gives its text (upstream:
  ``str()`` of the bytes, ``"b'...'"``), and accepts the body itself as well as a response;
* ``update_params_for_auth`` sends a cookie as ``name=value`` (upstream sends the bare value,
  which lakeFS cannot read) and checks header values for CR/LF.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from lakefs_sdk import _types
from lakefs_sdk._auth import apply_auth_setting
from lakefs_sdk.configuration import Configuration

Json = Any
"""What ``sanitize_for_serialization`` returns: JSON-ready values (``json.dumps`` takes them)."""


class UpstreamHelpers:
    """Upstream ``ApiClient``'s public helpers, for code that prepares or reads requests itself."""

    configuration: Configuration

    def select_header_accept(self, accepts: Sequence[str]) -> Optional[str]:
        """The ``Accept`` value for a list of media types: the first JSON one, else the first; None for none."""
        if not accepts:
            return None
        return next((a for a in accepts if "json" in a.lower()), accepts[0])

    def select_header_content_type(self, content_types: Sequence[str]) -> Optional[str]:
        """The ``Content-Type`` for a list of media types: the first JSON one, else the first."""
        return self.select_header_accept(content_types)

    def sanitize_for_serialization(self, obj: object) -> Json:
        """Convert models, dates, lists, tuples and dicts into plain JSON-ready values.

        A model becomes its ``to_dict()`` (JSON field names, unset fields left out); dates
        and datetimes become ISO 8601 text; a tuple stays a tuple, a list a list.
        """
        if obj is None or isinstance(obj, (str, int, float, bool, bytes)):
            return obj
        if isinstance(obj, list):
            return [self.sanitize_for_serialization(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.sanitize_for_serialization(v) for v in obj)
        if isinstance(obj, (datetime.datetime, datetime.date)):
            return obj.isoformat()
        if isinstance(obj, dict):
            return {k: self.sanitize_for_serialization(v) for k, v in obj.items()}
        to_dict = getattr(obj, "to_dict", None)
        if to_dict is not None:
            return self.sanitize_for_serialization(to_dict())
        return obj

    def deserialize(self, response: object, response_type: str) -> Any:
        """Decode a response (or its body, str or bytes) as ``response_type``, e.g. ``"Ref"``.

        ``response_type`` is a model name, ``"str"``, ``"bytearray"``/``"bytes"`` (the body
        as is), or ``"List[...]"`` / ``"Dict[str, ...]"`` of those, as upstream names them.
        """
        body: Union[str, bytes, bytearray]
        if isinstance(response, (str, bytes, bytearray)):
            body = response
        else:
            data = getattr(response, "data", None)
            if not isinstance(data, (str, bytes, bytearray)):
                raise TypeError(f"deserialize() takes a response or its body, not {type(response).__name__}")
            body = data
        if response_type in _types.BINARY_TYPES:
            return body
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        if response_type == "str":
            return json.loads(raw) if raw[:1] == b'"' else raw.decode("utf-8")
        return _types.decode_json(response_type, raw)

    def update_params_for_auth(
        self,
        headers: Dict[str, str],
        queries: Optional[List[Tuple[str, str]]],
        auth_settings: Optional[Sequence[str]],
        resource_path: Optional[str],
        method: Optional[str],
        body: object,
        request_auth: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Add the configured credentials of ``auth_settings`` to ``headers`` / ``queries``.

        ``request_auth`` (one setting, as in ``Configuration.auth_settings()``) is used
        instead when given. ``resource_path``, ``method`` and ``body`` are unused, as upstream.
        """
        if not auth_settings:
            return
        if request_auth:
            apply_auth_setting(headers, queries, request_auth)
            return
        configured = self.configuration.auth_settings()
        for name in auth_settings:
            setting = configured.get(name)
            if setting:
                apply_auth_setting(headers, queries, setting)
