"""What a prepared call hands to a transport, and which result a call asks for.

Neutral: no I/O. ``BaseApiClient._prepare`` builds a :class:`Request`; the sync transport
(``lakefs_sdk.rest``) and the asyncio one (``lakefs_sdk.aio.rest``) send it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Final


class ResultKind:
    """What ``invoke`` returns: the decoded body, an ``ApiResponse``, or the unread response.

    Plain strings, not an ``enum.Enum``: every call passes one and compares it, and reading
    an enum member costs a descriptor call on Python 3.11. ``invoke`` is overloaded on
    their literal types.
    """

    DATA: Final = "data"
    HTTP_INFO: Final = "http_info"
    RAW: Final = "raw"


@dataclass(slots=True)
class Request:
    """One HTTP request, built once and sent (again, on a retry) as it is.

    ``url`` is complete and already encoded; ``body`` is None, bytes, or an upload body
    (``lakefs_sdk._upload.UploadBody``, or its asyncio image) that a transport streams.
    """

    method: str
    url: str
    headers: Dict[str, str]
    body: Any = None
