"""The ``actions`` tag on the real server: webhook hooks run on commit and merge, and their
runs, hook runs and hook outputs read back.

Each test commits a ``_lakefs_actions/*.yaml`` file whose webhook points at a receiver on
127.0.0.1 (tests/support/webhook.py). Actions are on by default, and lakeFS's webhook
client calls any URL, loopback included.

What lakeFS does, and these tests rely on:

* a pre-commit hook is read from the branch itself, staged files included, so the commit
  that adds an action file already runs it; lakeFS caches the list of action files per
  repository and source ref for about 5 s, so each scenario uses its own branch (or
  repository) rather than adding action files to a branch that just ran hooks;
* a pre-merge hook is read from the source commit;
* a webhook answering a non-2xx status (or not answering) fails its hook, and the commit
  or merge is refused with 412; the message names the run, the hook run, the action and
  the hook: ``pre-commit hook aborted, run id '<run>': 1 error occurred:\\n\\t* hook run
  id '<hook run>' failed on action '<action>' hook '<hook>': action failed: webhook
  request failed (status code: 400)\\n\\n`` (a merge prefixes ``update branch <dest>: ``);
* a hook lakeFS cannot even evaluate (a bad ``if`` expression) fails the call with 500.
"""

from __future__ import annotations

import json
import re
from typing import Dict, Iterator, List, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk.hooks import failed_hooks
from lakefs_sdk.models import ActionRun, BranchCreation, Commit, CommitCreation, HookRun

from support.lakefs import Wire, statuses
from support.webhook import HookCall, WebhookReceiver

MAIN = "main"
ADMIN = "admin"
RUN_ID = re.compile(r"hook aborted, run id '([^']+)'")
HOOK_RUN_ID = re.compile(r"hook run id '([^']+)'")


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def action_file(name: str, events: Dict[str, List[str]], webhooks: List[Tuple[str, str]], extra: str = "") -> bytes:
    """An action file: ``events`` maps an event type to the branches it runs for, ``webhooks``
    lists ``(hook id, url)``, ``extra`` is one more line for each hook (an ``if:``, say)."""
    lines = [f"name: {name}", "on:"]
    for event, branches in events.items():
        lines += [f"  {event}:", f"    branches: {json.dumps(branches)}"]
    lines.append("hooks:")
    for hook_id, url in webhooks:
        lines += [f"  - id: {hook_id}", "    type: webhook"]
        if extra:
            lines.append(f"    {extra}")
        lines += ["    properties:", f"      url: {url}"]
    return ("\n".join(lines) + "\n").encode()


def put(client: lakefs_sdk.LakeFSClient, repo: str, path: str, content: bytes, branch: str = MAIN) -> None:
    client.objects_api.upload_object(repo, branch, path, content=content)


def commit(client: lakefs_sdk.LakeFSClient, repo: str, message: str, branch: str = MAIN) -> Commit:
    return client.commits_api.commit(repo, branch, CommitCreation(message=message))


def branch_from(client: lakefs_sdk.LakeFSClient, repo: str, name: str, source: str = MAIN) -> None:
    client.branches_api.create_branch(repo, BranchCreation(name=name, source=source))


def head(client: lakefs_sdk.LakeFSClient, repo: str, branch: str = MAIN) -> str:
    return client.branches_api.get_branch(repo, branch).commit_id


def runs(client: lakefs_sdk.LakeFSClient, repo: str, **filters: str) -> List[ActionRun]:
    return list(client.actions_api.list_repository_runs_iter(repo, **filters))  # type: ignore[arg-type]


def hook_runs(client: lakefs_sdk.LakeFSClient, repo: str, run_id: str) -> List[HookRun]:
    return list(client.actions_api.list_run_hooks_iter(repo, run_id))


def output(client: lakefs_sdk.LakeFSClient, repo: str, run_id: str, hook_run_id: str) -> str:
    return bytes(client.actions_api.get_run_hook_output(repo, run_id, hook_run_id)).decode("utf-8")


def assert_event(call: HookCall, event: str, repo: str, branch: str, action: str, hook_id: str) -> None:
    body = call.body
    assert call.method == "POST" and call.headers.get("content-type") == "application/json"
    assert isinstance(body, dict), call.raw_body
    assert (body["event_type"], body["repository_id"], body["branch_id"]) == (event, repo, branch)
    assert (body["action_name"], body["hook_id"], body["committer"]) == (action, hook_id, ADMIN)


# -- hooks that allow -------------------------------------------------------------------------


def test_allowed_commits_record_runs_with_their_hooks(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, hooks: WebhookReceiver, wire: Wire
) -> None:
    hooks.answer("/first", 200, "first ok from h4")
    hooks.answer("/second", 201, {"ok": True})
    action = action_file(
        "h4 checks",
        {"pre-commit": [MAIN]},
        [("first_check", hooks.url("/first")), ("second_check", hooks.url("/second"))],
    )
    put(lakefs_client, repo, "_lakefs_actions/h4_checks.yaml", action)
    put(lakefs_client, repo, "data/one.txt", b"1")
    first = commit(lakefs_client, repo, "add the checks")
    put(lakefs_client, repo, "data/two.txt", b"2")
    second = commit(lakefs_client, repo, "second commit")
    assert head(lakefs_client, repo) == second.id

    # The receiver saw each hook once per commit, with the event lakeFS documents.
    for path, hook_id in (("/first", "first_check"), ("/second", "second_check")):
        calls = hooks.calls_to(path)
        assert [c.body["commit_message"] for c in calls] == ["add the checks", "second commit"]
        for call in calls:
            assert_event(call, "pre-commit", repo, MAIN, "h4 checks", hook_id)
            assert call.body["source_ref"] == MAIN

    # Runs: one per commit, filtered by branch and by commit, paged.
    listed = runs(lakefs_client, repo)
    assert sorted(r.commit_id for r in listed) == sorted([first.id, second.id])
    assert {(r.event_type, r.status, r.branch) for r in listed} == {("pre-commit", "completed", MAIN)}
    assert all(r.end_time is not None and r.end_time >= r.start_time for r in listed)
    assert [r.run_id for r in runs(lakefs_client, repo, branch=MAIN)] == [r.run_id for r in listed]
    assert runs(lakefs_client, repo, branch="h4-no-runs-here") == []
    by_commit = lakefs_client.actions_api.list_repository_runs(repo, commit=first.id)
    assert [r.commit_id for r in by_commit.results] == [first.id]
    page = lakefs_client.actions_api.list_repository_runs(repo, amount=1)
    assert len(page.results) == 1 and page.pagination.has_more is True
    rest = lakefs_client.actions_api.list_repository_runs(repo, after=page.pagination.next_offset, amount=1)
    assert [r.run_id for r in page.results + rest.results] == [r.run_id for r in listed]
    assert wire.last("listRepositoryRuns").request.query.startswith("after=")

    run = lakefs_client.actions_api.get_run(repo, by_commit.results[0].run_id)
    assert run == by_commit.results[0]
    assert run.start_time.tzinfo is not None

    # Hook runs of the first commit, and what each hook sent and got back.
    hooks_of_run = hook_runs(lakefs_client, repo, run.run_id)
    assert sorted(h.hook_id for h in hooks_of_run) == ["first_check", "second_check"]
    assert {(h.action, h.status) for h in hooks_of_run} == {("h4 checks", "completed")}
    one = lakefs_client.actions_api.list_run_hooks(repo, run.run_id, amount=1)
    assert len(one.results) == 1 and one.pagination.has_more is True
    by_hook = {h.hook_id: h for h in hooks_of_run}
    first_call = hooks.calls_to("/first")[0]
    text = output(lakefs_client, repo, run.run_id, by_hook["first_check"].hook_run_id)
    assert f"POST {hooks.url('/first')}" in text
    assert first_call.raw_body.decode() in text, "the request body lakeFS sent, verbatim"
    assert "HTTP/1.1 200 OK" in text and text.rstrip().endswith("first ok from h4")
    text = output(lakefs_client, repo, run.run_id, by_hook["second_check"].hook_run_id)
    assert "HTTP/1.1 201 Created" in text and '{"ok": true}' in text
    sent = wire.last("getRunHookOutput")
    assert sent.status == 200 and sent.request.header("Accept") == "application/octet-stream, application/json"


def test_unknown_runs_and_hooks_are_not_found(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    api = lakefs_client.actions_api
    assert api.list_repository_runs(repo).results == []
    with pytest.raises(lakefs_sdk.NotFoundException) as no_run:
        api.get_run(repo, "h4-no-such-run")
    with pytest.raises(lakefs_sdk.NotFoundException) as no_output:
        api.get_run_hook_output(repo, "h4-no-such-run", "0000_0000")
    for error in (no_run.value, no_output.value):
        assert error.status == 404 and error.request_id and error.message


# -- hooks that refuse ------------------------------------------------------------------------


def test_a_failing_pre_commit_hook_blocks_the_commit(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, hooks: WebhookReceiver, wire: Wire
) -> None:
    hooks.answer("/deny", 400, "h4 says no")
    action = action_file("h4 gate", {"pre-commit": ["guarded"]}, [("deny_commit", hooks.url("/deny"))])
    put(lakefs_client, repo, "_lakefs_actions/h4_gate.yaml", action)
    base = commit(lakefs_client, repo, "add the gate")
    assert hooks.calls == [] and runs(lakefs_client, repo) == [], "no action matches main: no run at all"

    branch_from(lakefs_client, repo, "guarded")
    put(lakefs_client, repo, "blocked.txt", b"B", branch="guarded")
    with pytest.raises(lakefs_sdk.PreconditionFailedException) as refused:
        commit(lakefs_client, repo, "should not land", branch="guarded")
    error = refused.value
    assert error.status == 412 and error.request_id and error.message
    assert error.message.startswith("pre-commit hook aborted, run id '")
    assert "failed on action 'h4 gate' hook 'deny_commit'" in error.message
    assert error.message.endswith("action failed: webhook request failed (status code: 400)\n\n")
    assert statuses(wire.exchanges(), "commit") == [201, 412], "412 is an answer: not retried"
    run_id = RUN_ID.search(error.message).group(1)  # type: ignore[union-attr]
    hook_run_id = HOOK_RUN_ID.search(error.message).group(1)  # type: ignore[union-attr]

    # Nothing was committed: the head did not move and the object is still staged.
    assert head(lakefs_client, repo, "guarded") == base.id
    staged = lakefs_client.branches_api.diff_branch(repo, "guarded").results
    assert [(d.type, d.path) for d in staged] == [("added", "blocked.txt")]

    (call,) = hooks.calls_to("/deny")
    assert_event(call, "pre-commit", repo, "guarded", "h4 gate", "deny_commit")
    assert call.body["commit_message"] == "should not land"

    run = lakefs_client.actions_api.get_run(repo, run_id)
    assert (run.event_type, run.status, run.branch, run.commit_id) == ("pre-commit", "failed", "guarded", "")
    assert [r.run_id for r in runs(lakefs_client, repo, branch="guarded")] == [run_id]
    (hook_run,) = hook_runs(lakefs_client, repo, run_id)
    assert (hook_run.hook_run_id, hook_run.hook_id, hook_run.status) == (hook_run_id, "deny_commit", "failed")
    text = output(lakefs_client, repo, run_id, hook_run_id)
    assert call.raw_body.decode() in text and "HTTP/1.1 400 Bad Request" in text and "h4 says no" in text
    assert "Error: action failed: webhook request failed (status code: 400)" in text

    # Once the webhook allows it, the same commit goes through.
    hooks.answer("/deny", 200, "fine now")
    landed = commit(lakefs_client, repo, "lands now", branch="guarded")
    assert head(lakefs_client, repo, "guarded") == landed.id and landed.parents == [base.id]
    assert sorted(r.status for r in runs(lakefs_client, repo, branch="guarded")) == ["completed", "failed"]


def test_a_failing_pre_merge_hook_blocks_the_merge(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, hooks: WebhookReceiver
) -> None:
    action = action_file("h4 merge gate", {"pre-merge": [MAIN]}, [("merge_check", hooks.url("/merge"))])
    put(lakefs_client, repo, "_lakefs_actions/h4_merge.yaml", action)
    commit(lakefs_client, repo, "add the merge gate")

    branch_from(lakefs_client, repo, "feature-1")
    put(lakefs_client, repo, "one.txt", b"1", branch="feature-1")
    source = commit(lakefs_client, repo, "feature one", branch="feature-1")
    merged = lakefs_client.refs_api.merge_into_branch(repo, "feature-1", MAIN)
    assert head(lakefs_client, repo) == merged.reference
    (allowed,) = hooks.calls_to("/merge")
    assert_event(allowed, "pre-merge", repo, MAIN, "h4 merge gate", "merge_check")
    assert (allowed.body["merge_source"], allowed.body["source_ref"]) == ("feature-1", source.id)
    assert allowed.body["commit_id"] == merged.reference
    (done,) = runs(lakefs_client, repo, branch=MAIN)
    assert (done.event_type, done.status, done.commit_id) == ("pre-merge", "completed", merged.reference)

    hooks.answer("/merge", 500, {"why": "h4 merge refused"})
    branch_from(lakefs_client, repo, "feature-2")
    put(lakefs_client, repo, "two.txt", b"2", branch="feature-2")
    commit(lakefs_client, repo, "feature two", branch="feature-2")
    with pytest.raises(lakefs_sdk.PreconditionFailedException) as refused:
        lakefs_client.refs_api.merge_into_branch(repo, "feature-2", MAIN)
    error = refused.value
    assert error.status == 412 and error.request_id and error.message
    assert error.message.startswith("update branch main: pre-merge hook aborted, run id '")
    assert "failed on action 'h4 merge gate' hook 'merge_check'" in error.message
    assert "webhook request failed (status code: 500)" in error.message
    run_id = RUN_ID.search(error.message).group(1)  # type: ignore[union-attr]

    assert head(lakefs_client, repo) == merged.reference, "main did not move"
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.objects_api.stat_object(repo, MAIN, "two.txt")
    run = lakefs_client.actions_api.get_run(repo, run_id)
    assert (run.event_type, run.status, run.branch) == ("pre-merge", "failed", MAIN)
    assert run.commit_id == hooks.calls_to("/merge")[1].body["commit_id"], "the merge commit that was refused"
    (hook_run,) = hook_runs(lakefs_client, repo, run_id)
    text = output(lakefs_client, repo, run_id, hook_run.hook_run_id)
    assert "HTTP/1.1 500 Internal Server Error" in text and '{"why": "h4 merge refused"}' in text


def test_every_failed_hook_is_named_in_the_412(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, hooks: WebhookReceiver
) -> None:
    """Two actions fail at once (they run in parallel): one webhook answers 403, the other
    is unreachable. The message lists both hook runs, in no fixed order."""
    hooks.answer("/deny", 403, "h4 forbids")
    with WebhookReceiver() as closed:  # a port that nothing listens on once it is closed
        nowhere = closed.url("/gone")
    gate = action_file("h4 gate", {"pre-commit": ["guarded"]}, [("deny_commit", hooks.url("/deny"))])
    unreachable = action_file("h4 nowhere", {"pre-commit": ["guarded"]}, [("call_nowhere", nowhere)])
    put(lakefs_client, repo, "_lakefs_actions/h4_gate.yaml", gate)
    put(lakefs_client, repo, "_lakefs_actions/h4_nowhere.yaml", unreachable)
    commit(lakefs_client, repo, "add the hooks")
    branch_from(lakefs_client, repo, "guarded")
    put(lakefs_client, repo, "x.txt", b"x", branch="guarded")
    with pytest.raises(lakefs_sdk.PreconditionFailedException) as refused:
        commit(lakefs_client, repo, "nobody lets it in", branch="guarded")
    message = refused.value.message or ""
    assert refused.value.status == 412 and "': 2 errors occurred:\n" in message
    assert (
        "failed on action 'h4 gate' hook 'deny_commit': action failed: webhook request failed (status code: 403)"
        in message
    )
    assert f"failed on action 'h4 nowhere' hook 'call_nowhere': action failed: Post \"{nowhere}\": " in message
    assert "connection refused" in message

    run_id = RUN_ID.search(message).group(1)  # type: ignore[union-attr]
    named = set(HOOK_RUN_ID.findall(message))
    listed = hook_runs(lakefs_client, repo, run_id)
    assert {h.hook_run_id for h in listed} == named and len(named) == 2
    assert {(h.hook_id, h.status) for h in listed} == {("deny_commit", "failed"), ("call_nowhere", "failed")}
    assert lakefs_client.actions_api.get_run(repo, run_id).status == "failed"
    by_hook = {h.hook_id: h.hook_run_id for h in listed}
    assert "connection refused" in output(lakefs_client, repo, run_id, by_hook["call_nowhere"])
    assert "h4 forbids" in output(lakefs_client, repo, run_id, by_hook["deny_commit"])
    reasons = {hook.hook_id: (hook.ran, hook.reason) for hook in failed_hooks(lakefs_client, refused.value)}
    assert reasons["deny_commit"] == (True, "webhook answered 403 Forbidden: h4 forbids")
    assert reasons["call_nowhere"][0] is False
    assert reasons["call_nowhere"][1].startswith(f'no answer from the webhook: Post "{nowhere}": ')


def test_a_hook_lakefs_cannot_evaluate_fails_with_500(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, hooks: WebhookReceiver, wire: Wire
) -> None:
    """A GitHub-style ``if: ${{ ... }}`` is no lakeFS expression: the hook fails before any
    call, and lakeFS answers 500 (not 412); the commit is a POST, so it is not retried."""
    action = action_file(
        "h4 bad if", {"pre-commit": ["guarded"]}, [("never_called", hooks.url("/never"))], "if: ${{ success() }}"
    )
    put(lakefs_client, repo, "_lakefs_actions/h4_bad_if.yaml", action)
    commit(lakefs_client, repo, "add the hook")
    branch_from(lakefs_client, repo, "guarded")
    put(lakefs_client, repo, "x.txt", b"x", branch="guarded")
    with pytest.raises(lakefs_sdk.ServiceException) as failed:
        commit(lakefs_client, repo, "cannot evaluate", branch="guarded")
    error = failed.value
    assert type(error) is lakefs_sdk.ServiceException and error.status == 500 and error.request_id
    assert "failed on action 'h4 bad if' hook 'never_called'" in (error.message or "")
    assert hooks.calls == []
    assert statuses(wire.exchanges(), "commit") == [201, 500]
    run_id = RUN_ID.search(error.message or "").group(1)  # type: ignore[union-attr]
    (hook_run,) = hook_runs(lakefs_client, repo, run_id)
    assert hook_run.status == "failed"
    assert "${{ success() }}" in output(lakefs_client, repo, run_id, hook_run.hook_run_id)

    # The hook never ran: the hint does not say it rejected the commit, and its reason says why.
    assert error.hint is not None and error.hint.startswith("no hook rejected it: the pre-commit hook did not run (")
    assert "check the hook's definition in _lakefs_actions/" in error.hint
    (failed_hook,) = failed_hooks(lakefs_client, error)
    assert failed_hook.ran is False and failed_hook.reason.startswith("did not run: ")
