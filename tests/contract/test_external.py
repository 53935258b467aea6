"""Contract tests for the ``external`` tag: ExternalApi on the wire.

Only externalPrincipalLogin has ``external`` as its first tag; the external-principal
management operations are first tagged ``auth`` and tested in test_auth.py.
"""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import AuthenticationToken, ExternalLoginInformation

from support.contract import Wire, assert_result, json_body


def test_external_principal_login(any_client: ApiClient, wire: Wire) -> None:
    identity = {
        "method": "POST",
        "host": "sts.amazonaws.com",
        "region": "us-east-1",
        "action": "GetCallerIdentity",
        "date": "20250102T030405Z",
        "expiration_duration": 3600,
        "access_key_id": "ASIAEXAMPLE",
        "signature": "c0ffee",
        "signed_headers": ["host", "x-amz-date"],
    }
    info = ExternalLoginInformation(token_expiration_duration=3600, identity_request=identity)
    token = lakefs_sdk.ExternalApi(any_client).external_principal_login(info)
    sent = wire.only("externalPrincipalLogin")
    assert sent.request.header("Authorization") is None, "externalPrincipalLogin has `security: []`"
    assert json_body(sent) == {"token_expiration_duration": 3600, "identityRequest": identity}
    assert_result(token, AuthenticationToken, sent)
