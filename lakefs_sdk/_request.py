"""What a prepared call hands to a transport, and which result a call asks for.

Neutral: no I/O. ``BaseApiClient._prepare`` builds a :class:`Request`; the sync transport
(``lakefs_sdk.rest``) and the asyncio one (``lakefs_sdk.aio.rest``) send it unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Dict


class ResultKind(str, enum.Enum):
    """What ``invoke`` returns: the decoded body, an ``ApiResponse``, or the unread response."""

    DATA = "data"
    HTTP_INFO = "http_info"
    RAW = "raw"


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
