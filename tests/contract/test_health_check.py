"""Contract tests for the ``healthCheck`` tag: HealthCheckApi on the wire (204, no body, no auth)."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient

from support.contract import Wire


def test_health_check(any_client: ApiClient, wire: Wire) -> None:
    response = lakefs_sdk.HealthCheckApi(any_client).health_check_with_http_info()
    sent = wire.only("healthCheck", 204)
    assert response.status_code == 204 and response.data is None and response.raw_data == b""
    assert sent.request.header("Authorization") is None, "healthCheck has `security: []`: no credentials are sent"
