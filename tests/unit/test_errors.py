"""Errors that explain themselves: one-line ``str(e)``, the detail in ``repr`` and attributes,
hints where lakeFS's words mislead, hook rejections, and data passed where a file name belongs.

A loopback server answers as lakeFS does (bodies and content types copied from a real
1.84 server's answers); tests/integration/test_errors.py checks the same against lakeFS.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import Dict, Iterator, List, Optional

import pytest

import lakefs_sdk
from lakefs_sdk import (
    ApiClient,
    BranchCreation,
    BranchesApi,
    CommitCreation,
    CommitsApi,
    Configuration,
    InternalApi,
    ObjectsApi,
    RefsApi,
)
from lakefs_sdk.hooks import FailedHook, failed_hook_output, failed_hooks
from lakefs_sdk.transfer import upload

from support.loopback import LoopbackServer, Reply, Request

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REQUEST_ID = "2f1c9a0e-8a34-4f0b-9d52-5d8e0c1b7a11"
HOOK_MESSAGE = (
    "update branch main: pre-merge hook aborted, run id '4oicvg9ksduc9rigip60': 2 errors occurred:\n"
    "\t* hook run id '0000_0000' failed on action 'check schema' hook 'schema_check': action failed: "
    "webhook request failed (status code: 500)\n"
    "\t* hook run id '0001_0000' failed on action 'other action' hook 'other_check': action failed: "
    "webhook request failed (status code: 500)\n\n"
)


def lakefs_error(status: int, message: str, **headers: str) -> Reply:
    return Reply(
        status,
        json.dumps({"message": message}) + "\n",
        {"Content-Type": "application/json", "X-Request-Id": REQUEST_ID, **headers},
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: lakefs_error(404, "branch not found")) as srv:
        yield srv


@pytest.fixture
def client(server: LoopbackServer) -> Iterator[ApiClient]:
    configuration = Configuration(host=server.url + "/api/v1", username="AKIAIOSFODNN7EXAMPLE", password=SECRET)
    configuration.retry_backoff = 0.01
    with ApiClient(configuration) as api_client:
        yield api_client


def raised(call) -> lakefs_sdk.ApiException:  # type: ignore[no-untyped-def]
    with pytest.raises(lakefs_sdk.ApiException) as info:
        call()
    return info.value


# -- the one line ---------------------------------------------------------------------------------


def test_str_is_one_line_naming_call_status_message_and_request_id(client: ApiClient) -> None:
    error = raised(lambda: BranchesApi(client).get_branch("example-repo", "no-such-branch"))
    assert isinstance(error, lakefs_sdk.NotFoundException)
    assert str(error) == (
        "get_branch(repository='example-repo', branch='no-such-branch') failed: 404 Not Found: "
        f"branch not found (request id {REQUEST_ID})"
    )
    assert (error.operation, error.api_method) == ("getBranch", "get_branch")
    assert error.arguments == {"repository": "example-repo", "branch": "no-such-branch"}
    assert error.hint is None and error.request_id == REQUEST_ID and error.message == "branch not found"


def test_repr_keeps_the_detail_without_secrets(server: LoopbackServer, client: ApiClient) -> None:
    body = json.dumps({"message": "bad", "secret_access_key": SECRET}) + "\n"
    server.handler = lambda request: Reply(
        400, body, {"Content-Type": "application/json", "X-Request-Id": REQUEST_ID, "Set-Cookie": "session=" + SECRET}
    )
    error = raised(lambda: BranchesApi(client).get_branch("repo", "main"))
    text = repr(error)
    assert text.startswith("BadRequestException(status=400, reason='Bad Request', operation='getBranch', ")
    assert "'X-Request-Id': '" + REQUEST_ID in text and "body='{\"message\": \"bad\"" in text
    assert SECRET not in text and SECRET not in str(error)
    assert error.headers is not None and error.headers["Set-Cookie"] == "[REDACTED]"


def test_arguments_never_include_bodies_headers_or_content(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(409, "branch already exists: not unique")
    error = raised(lambda: BranchesApi(client).create_branch("repo", BranchCreation(name="dev", source="main")))
    assert isinstance(error, lakefs_sdk.ConflictException)
    # The name a *Creation body gives the new thing identifies it; the rest of the body stays out.
    assert error.arguments == {"repository": "repo", "name": "dev"}
    assert str(error).startswith("create_branch(repository='repo', name='dev') failed: 409 Conflict: branch already")

    server.handler = lambda request: lakefs_error(412, "path already exists")
    error = raised(lambda: upload(ObjectsApi(client), "repo", "main", "raw/a.csv", b"secret data", if_none_match="*"))
    assert error.arguments == {"repository": "repo", "branch": "main", "path": "raw/a.csv"}
    assert "secret data" not in str(error) and "If-None-Match" not in str(error)


def test_long_argument_values_and_messages_are_cut(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(404, "not found " * 100)
    error = raised(lambda: ObjectsApi(client).stat_object("repo", "main", "p/" * 200))
    text = str(error)
    assert "not found ... (999 characters)" in text and len(text) < 800, "cut, with the length of what was cut"
    assert "path='" + "p/" * 60 + "...'" in text
    assert len(error.message or "") == 1000, "the attribute keeps the whole message"


def test_plain_text_bodies_give_a_message(server: LoopbackServer, client: ApiClient) -> None:
    # lakeFS's request parser answers like this, before any handler (and without a request id).
    text = "Invalid format for parameter If-Match: error unescaping query parameter 'If-Match': invalid URL escape \"%zz\"\n"
    server.handler = lambda request: Reply(400, text, {"Content-Type": "text/plain; charset=utf-8"})
    error = raised(lambda: upload(ObjectsApi(client), "repo", "main", "a.csv", b"1", if_match="%zz"))
    assert isinstance(error, lakefs_sdk.BadRequestException)
    assert error.message == text.strip()
    assert str(error) == f"upload_object(repository='repo', branch='main', path='a.csv') failed: 400 Bad Request: {text.strip()}"


def test_the_message_of_a_body_with_two_json_documents_is_read(server: LoopbackServer, client: ApiClient) -> None:
    # lakeFS's GC prepare on a local store writes its error, then the result, into one 400 body.
    body = '{"message":"local adapter presigned URL: operation not supported"}\n{"run_id":"r1"}\n'
    server.handler = lambda request: Reply(400, body)
    error = raised(lambda: InternalApi(client).prepare_garbage_collection_commits("repo"))
    assert isinstance(error, lakefs_sdk.BadRequestException)
    assert error.message == "local adapter presigned URL: operation not supported"
    assert error.body == body


def test_an_object_store_xml_error_gives_code_and_message() -> None:
    body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The signature is wrong</Message></Error>"
    error = lakefs_sdk.ForbiddenException(403, "Forbidden", body=body)
    assert error.message is None, "without a content type the body is not guessed at"
    error.headers = lakefs_sdk.exceptions.HTTPHeaderDict({"Content-Type": "application/xml"})
    assert error.message == "SignatureDoesNotMatch: The signature is wrong"


def test_an_exception_from_parts_has_a_short_line_too() -> None:
    assert str(lakefs_sdk.ApiException(404, "Not Found")) == "404 Not Found"
    assert str(lakefs_sdk.ApiException(409)) == "409 Conflict"
    error = lakefs_sdk.ApiException(status=400, reason="Bad Request", body='{"message": "no"}')
    assert (str(error), error.message) == ("400 Bad Request: no", "no")
    assert str(lakefs_sdk.ApiConnectionError("GET http://127.0.0.1:9/x: connection failed")) == (
        "no response: GET http://127.0.0.1:9/x: connection failed"
    )


def test_the_same_words_twice_are_said_once(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(501, "Not Implemented")
    error = raised(lambda: upload(ObjectsApi(client), "repo", "main", "a.csv", b"1", if_match='"abc"'))
    assert isinstance(error, lakefs_sdk.NotImplementedException)
    assert "501 Not Implemented. Hint: this lakeFS server does not implement If-Match here" in str(error)


def test_if_none_match_other_than_star_gets_a_hint(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(501, "Not Implemented")
    error = raised(lambda: upload(ObjectsApi(client), "repo", "main", "a.csv", b"1", if_none_match='"abc"'))
    assert error.hint == "lakeFS supports only If-None-Match='*' (fail if the object exists)"


# -- hints ----------------------------------------------------------------------------------------

LAKEFS_UI = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="UTF-8" />\n  <title>lakeFS</title>\n</head>\n'
    "<body>" + "<div></div>" * 100 + "</body></html>\n"
)


def test_html_from_a_host_without_api_v1_says_so(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, LAKEFS_UI, {"Content-Type": "text/html; charset=utf-8"})
    configuration = Configuration(host=server.url, username="AKIAIOSFODNN7EXAMPLE", password=SECRET)
    with ApiClient(configuration) as api_client:
        error = raised(lambda: BranchesApi(api_client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.UnexpectedResponseError)
    assert server.requests[0].path == "/repositories/repo/branches/main"
    text = str(error)
    assert text.startswith(
        "get_branch(repository='repo', branch='main') failed: the 200 response is not a valid Ref: "
        f"an HTML page titled 'lakeFS' ({len(LAKEFS_UI)} characters). Hint: the host probably lacks /api/v1"
    )
    assert "LakeFSClient and Configuration.from_env() add it" in text
    assert "<div>" not in text and "\n" not in text and error.body == LAKEFS_UI


class FakeResponse:
    def __init__(self, status: int, body: str, content_type: str) -> None:
        self.status, self.reason, self.data = status, "OK", body.encode()
        self.headers = lakefs_sdk.exceptions.HTTPHeaderDict({"Content-Type": content_type})


def test_a_web_page_answering_a_write_is_no_success() -> None:
    from lakefs_sdk._errors import unlisted_success
    from lakefs_sdk._operations.branches_api import CREATE_BRANCH  # 201 in the spec; lakeFS's UI answers 200

    values = ("repo", BranchCreation(name="dev", source="main"))
    error = unlisted_success(CREATE_BRANCH, values, FakeResponse(200, LAKEFS_UI, "text/html; charset=utf-8"))
    assert isinstance(error, lakefs_sdk.UnexpectedResponseError)
    assert str(error).startswith(
        "create_branch(repository='repo', name='dev') failed: the 200 response is not one createBranch answers with "
        "(success: 201): an HTML page titled 'lakeFS'"
    )
    assert error.hint is not None and error.hint.startswith("the host probably lacks /api/v1")
    assert unlisted_success(CREATE_BRANCH, values, FakeResponse(200, '"dev"', "application/json")) is None
    assert unlisted_success(CREATE_BRANCH, values, FakeResponse(201, LAKEFS_UI, "text/html")) is None


def test_html_error_page_behind_api_v1_blames_what_is_in_front(server: LoopbackServer, client: ApiClient) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server.handler = lambda request: Reply(502, page, {"Content-Type": "text/html"})
    error = raised(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.ServiceException) and error.message is None
    assert "502 Bad Gateway: an HTML page titled '502 Bad Gateway'" in str(error)
    assert error.hint is not None and "proxy" in error.hint and "/api/v1" not in error.hint


def test_a_write_to_a_tag_or_commit_says_writes_need_a_branch(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(404, "branch 'v1' not found")
    error = raised(lambda: upload(ObjectsApi(client), "repo", "v1", "a.csv", b"1"))
    assert str(error) == (
        "upload_object(repository='repo', branch='v1', path='a.csv') failed: 404 Not Found: branch 'v1' not found. "
        f"Hint: writes need a branch: if 'v1' is a tag or a commit, it is read-only (request id {REQUEST_ID})"
    )
    server.handler = lambda request: lakefs_error(404, "branch not found")
    error = raised(lambda: CommitsApi(client).commit("repo", "v1", CommitCreation(message="m")))
    assert error.hint == "writes need a branch: if 'v1' is a tag or a commit, it is read-only"


def test_reads_and_other_missing_things_get_no_branch_hint(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(404, "branch not found")
    assert raised(lambda: BranchesApi(client).get_branch("repo", "v1")).hint is None
    server.handler = lambda request: lakefs_error(404, "repository not found")
    assert raised(lambda: upload(ObjectsApi(client), "repo", "main", "a.csv", b"1")).hint is None


def test_a_bare_not_found_names_both_suspects(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(404, "not found")
    error = raised(lambda: ObjectsApi(client).stat_object("repo", "dev", "raw/a.csv"))
    assert error.hint == (
        "lakeFS says only 'not found' for a missing ref and for a missing object alike: "
        "either 'dev' or 'raw/a.csv' does not exist"
    )


def test_merging_a_branch_into_itself_says_so(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(400, "update branch main: no changes")
    error = raised(lambda: RefsApi(client).merge_into_branch("repo", "main", "main"))
    assert isinstance(error, lakefs_sdk.BadRequestException)
    assert str(error).endswith(
        "400 Bad Request: update branch main: no changes. Hint: source and destination are the same ref ('main'): "
        f"a branch merged into itself has no changes (request id {REQUEST_ID})"
    )
    assert raised(lambda: RefsApi(client).merge_into_branch("repo", "dev", "main")).hint is None


def test_a_merge_conflict_says_what_to_do(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: Reply(409, '{"reference":""}\n', {"Content-Type": "application/json"})
    error = raised(lambda: RefsApi(client).merge_into_branch("repo", "dev", "main"))
    assert isinstance(error, lakefs_sdk.ConflictException) and error.message is None
    assert str(error) == (
        "merge_into_branch(repository='repo', source_ref='dev', destination_branch='main') failed: 409 Conflict: "
        '{"reference":""}. Hint: a merge conflict: both sides changed the same paths; merge with '
        "Merge(strategy='source-wins') or 'dest-wins', or reconcile them on the source first"
    )


# -- hook rejections ------------------------------------------------------------------------------


def test_a_hook_rejection_names_its_run_and_hooks(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(412, HOOK_MESSAGE)
    error = raised(lambda: RefsApi(client).merge_into_branch("repo", "feature", "main"))
    assert isinstance(error, lakefs_sdk.PreconditionFailedException)
    assert (error.run_id, error.hook_event) == ("4oicvg9ksduc9rigip60", "pre-merge")
    assert error.hook_run_ids == ["0000_0000", "0001_0000"]
    text = str(error)
    assert "\n" not in text and "\t" not in text
    assert "Hint: a pre-merge hook rejected it; lakefs_sdk.hooks.failed_hook_output(api_client, error)" in text


# lakeFS 1.84's 412 when a webhook could not be reached, and when one was and another was not.
UNREACHABLE_MESSAGE = (
    "pre-commit hook aborted, run id '4oevllhksdub953itdt0': 1 error occurred:\n"
    "\t* hook run id '0000_0000' failed on action 'nowhere' hook 'nowhere_hook': action failed: "
    'Post "http://127.0.0.1:38341/gone": dial tcp 127.0.0.1:38341: connect: connection refused\n\n'
)
MIXED_MESSAGE = (
    "pre-commit hook aborted, run id '4oevllhksdub953itdt0': 2 errors occurred:\n"
    "\t* hook run id '0002_0000' failed on action 'nowhere' hook 'nowhere_hook': action failed: "
    'Post "http://127.0.0.1:38341/gone": dial tcp 127.0.0.1:38341: connect: connection refused\n'
    "\t* hook run id '0000_0000' failed on action 'deny' hook 'deny_hook': action failed: "
    "webhook request failed (status code: 403)\n\n"
)
# A hook whose ``if:`` lakeFS cannot evaluate is never run (the error has no "action failed: ").
NOT_EVALUATED_MESSAGE = (
    "pre-commit hook aborted, run id '4oevlh9ksdub953ite2g': 1 error occurred:\n"
    "\t* hook run id '0000_0000' failed on action 'badif' hook 'never': unexpected token Bracket(\"{\") (1:2)\n"
    " | ${{ success() }}\n | .^\n\n"
)


def test_a_hook_that_never_ran_is_not_said_to_have_rejected(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(412, UNREACHABLE_MESSAGE)
    error = raised(lambda: CommitsApi(client).commit("repo", "guarded", CommitCreation(message="m")))
    assert isinstance(error, lakefs_sdk.PreconditionFailedException) and error.run_id == "4oevllhksdub953itdt0"
    text = str(error)
    assert "\n" not in text and "rejected it" not in text.replace("no hook rejected it", "")
    assert (
        "Hint: no hook rejected it: the pre-commit hook did not run (no answer from the webhook: "
        'Post "http://127.0.0.1:38341/gone": dial tcp 127.0.0.1:38341: connect: connection refused), '
        "and lakeFS refuses a change whose hook fails: check the webhook's URL and that its server is up; "
        "lakefs_sdk.hooks.failed_hooks(api_client, error) gives each failed hook's reason"
    ) in text

    server.handler = lambda request: lakefs_error(412, NOT_EVALUATED_MESSAGE)
    error = raised(lambda: CommitsApi(client).commit("repo", "guarded", CommitCreation(message="m")))
    assert error.hint is not None and error.hint.startswith(
        'no hook rejected it: the pre-commit hook did not run (unexpected token Bracket("{") (1:2))'
    )
    assert "check the hook's definition in _lakefs_actions/" in error.hint


def test_a_rejection_with_a_hook_that_never_ran_says_both(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(412, MIXED_MESSAGE)
    error = raised(lambda: CommitsApi(client).commit("repo", "guarded", CommitCreation(message="m")))
    assert error.hint == (
        "a pre-commit hook rejected it, and another did not run (no answer from the webhook: "
        'Post "http://127.0.0.1:38341/gone": dial tcp 127.0.0.1:38341: connect: connection refused); '
        "lakefs_sdk.hooks.failed_hooks(api_client, error) gives each failed hook's reason"
    )


def test_other_412s_are_not_hook_rejections() -> None:
    error = lakefs_sdk.PreconditionFailedException(412, "Precondition Failed", body='{"message": "path already exists"}')
    assert (error.run_id, error.hook_event, error.hook_run_ids) == (None, None, [])


class HookServer:
    """lakeFS's actions endpoints for one failed run: a listing and one output per hook run."""

    def __init__(self, results: List[Dict[str, object]]) -> None:
        self.results = results

    def __call__(self, request: Request) -> Reply:
        prefix = "/api/v1/repositories/repo/actions/runs/4oicvg9ksduc9rigip60/hooks"
        if request.path == prefix:
            return Reply(200, json.dumps({"pagination": {"has_more": False, "next_offset": "", "results": 3,
                                                         "max_per_page": 1000}, "results": self.results}))
        if request.path.startswith(prefix + "/") and request.path.endswith("/output"):
            hook_run_id = request.path[len(prefix) + 1 : -len("/output")]
            return Reply(200, f"output of {hook_run_id}\n", {"Content-Type": "application/octet-stream"})
        return lakefs_error(412, HOOK_MESSAGE)


def test_failed_hook_output_reads_the_logs_of_the_named_hooks(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = HookServer([])
    error = raised(lambda: RefsApi(client).merge_into_branch("repo", "feature", "main"))
    hooks = failed_hooks(client, error)
    assert hooks == [
        FailedHook("4oicvg9ksduc9rigip60", "0000_0000", "check schema", "schema_check", "output of 0000_0000\n"),
        FailedHook("4oicvg9ksduc9rigip60", "0001_0000", "other action", "other_check", "output of 0001_0000\n"),
    ]
    assert failed_hook_output(client, error) == (
        "--- check schema / schema_check ---\noutput of 0000_0000\n\n"
        "--- other action / other_check ---\noutput of 0001_0000\n"
    )
    paths = [r.path for r in server.requests[1:]]
    assert paths == [
        "/api/v1/repositories/repo/actions/runs/4oicvg9ksduc9rigip60/hooks/0000_0000/output",
        "/api/v1/repositories/repo/actions/runs/4oicvg9ksduc9rigip60/hooks/0001_0000/output",
        "/api/v1/repositories/repo/actions/runs/4oicvg9ksduc9rigip60/hooks/0000_0000/output",
        "/api/v1/repositories/repo/actions/runs/4oicvg9ksduc9rigip60/hooks/0001_0000/output",
    ], "the message names the failed hooks: no listing needed"


def test_failed_hooks_not_named_are_found_in_the_run(server: LoopbackServer, client: ApiClient) -> None:
    # A Lua hook that fails on purpose is named by its hook id only. lakeFS lists hooks it
    # did not run as "skipped", a status its API description lacks.
    lua = "commit: pre-commit hook aborted, run id '4oicvg9ksduc9rigip60': 1 error occurred:\n\t* check: no README\n\n"
    hooks = HookServer([
        {"hook_run_id": "0000_0000", "action": "lint", "hook_id": "check", "status": "failed",
         "start_time": "2026-12-02T07:43:59Z"},
        {"hook_run_id": "0000_0001", "action": "lint", "hook_id": "after", "status": "skipped",
         "start_time": "0001-01-01T00:00:00Z"},
    ])
    server.handler = lambda request: hooks(request) if "/actions/" in request.path else lakefs_error(412, lua)
    error = raised(lambda: CommitsApi(client).commit("repo", "dev", CommitCreation(message="m")))
    assert (error.run_id, error.hook_run_ids, error.hook_event) == ("4oicvg9ksduc9rigip60", [], "pre-commit")
    with lakefs_sdk.LakeFSClient(client.configuration) as lakefs_client:
        assert failed_hook_output(lakefs_client, error) == "output of 0000_0000\n"
    assert server.requests[-2].path.endswith("/runs/4oicvg9ksduc9rigip60/hooks")
    assert "amount=1000" in server.requests[-2].query


def test_failed_hook_output_refuses_errors_that_are_not_hook_rejections(client: ApiClient) -> None:
    error = raised(lambda: BranchesApi(client).get_branch("repo", "main"))
    with pytest.raises(lakefs_sdk.ApiValueError, match="not a hook rejection"):
        failed_hook_output(client, error)
    rejection = lakefs_sdk.PreconditionFailedException(412, body=json.dumps({"message": HOOK_MESSAGE}))
    with pytest.raises(lakefs_sdk.ApiValueError, match="pass repository="):
        failed_hook_output(client, rejection)


# -- data passed where a file name belongs -----------------------------------------------------


@pytest.mark.parametrize(
    "content, why",
    [
        ("id,v\n1,2\n", "line break"),
        ("id,v\r\n", "line break"),
        ("a\x00b", "NUL"),
        ("x" * 300, "longer than a file name"),
        ("d/" * 3000, "longer than a path"),
    ],
)
def test_text_that_cannot_be_a_file_name_is_refused_before_sending(
    server: LoopbackServer, client: ApiClient, content: str, why: str
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError, match=why) as info:
        upload(ObjectsApi(client), "repo", "main", "data.csv", content)
    assert "pass bytes for data" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(lakefs_sdk.ApiValueError, match="pass bytes"):
        ObjectsApi(client).upload_object("repo", "main", "data.csv", content=("data.csv", content))
    assert server.requests == []


def test_a_str_that_can_be_a_file_name_is_still_a_path(server: LoopbackServer, client: ApiClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stats = {"path": "data.csv", "path_type": "object", "physical_address": "local://x", "checksum": "c", "mtime": 1}
    server.handler = lambda request: Reply(201, json.dumps(stats))
    source = tmp_path / "data.csv"
    source.write_bytes(b"id,v\n1,2\n")
    upload(ObjectsApi(client), "repo", "main", "data.csv", str(source))
    assert server.requests[0].body == b"id,v\n1,2\n"
    with pytest.raises(FileNotFoundError):
        upload(ObjectsApi(client), "repo", "main", "data.csv", os.path.join(str(tmp_path), "missing.csv"))
    assert len(server.requests) == 1


# -- what the lakefs wrapper and lakefs-spec read ----------------------------------------------


def test_the_lakefs_wrapper_still_reads_status_reason_body_and_headers(server: LoopbackServer, client: ApiClient) -> None:
    wrapper = pytest.importorskip("lakefs.exceptions")
    server.handler = lambda request: lakefs_error(404, "not found")
    with pytest.raises(wrapper.NotFoundException) as info:
        with wrapper.api_exception_handler():
            ObjectsApi(client).stat_object("repo", "main", "a.csv")
    converted = info.value
    assert (converted.status_code, converted.reason, converted.body) == (404, "Not Found", {"message": "not found"})
    assert converted.headers["X-Request-Id"] == REQUEST_ID


def test_an_error_survives_pickling_whole(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(404, "branch 'v1' not found")
    error = raised(lambda: upload(ObjectsApi(client), "repo", "v1", "a.csv", b"1"))
    copy = pickle.loads(pickle.dumps(error))  # as a process pool sends it back
    assert type(copy) is lakefs_sdk.NotFoundException and str(copy) == str(error) and repr(copy) == repr(error)
    assert (copy.arguments, copy.hint, copy.request_id) == (error.arguments, error.hint, REQUEST_ID)
    refused = pickle.loads(pickle.dumps(lakefs_sdk.ApiTimeoutError("GET http://127.0.0.1:9/x: timed out")))
    assert type(refused) is lakefs_sdk.ApiTimeoutError and refused.status == 0 and "timed out" in str(refused)


def test_rendering_never_fails_on_odd_parts() -> None:
    odd: List[Optional[lakefs_sdk.ApiException]] = [
        lakefs_sdk.ApiException(),
        lakefs_sdk.ApiException(999, None, body=b"\xff\xfe"),
        lakefs_sdk.ApiException(400, body="{not json"),
        lakefs_sdk.UnexpectedResponseError(200),
    ]
    for error in odd:
        assert error is not None and "\n" not in str(error) and repr(error)
    assert str(odd[0]) == "no response"
    assert str(odd[3]) == "unreadable 200 response"
    named = lakefs_sdk.ApiException(404, "Not Found")
    named.api_method, named.arguments = "get_tag", {"repository": "r", "tag": "v1"}
    assert str(named) == "get_tag(repository='r', tag='v1') failed: 404 Not Found"


# -- a storage namespace that cannot be reused ------------------------------------------------------

NAMESPACE_IN_USE = (
    "failed to create repository: found lakeFS objects in the storage (:local://data/sales) "
    "key(_lakefs/dummy): storage namespace already in use"
)


def test_a_namespace_in_use_hints_at_a_new_one(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(400, NAMESPACE_IN_USE)
    creation = lakefs_sdk.RepositoryCreation(name="sales", storage_namespace="local://data/sales")
    error = raised(lambda: lakefs_sdk.RepositoriesApi(client).create_repository(creation))
    assert isinstance(error, lakefs_sdk.BadRequestException)
    text = str(error)
    assert "\n" not in text
    assert text == (
        f"create_repository(name='sales') failed: 400 Bad Request: {NAMESPACE_IN_USE}. Hint: a storage namespace "
        "keeps the data of the repository created at it, even after that repository is deleted, and lakeFS does "
        "not reuse it: create the repository at a new storage namespace, e.g. 'local://data/sales-2' "
        f"(request id {REQUEST_ID})"
    )


def test_other_bad_requests_of_a_creation_get_no_namespace_hint(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: lakefs_error(400, "failed to create repository: bucket not found")
    creation = lakefs_sdk.RepositoryCreation(name="sales", storage_namespace="s3://no-such-bucket/x")
    assert raised(lambda: lakefs_sdk.RepositoriesApi(client).create_repository(creation)).hint is None


# -- an operation whose success is a redirect --------------------------------------------------------

WEB_UI = "<!DOCTYPE html><html><head><title>lakeFS</title></head><body><div id=\"root\"></div></body></html>"


def web_ui_after_a_redirect(request: Request) -> Reply:
    """lakeFS with OIDC: the callback redirects (302) to the web UI, which answers with its page."""
    if request.path == "/api/v1/oidc/callback":
        return Reply(302, "", {"Location": "/", "Set-Cookie": "internal_auth_session=x; Path=/"})
    return Reply(200, WEB_UI, {"Content-Type": "text/html; charset=utf-8"})


def test_a_redirect_to_the_web_ui_is_the_oauth_callbacks_success(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = web_ui_after_a_redirect
    auth = lakefs_sdk.AuthApi(client)
    assert auth.oauth_callback() is None
    response = auth.oauth_callback_with_http_info()
    assert response.status_code == 200 and response.data is None and response.raw_data == WEB_UI.encode()
    assert [r.path for r in server.requests] == ["/api/v1/oidc/callback", "/"] * 2, "the redirect was followed"


def test_a_redirect_to_the_web_ui_is_the_oauth_callbacks_success_async(server: LoopbackServer) -> None:
    import asyncio

    server.handler = web_ui_after_a_redirect

    async def main() -> object:
        configuration = Configuration(host=server.url + "/api/v1")
        async with lakefs_sdk.aio.AsyncApiClient(configuration) as api_client:
            return await lakefs_sdk.aio.AuthApi(api_client).oauth_callback()

    assert asyncio.run(main()) is None
    assert [r.path for r in server.requests] == ["/api/v1/oidc/callback", "/"]


def test_a_web_page_still_fails_an_operation_with_a_2xx_success(server: LoopbackServer, client: ApiClient) -> None:
    server.handler = lambda request: Reply(200, WEB_UI, {"Content-Type": "text/html; charset=utf-8"})
    error = raised(lambda: CommitsApi(client).commit("repo", "main", CommitCreation(message="m")))
    assert isinstance(error, lakefs_sdk.UnexpectedResponseError)
    assert "the 200 response is not one commit answers with" in str(error)


def test_the_operations_whose_success_is_a_redirect_are_the_hinted_ones() -> None:
    import yaml

    from lakefs_sdk._errors import success_is_a_redirect
    from lakefs_sdk._operation import Operation
    from lakefs_sdk._operations import auth_api

    spec_path = os.path.join(os.path.dirname(__file__), "..", "..", "api", "openapi.yaml")
    with open(spec_path, encoding="utf-8") as source:
        spec = yaml.safe_load(source)
    hinted = {
        operation["operationId"]
        for path_item in spec["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "x-lakefs-success-by-redirect" in operation
    }
    import importlib
    import pkgutil

    import lakefs_sdk._operations as operations

    redirecting = set()
    for info in pkgutil.iter_modules(operations.__path__):
        module = importlib.import_module(f"{operations.__name__}.{info.name}")
        redirecting |= {
            value.operation_id for value in vars(module).values()
            if isinstance(value, Operation) and success_is_a_redirect(value)
        }
    assert hinted == redirecting == {"oauthCallback"}
    assert success_is_a_redirect(auth_api.OAUTH_CALLBACK) and not success_is_a_redirect(auth_api.LOGIN)
