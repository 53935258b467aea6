"""healthCheck on the real server: it answers 204 without credentials."""

from __future__ import annotations

import lakefs_sdk

from support.lakefs import LakeFS, Wire
from support.recording_proxy import RecordingProxy


def test_health_check_needs_no_credentials(lakefs: LakeFS, lakefs_proxy: RecordingProxy, wire: Wire) -> None:
    anonymous = lakefs_sdk.Configuration(host=lakefs_proxy.url)
    with lakefs_sdk.ApiClient(anonymous) as api_client:
        response = lakefs_sdk.HealthCheckApi(api_client).health_check_with_http_info()
    assert response.status_code == 204 and response.data is None
    exchange = wire.last("healthCheck")
    assert exchange.request.header("Authorization") is None
    assert exchange.response_header("X-Request-Id")
