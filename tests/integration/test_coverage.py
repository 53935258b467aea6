"""The real-server coverage gate: every operation of api/openapi.yaml was called on lakeFS.

Runs after every other test of the session (tests/integration/conftest.py reorders it)
and reads what the recording proxy in front of the real server saw, so coverage is
measured from the wire, never declared. An operation counts as *called* once any
request for it reached the server, whatever the answer (lakeFS answers 501 for what its
open-source edition lacks, and those calls are asserted by the tests that make them); it
counts as *answered with success* for a 2xx or 3xx. On a partial run the gate skips
(visibly) instead of failing.

The line names the server's store. On the local store the whole suite runs and every
operation must be called. On S3 (``LAKEFS_STORE=s3``) only the store-dependent modules run
(tests/support/store_modules.py), so the line counts that run's operations only, and the gate
checks instead that what the local blockstore refuses was answered with success here
(``PRESIGNED``).

When ``LAKEFS_OUTCOMES_FILE`` is set, the statuses each operation got are written there
as JSON, so that runs against two lakeFS versions can be compared
(``scripts/compare_outcomes.py``).
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Set

import pytest

from support.lakefs import INTEGRATION_GATE, LakeFS, succeeded
from support.recording_proxy import Exchange, RecordingProxy
from support.routes import OperationIndex

# What the local blockstore refuses (400, 500 or 501: the store-dependent tests assert each) and
# an S3 store answers: operation -> what its query must hold for the call to ask for presigning.
PRESIGNED: Dict[str, str] = {
    "listObjects": "presign=true",
    "statObject": "presign=true",
    "getObject": "presign=true",
    "getPhysicalAddress": "presign=true",
    "createPresignMultipartUpload": "",
    "uploadPart": "",
    "completePresignMultipartUpload": "",
    "abortPresignMultipartUpload": "",
}


def presigned_without_success(exchanges: List[Exchange]) -> List[str]:
    """The ``PRESIGNED`` operations no exchange asked for presigning and got a 2xx or 3xx."""
    done = {
        e.operation_id
        for e in exchanges
        if e.operation_id in PRESIGNED and PRESIGNED[e.operation_id] in e.request.query and succeeded(e)
    }
    return sorted(set(PRESIGNED) - done)


def test_every_operation_was_called_on_the_real_server(
    request: pytest.FixtureRequest, operation_index: OperationIndex, lakefs: LakeFS, lakefs_proxy: RecordingProxy
) -> None:
    exchanges = lakefs_proxy.since(0)
    operations = operation_index.operations
    outcomes: Dict[str, Set[int]] = {}
    for exchange in exchanges:
        if exchange.operation_id in operations:
            outcomes.setdefault(exchange.operation_id, set()).add(exchange.status)
    answered = {e.operation_id for e in exchanges if e.operation_id in operations and succeeded(e)}
    line = (
        f"real-server coverage ({lakefs.store} store): {len(outcomes)}/{len(operations)} operations called, "
        f"{len(answered)} answered with success (lakeFS {lakefs.version}; {len(exchanges)} requests)"
    )
    if lakefs.store != "local":
        line += "; the store-dependent modules only"
    partial = INTEGRATION_GATE.partial(request.config)
    if partial:
        line += f" [partial run: {partial}; gate skipped]"
    INTEGRATION_GATE.record(request.config, line)
    outcomes_file = os.environ.get("LAKEFS_OUTCOMES_FILE")
    if outcomes_file and not partial:
        with open(outcomes_file, "w", encoding="utf-8") as file:
            statuses = {k: sorted(v) for k, v in sorted(outcomes.items())}
            json.dump({"version": lakefs.version, "store": lakefs.store, "statuses": statuses}, file, indent=1)
    if partial:
        pytest.skip(f"the coverage gate needs the whole integration suite ({partial}); {line}")

    unknown = sorted({f"{e.method} {e.target} -> {e.status}" for e in exchanges if e.operation_id is None})
    assert not unknown, "requests that match no operation of the spec:\n" + "\n".join(unknown)
    if lakefs.store != "local":
        refused = presigned_without_success(exchanges)
        assert not refused, f"{line}; never presigned with success on the {lakefs.store} store: {refused}"
        return
    missing: List[str] = [
        f"{op} ({method} {path})" for op, (method, path) in sorted(operations.items()) if op not in outcomes
    ]
    if missing:
        pytest.fail(f"{line}; never called on the real server:\n" + "\n".join(missing), pytrace=False)
