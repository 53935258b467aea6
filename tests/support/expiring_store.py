"""An S3-like store whose presigned URLs expire, on a clock only the transport's retry waits move.

Shared by the unit tests of URL renewal in ``upload_presigned`` (parts and the single PUT):
lakeFS and the store are played by one handler of a :mod:`lakefs_sdk.testing` mock
transport, and the upload reads the same clock (the tests patch ``time.time`` to ``now``).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from lakefs_sdk._multipart import url_expiry
from lakefs_sdk.testing import Request, Response

LIFETIME = 30  # seconds a URL lives (lakeFS's blockstore.*.pre_signed_expiry)
START = 1_700_000_000.0
EXPIRED = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
DENIED = b"<Error><Code>SignatureDoesNotMatch</Code><Message>The signature does not match</Message></Error>"
SLOW_DOWN = Response(503, content=b"<Error><Code>SlowDown</Code></Error>", headers={"Retry-After": "40"})


def storage_config() -> Dict[str, object]:
    """What lakeFS on S3 answers to ``getConfig`` (presigned uploads, multipart included)."""
    return {
        "blockstore_type": "s3",
        "blockstore_namespace_example": "s3://bucket/",
        "blockstore_namespace_validity_regex": "^s3://",
        "pre_sign_support": True,
        "pre_sign_support_ui": True,
        "import_support": True,
        "import_validity_regex": "^s3://",
        "pre_sign_multipart_upload": True,
    }


class ExpiringStore:
    """The store's side: the clock, signed dates, and the answers that come before a PUT is taken.

    The store refuses a URL past its end with S3's 403 (``say_why=False``: with an empty
    body). ``store_ahead`` puts the store's clock that many seconds ahead of everyone else's.
    ``transport`` (set by the test) is the mock transport whose recorded waits move the clock.
    """

    def __init__(self, say_why: bool = True, store_ahead: float = 0.0) -> None:
        self.say_why, self.store_ahead = say_why, store_ahead
        self.transport: Any = None

    def now(self) -> float:
        return START + (sum(self.transport.waits) if self.transport is not None else 0.0)

    def signed_now(self) -> str:
        """``X-Amz-Date`` for a URL signed now."""
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.now()))

    def refusal(self, request: Request, scripted: Optional[List[Response]]) -> Optional[Response]:
        """The next ``scripted`` answer, else the 403 of an expired URL, else None (the PUT is taken)."""
        assert "Authorization" not in request.headers and "Cookie" not in request.headers, "lakeFS's, not the store's"
        expiry = url_expiry(request.url)
        assert expiry is not None
        if scripted:
            return scripted.pop(0)
        if self.now() + self.store_ahead >= expiry:
            return Response(403, content=EXPIRED if self.say_why else b"", headers={"Content-Type": "application/xml"})
        return None
