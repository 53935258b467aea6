"""The ``refs`` tag on the real server: commit logs with every filter, merges, merge bases and diffs.

Every operation of RefsApi (logCommits, mergeIntoBranch, findMergeBase, diffRefs) is called
through the recording proxy; merges are read back through get_commit, log_commits, diff_refs
and the object listing. Commits that a test orders carry explicit ``date`` overrides, so the
log's order (newest first, by creation date) never depends on the clock.
"""

from __future__ import annotations

import datetime
from typing import List, Literal, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk.models import (
    BranchCreation,
    Commit,
    CommitCreation,
    Diff,
    FindMergeBaseResult,
    Merge,
    MergeResult,
    TagCreation,
)

from support.contract import json_body, query, query_dict
from support.lakefs import LakeFS, Wire

ADMIN = "admin"  # the user scripts/lakefs_server.py sets the server up with
STRATEGY_KEY = ".lakefs.merge.strategy"  # lakeFS records the merge strategy in the commit metadata
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
# lakeFS through this version answers findMergeBase with source_commit_id and
# destination_commit_id exchanged (Catalog.FindMergeBase hands them back in the other order).
SWAPPED_MERGE_BASE = (1, 86, 0)
Client = lakefs_sdk.LakeFSClient


def commit_files(client: Client, repo: str, branch: str, files: dict[str, bytes], date: int | None = None) -> Commit:
    """Upload ``files`` to ``branch`` (``b""`` deletes a path) and commit, optionally back-dated."""
    for path, data in files.items():
        if data:
            client.objects_api.upload_object(repo, branch, path, content=data)
        else:
            client.objects_api.delete_object(repo, branch, path)
    creation = CommitCreation(message=f"{branch}: {', '.join(files)}", date=date)
    return client.commits_api.commit(repo, branch, creation)


def content(client: Client, repo: str, ref: str) -> dict[str, bytes]:
    """Every object under ``ref``, path -> bytes."""
    listing = client.objects_api.list_objects(repo, ref).results
    return {o.path: client.objects_api.get_object(repo, ref, o.path) for o in listing}


def ids(commits: List[Commit]) -> List[str]:
    return [c.id for c in commits]


def pairs(diffs: List[Diff]) -> List[Tuple[str, str]]:
    return [(d.type, d.path) for d in diffs]


def assert_server_error(error: lakefs_sdk.ApiException, status: int, message_part: str) -> None:
    """The typed exception carries the server's status, its own message and the request id."""
    assert error.status == status
    assert error.message is not None and message_part in error.message, error.message
    assert error.request_id


def utc(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


# -- log -------------------------------------------------------------------------------------


@pytest.fixture
def history(lakefs_client: Client, repo: str) -> List[Commit]:
    """Four back-dated commits on main, newest first, then the repository's first commit."""
    c1 = commit_files(lakefs_client, repo, "main", {"data/a.csv": b"a1", "logs/1.log": b"l"}, date=T0)
    c2 = commit_files(lakefs_client, repo, "main", {"data/b.csv": b"b"}, date=T0 + 100)
    c3 = commit_files(lakefs_client, repo, "main", {"other/x": b"x"}, date=T0 + 200)
    c4 = commit_files(lakefs_client, repo, "main", {"data/a.csv": b"a2"}, date=T0 + 300)
    root = lakefs_client.commits_api.get_commit(repo, c1.parents[0])
    return [c4, c3, c2, c1, root]


def test_log_commits_amount_and_after(lakefs_client: Client, repo: str, history: List[Commit], wire: Wire) -> None:
    refs = lakefs_client.refs_api
    c4, c3, c2, c1, root = history

    everything = refs.log_commits(repo, "main")
    assert everything.results == history
    assert everything.pagination.has_more is False and everything.results[0].committer == ADMIN
    assert root.parents == [] and root.message == "Repository created"

    page = refs.log_commits(repo, "main", amount=2)
    assert ids(page.results) == [c4.id, c3.id]
    assert page.pagination.has_more is True and page.pagination.next_offset == c3.id
    # ``after`` is a commit ID, exclusive.
    assert ids(refs.log_commits(repo, "main", after=c3.id).results) == [c2.id, c1.id, root.id]
    assert query_dict(wire.last("logCommits")) == {"after": c3.id}
    assert ids(refs.log_commits(repo, c2.id).results) == [c2.id, c1.id, root.id]


def test_log_commits_iter_follows_every_page(
    lakefs_client: Client, repo: str, history: List[Commit], wire: Wire
) -> None:
    mark = len(wire.exchanges())

    assert list(lakefs_client.refs_api.log_commits_iter(repo, "main", amount=2)) == history

    pages = [e for e in wire.exchanges()[mark:] if e.operation_id == "logCommits"]
    assert [query_dict(e).get("after") for e in pages] == [None, history[1].id, history[3].id]
    prefixed = lakefs_client.refs_api.log_commits_iter(repo, "main", prefixes=["data/"], amount=1)
    assert ids(list(prefixed)) == ids([history[0], history[2], history[3]])


def test_log_commits_objects_prefixes_and_limit(
    lakefs_client: Client, repo: str, history: List[Commit], wire: Wire
) -> None:
    refs = lakefs_client.refs_api
    c4, c3, c2, c1, _ = history

    assert ids(refs.log_commits(repo, "main", objects=["data/a.csv"]).results) == [c4.id, c1.id]
    assert ids(refs.log_commits(repo, "main", prefixes=["data/"]).results) == [c4.id, c2.id, c1.id]
    # objects and prefixes together: commits touching any of them.
    both = refs.log_commits(repo, "main", objects=["other/x"], prefixes=["logs/", "nothing/"])
    assert ids(both.results) == [c3.id, c1.id]
    assert query(wire.last("logCommits")) == [
        ("objects", "other/x"),
        ("prefixes", "logs/"),
        ("prefixes", "nothing/"),
    ]

    # ``limit``: stop at ``amount`` matches instead of looking for one more (no has_more then).
    unlimited = refs.log_commits(repo, "main", objects=["data/a.csv"], amount=1)
    assert ids(unlimited.results) == [c4.id] and unlimited.pagination.has_more is True
    limited = refs.log_commits(repo, "main", objects=["data/a.csv"], amount=1, limit=True)
    assert ids(limited.results) == [c4.id] and limited.pagination.has_more is False
    assert query_dict(wire.last("logCommits"))["limit"] == "true"


def test_log_commits_since_and_stop_at(lakefs_client: Client, repo: str, history: List[Commit], wire: Wire) -> None:
    refs = lakefs_client.refs_api
    c4, c3, c2, _, _ = history

    # since: commits created at or after the instant (an aware datetime goes out as ISO 8601).
    between = refs.log_commits(repo, "main", since=utc(T0 + 150))
    assert ids(between.results) == [c4.id, c3.id]
    assert query_dict(wire.last("logCommits")) == {"since": "2023-11-14T22:15:50+00:00"}
    assert ids(refs.log_commits(repo, "main", since=utc(T0 + 100)).results) == [c4.id, c3.id, c2.id]
    # A naive datetime is sent as UTC; a string is passed through as given.
    naive = datetime.datetime(2023, 11, 14, 22, 15, 50)
    assert ids(refs.log_commits(repo, "main", since=naive).results) == [c4.id, c3.id]
    assert query_dict(wire.last("logCommits")) == {"since": "2023-11-14T22:15:50Z"}
    as_text = refs.log_commits(repo, "main", since="2023-11-14T22:18:19Z")  # type: ignore[arg-type]
    assert ids(as_text.results) == [c4.id]
    assert refs.log_commits(repo, "main", since=utc(T0 + 301)).results == []

    # stop_at: the log ends with that commit, given as an ID or any ref.
    assert ids(refs.log_commits(repo, "main", stop_at=c2.id).results) == [c4.id, c3.id, c2.id]
    lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref=c3.id))
    assert ids(refs.log_commits(repo, "main", stop_at="v1").results) == [c4.id, c3.id]
    assert query_dict(wire.last("logCommits")) == {"stop_at": "v1"}
    combined = refs.log_commits(repo, "main", since=utc(T0 + 50), stop_at=c2.id, prefixes=["data/"])
    assert ids(combined.results) == [c4.id, c2.id]

    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        refs.log_commits(repo, "main", stop_at="no-such-ref")
    assert_server_error(missing.value, 404, "stop_at: not found")


def test_log_commits_first_parent_skips_merged_branches(lakefs_client: Client, repo: str, wire: Wire) -> None:
    refs = lakefs_client.refs_api
    base = commit_files(lakefs_client, repo, "main", {"base": b"0"}, date=T0)
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    f1 = commit_files(lakefs_client, repo, "feature", {"f1": b"1"}, date=T0 + 10)
    f2 = commit_files(lakefs_client, repo, "feature", {"f2": b"2"}, date=T0 + 20)
    m1 = commit_files(lakefs_client, repo, "main", {"m1": b"1"}, date=T0 + 30)
    merged = refs.merge_into_branch(repo, "feature", "main").reference

    full = refs.log_commits(repo, "main").results
    assert ids(full)[0] == merged
    assert set(ids(full)) == {merged, m1.id, f2.id, f1.id, base.id, base.parents[0]}
    assert ids(full)[1:] == [m1.id, f2.id, f1.id, base.id, base.parents[0]]

    first_parent = refs.log_commits(repo, "main", first_parent=True).results
    assert ids(first_parent) == [merged, m1.id, base.id, base.parents[0]]
    assert query_dict(wire.last("logCommits")) == {"first_parent": "true"}
    # On the feature's side of the graph, first_parent follows the feature's own line.
    assert ids(refs.log_commits(repo, f2.id, first_parent=True).results) == [f2.id, f1.id, base.id, base.parents[0]]


# -- merge -----------------------------------------------------------------------------------


def test_merge_of_a_branch_ahead_of_main_still_makes_a_merge_commit(
    lakefs_client: Client, repo: str, wire: Wire
) -> None:
    """Fast-forward-able: lakeFS never fast-forwards; the merge commit takes the source's content."""
    head = commit_files(lakefs_client, repo, "main", {"a": b"a"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    ahead = commit_files(lakefs_client, repo, "feature", {"b": b"b"})

    result = lakefs_client.refs_api.merge_into_branch(repo, "feature", "main")

    sent = wire.last("mergeIntoBranch")
    assert sent.status == 200 and sent.method == "POST"
    assert isinstance(result, MergeResult) and len(result.reference) == 64
    merged = lakefs_client.commits_api.get_commit(repo, result.reference)
    assert merged.parents == [head.id, ahead.id]
    assert merged.meta_range_id == ahead.meta_range_id
    assert merged.message == "Merge 'feature' into 'main'" and merged.committer == ADMIN
    assert merged.metadata == {STRATEGY_KEY: "default"}
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == result.reference
    assert content(lakefs_client, repo, "main") == {"a": b"a", "b": b"b"}
    for kind in ("two_dot", "three_dot"):
        assert lakefs_client.refs_api.diff_refs(repo, "main", "feature", type=kind).results == []


def test_true_merge_with_message_and_metadata(lakefs_client: Client, repo: str, wire: Wire) -> None:
    refs = lakefs_client.refs_api
    commit_files(lakefs_client, repo, "main", {"base": b"0"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    feature = commit_files(lakefs_client, repo, "feature", {"f": b"f"})
    main = commit_files(lakefs_client, repo, "main", {"m": b"m"})

    merge = Merge(message="Merge the feature", metadata={"reviewer": "jane", "ticket": "DATA-7"})
    result = refs.merge_into_branch(repo, "feature", "main", merge)

    assert json_body(wire.last("mergeIntoBranch")) == {
        "message": "Merge the feature",
        "metadata": {"reviewer": "jane", "ticket": "DATA-7"},
        "force": False,
        "allow_empty": False,
        "squash_merge": False,
    }
    merged = lakefs_client.commits_api.get_commit(repo, result.reference)
    assert merged.parents == [main.id, feature.id]
    assert merged.message == "Merge the feature"
    assert merged.metadata == {"reviewer": "jane", "ticket": "DATA-7", STRATEGY_KEY: "default"}
    assert refs.log_commits(repo, "main", amount=1).results == [merged]
    assert content(lakefs_client, repo, "main") == {"base": b"0", "f": b"f", "m": b"m"}
    # From their merge base (now the feature's head) the feature has nothing main lacks ...
    assert refs.diff_refs(repo, "main", "feature").results == []
    # ... while compared directly, main holds what the feature never had.
    assert pairs(refs.diff_refs(repo, "main", "feature", type="two_dot").results) == [("removed", "m")]
    # The source branch itself did not move.
    assert lakefs_client.branches_api.get_branch(repo, "feature").commit_id == feature.id


@pytest.fixture
def conflicting(lakefs_client: Client, repo: str) -> str:
    """Branches ``source`` and ``dest`` (and ``dest-2``) changed ``top`` differently since their base."""
    commit_files(lakefs_client, repo, "main", {"top": b"base", "other": b"o"})
    for name in ("source", "dest", "dest-2"):
        lakefs_client.branches_api.create_branch(repo, BranchCreation(name=name, source="main"))
    commit_files(lakefs_client, repo, "source", {"top": b"from source", "s-only": b"s"})
    for name in ("dest", "dest-2"):
        commit_files(lakefs_client, repo, name, {"top": b"from dest"})
    return repo


def test_merge_conflict_without_strategy_is_409(lakefs_client: Client, conflicting: str, wire: Wire) -> None:
    repo = conflicting
    head = lakefs_client.branches_api.get_branch(repo, "dest").commit_id
    assert pairs(lakefs_client.refs_api.diff_refs(repo, "dest", "source").results) == [
        ("added", "s-only"),
        ("conflict", "top"),
    ]

    with pytest.raises(lakefs_sdk.ConflictException) as conflict:
        lakefs_client.refs_api.merge_into_branch(repo, "source", "dest", Merge())
    error = conflict.value
    assert error.status == 409 and error.request_id
    # lakeFS answers a merge conflict with an empty MergeResult, not an Error: no message to show.
    assert wire.last("mergeIntoBranch").response_body.strip() == b'{"reference":""}'
    assert error.message is None
    assert lakefs_client.branches_api.get_branch(repo, "dest").commit_id == head
    assert lakefs_client.objects_api.get_object(repo, "dest", "top") == b"from dest"


@pytest.mark.parametrize(
    ("strategy", "branch", "winner"), [("dest-wins", "dest", b"from dest"), ("source-wins", "dest-2", b"from source")]
)
def test_merge_conflict_resolved_by_strategy(
    lakefs_client: Client,
    conflicting: str,
    wire: Wire,
    strategy: Literal["dest-wins", "source-wins"],
    branch: str,
    winner: bytes,
) -> None:
    repo = conflicting
    result = lakefs_client.refs_api.merge_into_branch(repo, "source", branch, Merge(strategy=strategy))

    assert json_body(wire.last("mergeIntoBranch"))["strategy"] == strategy
    merged = lakefs_client.commits_api.get_commit(repo, result.reference)
    assert merged.metadata == {STRATEGY_KEY: strategy}
    # The conflicting path goes to the winner; the source's other change comes in either way.
    assert content(lakefs_client, repo, branch) == {"top": winner, "other": b"o", "s-only": b"s"}
    assert lakefs_client.refs_api.diff_refs(repo, branch, "source").results == []


def test_merge_with_an_unknown_strategy_is_refused_before_sending(
    lakefs_client: Client, conflicting: str, wire: Wire
) -> None:
    """The spec lists the two strategies; lakeFS itself answers 400 "argument strategy: invalid value"."""
    with pytest.raises(ValueError, match="dest-wins"):
        Merge(strategy="theirs")  # type: ignore[arg-type]
    with pytest.raises(lakefs_sdk.ApiValueError):
        lakefs_client.refs_api.merge_into_branch(conflicting, "source", "dest", {"strategy": "theirs"})  # type: ignore[arg-type]
    assert "mergeIntoBranch" not in wire.operations()


def test_squash_merge_links_only_the_destination(lakefs_client: Client, repo: str, wire: Wire) -> None:
    refs = lakefs_client.refs_api
    head = commit_files(lakefs_client, repo, "main", {"a": b"a"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="work", source="main"))
    w1 = commit_files(lakefs_client, repo, "work", {"w1": b"1"})
    w2 = commit_files(lakefs_client, repo, "work", {"w2": b"2"})

    result = refs.merge_into_branch(repo, "work", "main", Merge(squash_merge=True, message="Squashed work"))

    assert json_body(wire.last("mergeIntoBranch"))["squash_merge"] is True
    squashed = lakefs_client.commits_api.get_commit(repo, result.reference)
    assert squashed.parents == [head.id] and squashed.message == "Squashed work"
    assert squashed.meta_range_id == w2.meta_range_id
    assert content(lakefs_client, repo, "main") == {"a": b"a", "w1": b"1", "w2": b"2"}
    log = ids(refs.log_commits(repo, "main").results)
    assert log[:2] == [squashed.id, head.id] and w1.id not in log and w2.id not in log
    # Not linked: the merge base is still where the branch started.
    assert refs.find_merge_base(repo, "work", "main").base_commit_id == head.id


def test_merge_with_nothing_to_merge(lakefs_client: Client, repo: str, wire: Wire) -> None:
    """Already merged, or a branch into itself: 400 "no changes", unless allow_empty."""
    refs, commits = lakefs_client.refs_api, lakefs_client.commits_api
    commit_files(lakefs_client, repo, "main", {"a": b"a"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    commit_files(lakefs_client, repo, "feature", {"b": b"b"})
    first = refs.merge_into_branch(repo, "feature", "main").reference

    with pytest.raises(lakefs_sdk.BadRequestException) as again:
        refs.merge_into_branch(repo, "feature", "main", Merge())
    assert_server_error(again.value, 400, "update branch main: no changes")
    with pytest.raises(lakefs_sdk.BadRequestException) as itself:
        refs.merge_into_branch(repo, "main", "main", Merge())
    assert_server_error(itself.value, 400, "update branch main: no changes")
    assert commits.get_commit(repo, "main").id == first

    empty = refs.merge_into_branch(repo, "feature", "main", Merge(allow_empty=True)).reference
    assert json_body(wire.last("mergeIntoBranch"))["allow_empty"] is True
    read = commits.get_commit(repo, empty)
    assert read.parents == [first, commits.get_commit(repo, "feature").id]
    assert read.meta_range_id == commits.get_commit(repo, first).meta_range_id

    # A branch merged into itself with allow_empty: a commit whose two parents are the same.
    self_merge = commits.get_commit(
        repo, refs.merge_into_branch(repo, "main", "main", Merge(allow_empty=True)).reference
    )
    assert self_merge.parents == [empty, empty] and self_merge.message == "Merge 'main' into 'main'"


def test_merge_sources_and_refused_destinations(lakefs_client: Client, repo: str) -> None:
    refs = lakefs_client.refs_api
    commit_files(lakefs_client, repo, "main", {"a": b"a"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    tagged = commit_files(lakefs_client, repo, "feature", {"b": b"b"})
    lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref=tagged.id))
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="by-id", source="main"))

    # Any ref is a source: a tag, a commit ID.
    from_tag = lakefs_client.commits_api.get_commit(repo, refs.merge_into_branch(repo, "v1", "main").reference)
    assert from_tag.parents[1] == tagged.id and from_tag.message == "Merge 'v1' into 'main'"
    refs.merge_into_branch(repo, tagged.id, "by-id")
    assert content(lakefs_client, repo, "by-id") == {"a": b"a", "b": b"b"}

    # The destination must be a branch.
    with pytest.raises(lakefs_sdk.NotFoundException) as into_tag:
        refs.merge_into_branch(repo, "feature", "v1", Merge(allow_empty=True))
    assert_server_error(into_tag.value, 404, "branch not found")
    with pytest.raises(lakefs_sdk.NotFoundException) as no_source:
        refs.merge_into_branch(repo, "no-such-ref", "main")
    assert_server_error(no_source.value, 404, "not found")

    # A destination with uncommitted changes is refused.
    lakefs_client.objects_api.upload_object(repo, "main", "dirt", content=b"d")
    commit_files(lakefs_client, repo, "feature", {"c": b"c"})
    with pytest.raises(lakefs_sdk.BadRequestException) as dirty:
        refs.merge_into_branch(repo, "feature", "main")
    assert_server_error(dirty.value, 400, "uncommitted changes (dirty branch)")
    assert lakefs_client.commits_api.get_commit(repo, "main").id == from_tag.id


# -- merge base ------------------------------------------------------------------------------


def test_find_merge_base(lakefs: LakeFS, lakefs_client: Client, repo: str, wire: Wire) -> None:
    """The base is right; lakeFS 1.84 and 1.86 swap the other two fields (see SWAPPED_MERGE_BASE)."""
    refs = lakefs_client.refs_api
    fork = commit_files(lakefs_client, repo, "main", {"a": b"a"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    feature = commit_files(lakefs_client, repo, "feature", {"f": b"f"})
    main = commit_files(lakefs_client, repo, "main", {"m": b"m"})

    found = refs.find_merge_base(repo, "feature", "main")

    sent = wire.last("findMergeBase")
    assert sent.status == 200 and sent.request.path.endswith("/refs/feature/merge/main")
    assert isinstance(found, FindMergeBaseResult) and found.base_commit_id == fork.id
    swapped = lakefs.version_info <= SWAPPED_MERGE_BASE
    source, destination = (main.id, feature.id) if swapped else (feature.id, main.id)
    assert (found.source_commit_id, found.destination_commit_id) == (source, destination)
    assert refs.find_merge_base(repo, feature.id, main.id) == found
    # Swapping the arguments swaps the answer; the base stays.
    reverse = refs.find_merge_base(repo, "main", "feature")
    assert (reverse.source_commit_id, reverse.destination_commit_id, reverse.base_commit_id) == (
        destination,
        source,
        fork.id,
    )

    merged = refs.merge_into_branch(repo, "feature", "main").reference
    after = refs.find_merge_base(repo, "feature", "main")
    assert after.base_commit_id == feature.id
    assert {after.source_commit_id, after.destination_commit_id} == {merged, feature.id}

    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        refs.find_merge_base(repo, "feature", "no-such-ref")
    assert_server_error(missing.value, 404, "not found")


# -- diff ------------------------------------------------------------------------------------


@pytest.fixture
def diverged(lakefs_client: Client, repo: str) -> str:
    """From a common base, ``feature`` changed/removed/added under d/ and e/, and main changed ``d/a``."""
    commit_files(lakefs_client, repo, "main", {"d/a": b"a", "d/b": b"b", "d/sub/c": b"c", "e/x": b"x", "top": b"t"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    commit_files(lakefs_client, repo, "feature", {"d/a": b"A", "d/b": b"", "d/new": b"nn", "e/y": b"yyy"})
    commit_files(lakefs_client, repo, "main", {"d/a": b"main's a", "top": b"T"})
    return repo


def test_diff_refs_two_dot_and_three_dot(lakefs_client: Client, diverged: str, wire: Wire) -> None:
    refs, repo = lakefs_client.refs_api, diverged

    three_dot = refs.diff_refs(repo, "main", "feature")
    assert "type" not in query_dict(wire.last("diffRefs"))  # three_dot is the server's default
    # From the merge base: what the feature changed; a path both sides changed is a conflict.
    assert pairs(three_dot.results) == [("conflict", "d/a"), ("removed", "d/b"), ("added", "d/new"), ("added", "e/y")]
    assert pairs(refs.diff_refs(repo, "main", "feature", type="three_dot").results) == pairs(three_dot.results)

    # Directly: every path where the two heads differ, main's own change to ``top`` included.
    two_dot = refs.diff_refs(repo, "main", "feature", type="two_dot")
    assert query_dict(wire.last("diffRefs")) == {"type": "two_dot"}
    assert pairs(two_dot.results) == [
        ("changed", "d/a"),
        ("removed", "d/b"),
        ("added", "d/new"),
        ("added", "e/y"),
        ("changed", "top"),
    ]
    assert {d.path: d.size_bytes for d in two_dot.results if d.type == "added"} == {"d/new": 2, "e/y": 3}
    assert refs.diff_refs(repo, "feature", "feature", type="two_dot").results == []


def test_diff_refs_prefix_delimiter_and_right_stats(lakefs_client: Client, diverged: str, wire: Wire) -> None:
    refs, repo = lakefs_client.refs_api, diverged

    assert pairs(refs.diff_refs(repo, "main", "feature", type="two_dot", prefix="e/").results) == [("added", "e/y")]
    grouped = refs.diff_refs(repo, "main", "feature", type="two_dot", delimiter="/")
    assert [(d.type, d.path, d.path_type) for d in grouped.results] == [
        ("prefix_changed", "d/", "common_prefix"),
        ("prefix_changed", "e/", "common_prefix"),
        ("changed", "top", "object"),
    ]
    under_d = refs.diff_refs(repo, "main", "feature", type="two_dot", prefix="d/", delimiter="/")
    assert pairs(under_d.results) == [("changed", "d/a"), ("removed", "d/b"), ("added", "d/new")]
    assert query_dict(wire.last("diffRefs")) == {"prefix": "d/", "delimiter": "/", "type": "two_dot"}

    with_stats = refs.diff_refs(repo, "main", "feature", type="two_dot", prefix="e/", include_right_stats=True)
    (added,) = with_stats.results
    assert added.right is not None and added.right.checksum
    stat = lakefs_client.objects_api.stat_object(repo, "feature", "e/y")
    assert added.right.checksum == stat.checksum and added.right.mtime == stat.mtime
    assert refs.diff_refs(repo, "main", "feature", type="two_dot", prefix="e/").results[0].right is None


def test_diff_refs_pages_and_iter(lakefs_client: Client, diverged: str, wire: Wire) -> None:
    refs, repo = lakefs_client.refs_api, diverged

    page = refs.diff_refs(repo, "main", "feature", type="two_dot", amount=2)
    assert [d.path for d in page.results] == ["d/a", "d/b"]
    assert page.pagination.has_more is True and page.pagination.next_offset == "d/b"
    rest = refs.diff_refs(repo, "main", "feature", type="two_dot", after="d/b", amount=2)
    assert [d.path for d in rest.results] == ["d/new", "e/y"] and rest.pagination.has_more is True
    assert query_dict(wire.last("diffRefs")) == {"after": "d/b", "amount": "2", "type": "two_dot"}

    mark = len(wire.exchanges())
    every = [d.path for d in refs.diff_refs_iter(repo, "main", "feature", type="two_dot", amount=2)]
    assert every == ["d/a", "d/b", "d/new", "e/y", "top"]
    pages = [e for e in wire.exchanges()[mark:] if e.operation_id == "diffRefs"]
    assert [query_dict(e).get("after") for e in pages] == [None, "d/b", "e/y"]
    assert [d.path for d in refs.diff_refs_iter(repo, "main", "feature", amount=1)] == ["d/a", "d/b", "d/new", "e/y"]


def test_diff_refs_of_a_missing_ref_is_not_found(lakefs_client: Client, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        lakefs_client.refs_api.diff_refs(repo, "main", "no-such-ref")
    assert_server_error(missing.value, 404, "not found")
