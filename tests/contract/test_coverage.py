"""The coverage gate: every operation of api/openapi.yaml went over the wire.

Runs after every other test of the session (tests/contract/conftest.py reorders it) and
reads what the two Prism proxies (static and dynamic) recorded during the session, so
coverage is measured, never declared. The asyncio client must cover every operation too:
the ``AioBridge`` of tests/support/aio_bridge.py marks the requests it sends through it. An operation counts once a request for it reached
Prism and was answered with a 2xx/3xx and no spec violation; requests Prism rejected do
not count. On a partial run the gate skips (visibly) instead of failing.
"""

from __future__ import annotations

from typing import Dict, List, Set

import pytest

from support.contract import CONTRACT_GATE, DYNAMIC, STATIC, sent_by_async_client, succeeded
from support.recording_proxy import Exchange, PrismProxy
from support.routes import OperationIndex


def recorded_exchanges(request: pytest.FixtureRequest) -> Dict[str, List[Exchange]]:
    """Every exchange each session-scoped proxy recorded so far, by Prism mode."""
    found: Dict[str, List[Exchange]] = {}
    for mode, fixture in ((STATIC, "_static_proxy"), (DYNAMIC, "_dynamic_proxy")):
        try:
            proxy: PrismProxy = request.getfixturevalue(fixture)
        except pytest.skip.Exception:
            found[mode] = []
        else:
            found[mode] = proxy.since(0)
    return found


def covered_operations(exchanges: List[Exchange], operations: Set[str]) -> Set[str]:
    return {e.operation_id for e in exchanges if e.operation_id in operations and succeeded(e)}


def test_every_operation_went_over_the_wire(
    request: pytest.FixtureRequest, operation_index: OperationIndex, prism: PrismProxy
) -> None:
    by_mode = recorded_exchanges(request)
    exchanges = [e for mode in (STATIC, DYNAMIC) for e in by_mode[mode]]
    operations = operation_index.operations
    covered = covered_operations(exchanges, set(operations))
    per_mode = ", ".join(
        f"{mode} {len(covered_operations(by_mode[mode], set(operations)))}" for mode in (STATIC, DYNAMIC)
    )
    async_exchanges = [e for e in exchanges if sent_by_async_client(e)]
    covered_async = covered_operations(async_exchanges, set(operations))
    line = (
        f"contract coverage: {len(covered)}/{len(operations)} operations ({per_mode}; {len(exchanges)} requests); "
        f"async client {len(covered_async)}/{len(operations)} ({len(async_exchanges)} requests)"
    )
    partial = CONTRACT_GATE.partial(request.config)
    if partial:
        line += f" [partial run: {partial}; gate skipped]"
    CONTRACT_GATE.record(request.config, line)
    if partial:
        pytest.skip(f"the coverage gate needs the whole contract suite ({partial}); {line}")

    unknown = sorted({f"{e.method} {e.target}" for e in exchanges if e.operation_id is None and succeeded(e)})
    if unknown:
        pytest.fail("successful requests that match no operation of the spec:\n" + "\n".join(unknown), pytrace=False)
    rejected = {e.operation_id: e.status for e in exchanges if e.operation_id and e.operation_id not in covered}
    missing = [
        f"{op} ({method} {path})" + (f": only rejected requests (last status {rejected[op]})" if op in rejected else "")
        for op, (method, path) in sorted(operations.items())
        if op not in covered
    ]
    if missing:
        pytest.fail(f"{line}; no successful request went over the wire for:\n" + "\n".join(missing), pytrace=False)
    missing_async = [f"{op} ({method} {path})" for op, (method, path) in sorted(operations.items()) if op not in covered_async]
    if missing_async:
        pytest.fail(f"{line}; the asyncio client sent no successful request for:\n" + "\n".join(missing_async), pytrace=False)
