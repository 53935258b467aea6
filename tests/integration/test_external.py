"""The ``external`` tag on the real server: externalPrincipalLogin.

External principals need an authentication service (lakeFS Enterprise); the open-source
server answers 501 before it looks at the identity request, and sets no session.
"""

from __future__ import annotations

import pytest

import lakefs_sdk
from lakefs_sdk.models import ExternalLoginInformation

from support.lakefs import Wire


def test_external_principal_login_is_not_implemented(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    identity = {
        "method": "POST",
        "host": "sts.amazonaws.com",
        "region": "us-east-1",
        "action": "GetCallerIdentity",
        "date": "20250102T030405Z",
        "expiration_duration": 900,
        "access_key_id": "ASIAH4EXAMPLE",
        "signature": "c0ffee",
        "signed_headers": ["host", "x-amz-date"],
    }
    info = ExternalLoginInformation(token_expiration_duration=900, identity_request=identity)
    with pytest.raises(lakefs_sdk.NotImplementedException) as refused:
        lakefs_client.external_api.external_principal_login(info)
    error = refused.value
    assert error.status == 501 and error.message == "Not Implemented" and error.request_id
    sent = wire.last("externalPrincipalLogin")
    assert sent.request.header("Authorization") is None, "externalPrincipalLogin has `security: []`"
    assert sent.response_header("Set-Cookie") is None
    assert [e.status for e in wire.exchanges() if e.operation_id == "externalPrincipalLogin"] == [501]
