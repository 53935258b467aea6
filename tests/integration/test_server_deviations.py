"""Every hint of api/openapi.yaml about what lakeFS does beyond its spec, shown on the real server.

``x-lakefs-server-deviations`` hints say where lakeFS answers against its spec (a value the
enum lacks, an unlisted status); ``x-lakefs-enum`` hints name the values lakeFS checks for
a string its spec leaves open. Each is triggered here and its effect on the SDK asserted:
the answer decodes, or the value is refused before sending while lakeFS itself would
refuse it too (shown with a raw request that bypasses the SDK's check, sent straight to
the server, not through the recording proxy). The hints without a test here fail
``test_every_hint_is_shown_here``; PullRequest.description and GarbageCollectionRules.branches
are shown by tests/integration/test_pulls.py and test_repositories.py.
"""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import urllib3
import yaml

import lakefs_sdk
from lakefs_sdk import ACL, BranchCreation, CommitCreation, Merge, PullRequestBasic, PullRequestCreation
from lakefs_sdk.models import UpdateObjectUserMetadata

from support.lakefs import LakeFS, Wire

SPEC = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
# (schema or operationId, property or "", kind) of every hint shown by a test of this module.
SHOWN_HERE = {
    ("HookRun", "status", "unlisted"),
    ("updatePullRequest", "", "status"),
    ("updateObjectUserMetadata", "", "status"),
    ("Merge", "strategy", "enum"),
    ("ACL", "permission", "enum"),
}
SHOWN_ELSEWHERE = {("PullRequest", "description", "missing"), ("GarbageCollectionRules", "branches", "null")}


def _hints() -> List[Tuple[str, str, str]]:
    with open(SPEC, encoding="utf-8") as source:
        spec: Dict[str, Any] = yaml.safe_load(source)
    found = []
    for name, schema in spec["components"]["schemas"].items():
        found += [(name, hint["property"], hint["sends"]) for hint in schema.get("x-lakefs-server-deviations", [])]
        found += [(name, prop, "enum") for prop, value in (schema.get("properties") or {}).items() if "x-lakefs-enum" in value]
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                found += [(operation["operationId"], "", "status") for _ in operation.get("x-lakefs-server-deviations", [])]
    return found


def test_every_hint_is_shown_here() -> None:
    assert sorted(_hints()) == sorted(SHOWN_HERE | SHOWN_ELSEWHERE)


def raw(lakefs: LakeFS, method: str, path: str, body: Any) -> Tuple[int, Dict[str, Any]]:
    """Send ``body`` as JSON straight to the server, past every check of the SDK."""
    headers = urllib3.make_headers(basic_auth=f"{lakefs.access_key_id}:{lakefs.secret_access_key}")
    headers["Content-Type"] = "application/json"
    response = urllib3.request(method, f"{lakefs.endpoint}/api/v1{path}", body=json.dumps(body), headers=headers)
    return response.status, json.loads(response.data or b"{}")


# -- HookRun.status: 'skipped' ---------------------------------------------------------------------


class FailingWebhook:
    """An HTTP server on 127.0.0.1 that answers every POST with 500, counting the calls."""

    def __init__(self) -> None:
        self.calls: List[str] = []
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                calls.append(self.path)
                self.send_response(500)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"refused")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def failing_webhook() -> Iterator[FailingWebhook]:
    webhook = FailingWebhook()
    yield webhook
    webhook.close()


def test_hooks_after_a_failed_pre_commit_hook_are_listed_as_skipped(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, failing_webhook: FailingWebhook
) -> None:
    action = (
        "name: two checks\non:\n  pre-commit:\n    branches: [guarded]\nhooks:\n"
        f"  - id: first\n    type: webhook\n    properties:\n      url: {failing_webhook.url}/first\n"
        f"  - id: second\n    type: webhook\n    properties:\n      url: {failing_webhook.url}/second\n"
    )
    objects, commits = lakefs_client.objects_api, lakefs_client.commits_api
    objects.upload_object(repo, "main", "_lakefs_actions/x.yaml", content=action.encode())
    commits.commit(repo, "main", CommitCreation(message="Add the action"))
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="guarded", source="main"))
    objects.upload_object(repo, "guarded", "data.csv", content=b"id\n1\n")
    with pytest.raises(lakefs_sdk.PreconditionFailedException) as caught:
        commits.commit(repo, "guarded", CommitCreation(message="Data"))
    assert failing_webhook.calls == ["/first"], "lakeFS did not run the second hook"
    run_id = caught.value.run_id
    assert run_id and lakefs_client.actions_api.get_run(repo, run_id).status == "failed"

    hooks = lakefs_client.actions_api.list_run_hooks(repo, run_id).results

    sent = json.loads(wire.last("listRunHooks").response_body)
    assert [hook["status"] for hook in sent["results"]] == ["failed", "skipped"], "what lakeFS itself answered"
    assert [(hook.hook_id, hook.status) for hook in hooks] == [("first", "failed"), ("second", "skipped")]
    first, second = hooks
    assert first.end_time is not None and first.end_time >= first.start_time
    assert second.end_time is None and second.start_time.year == 1, "never started"
    assert "end_time" not in sent["results"][1]


# -- statuses the spec does not list ---------------------------------------------------------------


def test_update_pull_request_answers_204_and_returns_none(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feat", source="main"))
    pulls = lakefs_client.pulls_api
    created = pulls.create_pull_request(repo, PullRequestCreation(title="First", source_branch="feat", destination_branch="main"))

    assert pulls.update_pull_request(repo, created.id, PullRequestBasic(title="Renamed")) is None

    assert wire.last("updatePullRequest").status == 204
    assert pulls.get_pull_request(repo, created.id).title == "Renamed"
    info = pulls.update_pull_request_with_http_info(repo, created.id, PullRequestBasic(status="closed"))
    assert info.status_code == 204 and info.data is None
    assert pulls.get_pull_request(repo, created.id).status == "closed"


def test_update_object_user_metadata_answers_204_and_returns_none(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "data.csv", content=b"id\n")
    for metadata in ({"owner": "etl", "stage": "raw"}, {"stage": "clean"}):
        assert objects.update_object_user_metadata(repo, "main", "data.csv", UpdateObjectUserMetadata(set=metadata)) is None
        assert wire.last("updateObjectUserMetadata").status == 204
        assert objects.stat_object(repo, "main", "data.csv", user_metadata=True).metadata == metadata


# -- values lakeFS checks although its spec lists none ---------------------------------------------


@pytest.fixture
def conflicting(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> str:
    """``repo`` whose branches ``source`` and ``main`` changed ``a`` each their own way."""
    objects, commits = lakefs_client.objects_api, lakefs_client.commits_api
    objects.upload_object(repo, "main", "a", content=b"base")
    commits.commit(repo, "main", CommitCreation(message="base"))
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="source", source="main"))
    for branch in ("source", "main"):
        objects.upload_object(repo, branch, "a", content=branch.encode())
        commits.commit(repo, branch, CommitCreation(message=branch))
    return repo


@pytest.mark.parametrize("strategy", ["theirs", "default", "DEST-WINS"])
def test_lakefs_refuses_other_strategies_and_so_does_the_sdk(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, conflicting: str, wire: Wire, strategy: str
) -> None:
    status, body = raw(lakefs, "POST", f"/repositories/{conflicting}/refs/source/merge/main", {"strategy": strategy})
    assert status == 400 and "argument strategy: invalid value" in body["message"]
    with pytest.raises(lakefs_sdk.ApiValueError, match="dest-wins"):
        lakefs_client.refs_api.merge_into_branch(conflicting, "source", "main", {"strategy": strategy})  # type: ignore[arg-type]
    assert "mergeIntoBranch" not in wire.operations()


def test_an_empty_strategy_is_sent_unchanged_and_means_none(
    lakefs_client: lakefs_sdk.LakeFSClient, conflicting: str, wire: Wire
) -> None:
    refs = lakefs_client.refs_api
    head = lakefs_client.branches_api.get_branch(conflicting, "main").commit_id
    with pytest.raises(lakefs_sdk.ConflictException):
        refs.merge_into_branch(conflicting, "source", "main", Merge(strategy=""))  # type: ignore[arg-type]
    assert json.loads(wire.last("mergeIntoBranch").request.body)["strategy"] == ""
    assert lakefs_client.branches_api.get_branch(conflicting, "main").commit_id == head, "nothing was merged"
    merged = refs.merge_into_branch(conflicting, "source", "main", Merge(strategy="dest-wins"))
    assert lakefs_client.objects_api.get_object(conflicting, merged.reference, "a") == b"main"


@pytest.mark.parametrize("permission", ["Owner", "read", ""])
def test_lakefs_refuses_other_acl_permissions_and_so_does_the_sdk(lakefs: LakeFS, permission: str) -> None:
    status, body = raw(lakefs, "POST", "/auth/groups/no-such-group/acl", {"permission": permission})
    assert status == 400 and f'Bad ACL permission \\"{permission}\\"' in json.dumps(body["message"])
    with pytest.raises(ValueError, match="must be one of \\('Read', 'Write', 'Super', 'Admin'\\)"):
        ACL(permission=permission)  # type: ignore[arg-type]


def test_a_listed_acl_permission_reaches_the_server(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    """The open-source lakeFS keeps no ACLs: a valid one passes the check and is answered 501."""
    with pytest.raises(lakefs_sdk.NotImplementedException):
        lakefs_client.auth_api.set_group_acl("no-such-group", ACL(permission="Read"))
    assert json.loads(wire.last("setGroupACL").request.body) == {"permission": "Read"}
