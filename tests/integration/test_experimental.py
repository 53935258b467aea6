"""The ``experimental`` tag on the real server: STS login, hard reset, presigned multipart uploads.

What lakeFS really does here, and these tests assert:

* ``hardResetBranch`` moves the branch head to any ref and keeps the branch's uncommitted
  changes: they stay staged on top of the new head (lakeFS only refuses a branch whose
  *sealed* staging, a commit in flight, is not empty). Our spec's description ("The branch must
  have no uncommitted changes") says otherwise.
* On the local blockstore the presigned multipart operations that need presigning answer
  501 (create, complete, abort) or 400 (uploadPart: "operation not supported"), but
  ``uploadPartCopy`` works: the server copies the bytes into the part and answers 204 with
  the part's ETag (the MD5 of the bytes copied).
* On the S3 store (``LAKEFS_STORE=s3``) they all work: create hands out presigned part URLs,
  ``uploadPart`` one more, ``uploadPartCopy`` fills a part from an object, complete links the
  object (its stats name the address relative to the namespace, ``data/...``), abort ends an
  upload, and completing an aborted one is the store's ``NoSuchUpload``, passed on as a 500.

Pull requests, external principals and user-metadata updates are also tagged
``experimental`` and are tested under their first tag (pulls, auth, objects).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Dict, Iterator, List, Tuple
from urllib.parse import parse_qs

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk.models import (
    AbortPresignMultipartUpload,
    BranchCreation,
    Commit,
    CommitCreation,
    CompletePresignMultipartUpload,
    CopyPartSource,
    StsAuthRequest,
    UploadPart,
    UploadPartCopyFrom,
    UploadPartFrom,
)

from support.lakefs import Wire, create_repository, delete_repository, local_store_only, s3_store_only, statuses
from support.s3_store import S3Store

MAIN = "main"


def put(client: lakefs_sdk.LakeFSClient, repo: str, path: str, content: bytes, branch: str = MAIN) -> None:
    client.objects_api.upload_object(repo, branch, path, content=content)


def commit(client: lakefs_sdk.LakeFSClient, repo: str, message: str, branch: str = MAIN) -> Commit:
    return client.commits_api.commit(repo, branch, CommitCreation(message=message))


def read(client: lakefs_sdk.LakeFSClient, repo: str, ref: str, path: str) -> bytes | None:
    """The object's bytes at ``ref``, or None when there is no such object."""
    try:
        return bytes(client.objects_api.get_object(repo, ref, path))
    except lakefs_sdk.NotFoundException:
        return None


def contents(client: lakefs_sdk.LakeFSClient, repo: str, ref: str, paths: List[str]) -> Dict[str, bytes | None]:
    return {path: read(client, repo, ref, path) for path in paths}


def uncommitted(client: lakefs_sdk.LakeFSClient, repo: str, branch: str = MAIN) -> List[Tuple[str, str]]:
    """``(type, path)`` of each uncommitted change on ``branch``."""
    return [(d.type, d.path) for d in client.branches_api.diff_branch(repo, branch).results]


def head(client: lakefs_sdk.LakeFSClient, repo: str, branch: str = MAIN) -> str:
    return client.branches_api.get_branch(repo, branch).commit_id


@pytest.fixture
def two_commits(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> Tuple[Commit, Commit]:
    """``main`` after two commits: a.txt=A1 and keep.txt, then a.txt=A2 and b.txt."""
    put(lakefs_client, repo, "a.txt", b"A1")
    put(lakefs_client, repo, "keep.txt", b"K1")
    first = commit(lakefs_client, repo, "first")
    put(lakefs_client, repo, "a.txt", b"A2")
    put(lakefs_client, repo, "b.txt", b"B2")
    second = commit(lakefs_client, repo, "second")
    return first, second


PATHS = ["a.txt", "b.txt", "keep.txt", "new.txt"]


# -- STS login -------------------------------------------------------------------------------


def test_sts_login_is_not_implemented(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    request = StsAuthRequest(code="h4-code", state="h4-state", redirect_uri="http://127.0.0.1/callback", ttl_seconds=60)
    with pytest.raises(lakefs_sdk.NotImplementedException) as refused:
        lakefs_client.experimental_api.sts_login(request)
    error = refused.value
    assert error.status == 501 and error.message == "Not Implemented" and error.request_id
    sent = wire.last("stsLogin")
    assert sent.request.header("Authorization") is None, "stsLogin has `security: []`"
    assert statuses(wire.exchanges(), "stsLogin") == [501]


# -- hard reset ------------------------------------------------------------------------------


def test_hard_reset_moves_the_head_back_and_forth(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, two_commits: Tuple[Commit, Commit], wire: Wire
) -> None:
    first, second = two_commits
    response = lakefs_client.experimental_api.hard_reset_branch_with_http_info(repo, MAIN, f"{MAIN}~1")
    assert response.status_code == 204 and response.data is None
    sent = wire.last("hardResetBranch")
    assert sent.method == "PUT" and sent.request.query == "ref=main~1"

    assert head(lakefs_client, repo) == first.id
    log = [c.id for c in lakefs_client.refs_api.log_commits(repo, MAIN).results]
    assert log[0] == first.id and second.id not in log
    assert contents(lakefs_client, repo, MAIN, PATHS) == {
        "a.txt": b"A1",
        "b.txt": None,
        "keep.txt": b"K1",
        "new.txt": None,
    }
    assert uncommitted(lakefs_client, repo) == [], "no commit is created and nothing is staged"

    # The commit left behind is still there by its ID: reset forward to it.
    assert lakefs_client.experimental_api.hard_reset_branch(repo, MAIN, second.id) is None
    assert head(lakefs_client, repo) == second.id
    assert contents(lakefs_client, repo, MAIN, PATHS) == {
        "a.txt": b"A2",
        "b.txt": b"B2",
        "keep.txt": b"K1",
        "new.txt": None,
    }


def test_hard_reset_to_another_branch(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, two_commits: Tuple[Commit, Commit]
) -> None:
    first, _ = two_commits
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="dev", source=first.id))
    put(lakefs_client, repo, "dev.txt", b"D", branch="dev")
    dev = commit(lakefs_client, repo, "on dev", branch="dev")
    lakefs_client.experimental_api.hard_reset_branch(repo, MAIN, "dev")
    assert head(lakefs_client, repo) == dev.id == head(lakefs_client, repo, "dev")
    assert read(lakefs_client, repo, MAIN, "dev.txt") == b"D" and read(lakefs_client, repo, MAIN, "b.txt") is None


def test_hard_reset_keeps_uncommitted_changes(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, two_commits: Tuple[Commit, Commit]
) -> None:
    """Staged changes survive a hard reset and apply on top of the new head: an added
    object, an overwrite, a delete of an object of both commits, and a delete of an object
    only the dropped commit had (hidden while the new head lacks it, back once it has it)."""
    first, second = two_commits
    put(lakefs_client, repo, "new.txt", b"N")
    put(lakefs_client, repo, "a.txt", b"A3")
    lakefs_client.objects_api.delete_object(repo, MAIN, "keep.txt")
    lakefs_client.objects_api.delete_object(repo, MAIN, "b.txt")
    before = uncommitted(lakefs_client, repo)
    assert before == [("changed", "a.txt"), ("removed", "b.txt"), ("removed", "keep.txt"), ("added", "new.txt")]

    lakefs_client.experimental_api.hard_reset_branch(repo, MAIN, first.id)  # the dirty branch is accepted
    assert head(lakefs_client, repo) == first.id
    assert contents(lakefs_client, repo, MAIN, PATHS) == {
        "a.txt": b"A3",
        "b.txt": None,
        "keep.txt": None,
        "new.txt": b"N",
    }
    assert uncommitted(lakefs_client, repo) == [("changed", "a.txt"), ("removed", "keep.txt"), ("added", "new.txt")]
    assert contents(lakefs_client, repo, first.id, ["a.txt", "keep.txt"]) == {"a.txt": b"A1", "keep.txt": b"K1"}

    lakefs_client.experimental_api.hard_reset_branch(repo, MAIN, second.id)
    assert uncommitted(lakefs_client, repo) == before, "the tombstone of b.txt was kept all along"

    # Committing now records the staged changes on top of the new head.
    third = commit(lakefs_client, repo, "after the resets")
    assert third.parents == [second.id]
    listed = [o.path for o in lakefs_client.objects_api.list_objects(repo, third.id).results]
    assert listed == ["a.txt", "new.txt"]
    assert uncommitted(lakefs_client, repo) == []


def test_hard_reset_refusals(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, two_commits: Tuple[Commit, Commit]
) -> None:
    _, second = two_commits
    api = lakefs_client.experimental_api
    with pytest.raises(lakefs_sdk.NotFoundException) as no_ref:
        api.hard_reset_branch(repo, MAIN, "h4-no-such-ref")
    assert no_ref.value.status == 404 and no_ref.value.request_id
    assert no_ref.value.message == "hard-reset main to h4-no-such-ref: not found"
    with pytest.raises(lakefs_sdk.NotFoundException) as no_branch:
        api.hard_reset_branch(repo, "h4-no-such-branch", second.id)
    assert no_branch.value.status == 404 and no_branch.value.message == "branch not found"
    assert head(lakefs_client, repo) == second.id


@pytest.fixture
def read_only_repo(request: pytest.FixtureRequest, lakefs_client: lakefs_sdk.LakeFSClient) -> Iterator[str]:
    name = create_repository(lakefs_client, request.node.name, read_only=True)
    yield name
    delete_repository(lakefs_client, name)


def test_hard_reset_of_a_read_only_repository_needs_force(
    lakefs_client: lakefs_sdk.LakeFSClient, read_only_repo: str, wire: Wire
) -> None:
    api = lakefs_client.experimental_api
    initial = head(lakefs_client, read_only_repo)
    for force in (None, False):
        with pytest.raises(lakefs_sdk.ForbiddenException) as refused:
            api.hard_reset_branch(read_only_repo, MAIN, MAIN, force=force)
        assert refused.value.status == 403 and refused.value.message == "read-only repository"
    assert api.hard_reset_branch_with_http_info(read_only_repo, MAIN, MAIN, force=True).status_code == 204
    queries = [e.request.query for e in wire.exchanges() if e.operation_id == "hardResetBranch"]
    assert queries == ["ref=main", "ref=main&force=false", "ref=main&force=true"]
    assert head(lakefs_client, read_only_repo) == initial


# -- presigned multipart uploads: refused by the local blockstore, working on S3 ---------------

UNSUPPORTED = "presign multipart upload API is not supported"


@local_store_only
def test_presigned_multipart_upload_is_not_supported(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    api = lakefs_client.experimental_api
    path = "big/part.bin"
    upload_id = secrets.token_hex(16)
    address = lakefs_client.staging_api.get_physical_address(repo, MAIN, path).physical_address
    calls = [
        ("createPresignMultipartUpload", lambda: api.create_presign_multipart_upload(repo, MAIN, path, parts=2)),
        (
            "completePresignMultipartUpload",
            lambda: api.complete_presign_multipart_upload(
                repo,
                MAIN,
                upload_id,
                path,
                CompletePresignMultipartUpload(
                    physical_address=address,
                    parts=[UploadPart(part_number=1, etag="0cc175b9c0f1b6a831c399e269772661")],
                    content_type="application/octet-stream",
                ),
            ),
        ),
        (
            "abortPresignMultipartUpload",
            lambda: api.abort_presign_multipart_upload(
                repo, MAIN, upload_id, path, AbortPresignMultipartUpload(physical_address=address)
            ),
        ),
    ]
    for operation_id, call in calls:
        with pytest.raises(lakefs_sdk.NotImplementedException) as refused:
            call()
        error = refused.value
        assert error.status == 501 and error.message == UNSUPPORTED and error.request_id, operation_id
        assert statuses(wire.exchanges(), operation_id) == [501]
    assert parse_qs(wire.last("createPresignMultipartUpload").request.query) == {"path": [path], "parts": ["2"]}
    assert read(lakefs_client, repo, MAIN, path) is None and uncommitted(lakefs_client, repo) == []


def _linkable_address(client: lakefs_sdk.LakeFSClient, repo: str, path: str) -> Tuple[str, str]:
    """A signed staging address for ``path``: as lakeFS hands it out, and rewritten under the
    repository's storage namespace, the form the multipart operations take as "relative".

    On the local blockstore lakeFS hands out ``local:///<blockstore dir>/<ns>/data/...,<sig>``,
    which does not start with the namespace ``local://<ns>``.
    """
    given = client.staging_api.get_physical_address(repo, MAIN, path).physical_address
    assert given and "/data/" in given and "," in given, given
    namespace = client.repositories_api.get_repository(repo).storage_namespace
    return given, f"{namespace.rstrip('/')}/{given[given.index('/data/') + 1 :]}"


@local_store_only
def test_upload_part_cannot_presign_on_local(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.experimental_api
    path = "big/part.bin"
    given, relative = _linkable_address(lakefs_client, repo, path)
    upload_id = secrets.token_hex(16)
    with pytest.raises(lakefs_sdk.BadRequestException) as not_relative:
        api.upload_part(repo, MAIN, upload_id, path, 1, UploadPartFrom(physical_address=given))
    assert not_relative.value.message == "physical address must be relative to the storage namespace"
    with pytest.raises(lakefs_sdk.BadRequestException) as no_presign:
        api.upload_part(repo, MAIN, upload_id, path, 1, UploadPartFrom(physical_address=relative))
    assert no_presign.value.status == 400 and no_presign.value.message == "operation not supported"
    assert no_presign.value.request_id
    assert wire.last("uploadPart").request.path.endswith(f"/staging/pmpu/{upload_id}/parts/1")


@local_store_only
def test_upload_part_copy_copies_into_the_part(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.experimental_api
    source = b"hello, multipart world"
    put(lakefs_client, repo, "src/source.bin", source)
    path = "big/part.bin"
    _, relative = _linkable_address(lakefs_client, repo, path)
    upload_id = secrets.token_hex(16)

    def copy(part: int, byte_range: str | None = None, src: str = "src/source.bin", address: str = relative) -> str:
        copy_from = UploadPartCopyFrom(
            physical_address=address,
            copy_source=CopyPartSource(repository=repo, ref=MAIN, path=src, range=byte_range),
        )
        response = api.upload_part_copy_with_http_info(repo, MAIN, upload_id, path, part, copy_from)
        assert response.status_code == 204 and response.data is None and response.headers is not None
        return response.headers["ETag"]

    assert copy(1) == hashlib.md5(source).hexdigest()
    assert copy(2, "bytes=0-4") == hashlib.md5(source[:5]).hexdigest()
    assert wire.last("uploadPartCopy").request.path.endswith(f"/staging/pmpu/{upload_id}/parts/2/copy")

    with pytest.raises(lakefs_sdk.NotFoundException) as no_source:
        copy(3, src="src/missing.bin")
    assert no_source.value.message == f"{repo}/main/src/missing.bin: not found" and no_source.value.request_id
    tampered = relative[: relative.rindex(",") + 1] + "AAAA"
    with pytest.raises(lakefs_sdk.BadRequestException) as bad_signature:
        copy(3, address=tampered)
    assert bad_signature.value.message == "invalid address signature: invalid address"
    # Parts are not objects: nothing is staged at the target path.
    assert read(lakefs_client, repo, MAIN, path) is None
    assert uncommitted(lakefs_client, repo) == [("added", "src/source.bin")]


MiB = 1 << 20


def put_part(url: str, data: bytes) -> str:
    """PUT one part to its presigned URL, without credentials; the ETag the store gives it."""
    answer = urllib3.request("PUT", url, body=data, retries=False, timeout=30)
    assert answer.status == 200, (answer.status, answer.data[:300])
    etag = answer.headers.get("ETag")
    assert etag, answer.headers
    return etag


@s3_store_only
def test_presigned_multipart_upload_on_the_s3_store(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, s3_store: S3Store
) -> None:
    api = lakefs_client.experimental_api
    path = "big/parts.bin"
    source = b"hello, multipart world"
    put(lakefs_client, repo, "src/source.bin", source)
    started = api.create_presign_multipart_upload(repo, MAIN, path, parts=1)
    assert started.upload_id and started.presigned_urls is not None and len(started.presigned_urls) == 1
    namespace = lakefs_client.repositories_api.get_repository(repo).storage_namespace
    assert started.physical_address.startswith(namespace + "/data/"), started.physical_address
    assert started.presigned_urls[0].startswith(s3_store.endpoint + "/")

    # Part 1 through the URL create gave, part 2 through one uploadPart gives (S3 parts but the
    # last are at least 5 MiB), part 3 copied from an object of the branch.
    first, second = secrets.token_bytes(5 * MiB), secrets.token_bytes(5 * MiB)
    etags = {1: put_part(started.presigned_urls[0], first)}
    target = UploadPartFrom(physical_address=started.physical_address)
    url = api.upload_part(repo, MAIN, started.upload_id, path, 2, target).presigned_url
    assert url.startswith(s3_store.endpoint + "/") and "partNumber=2" in url
    etags[2] = put_part(url, second)
    copied = api.upload_part_copy_with_http_info(
        repo,
        MAIN,
        started.upload_id,
        path,
        3,
        UploadPartCopyFrom(
            physical_address=started.physical_address,
            copy_source=CopyPartSource(repository=repo, ref=MAIN, path="src/source.bin"),
        ),
    )
    assert copied.status_code == 204 and copied.headers is not None
    etags[3] = copied.headers["ETag"]
    assert etags[3].strip('"') == hashlib.md5(source).hexdigest()
    assert read(lakefs_client, repo, MAIN, path) is None  # parts are not objects

    stats = api.complete_presign_multipart_upload(
        repo,
        MAIN,
        started.upload_id,
        path,
        CompletePresignMultipartUpload(
            physical_address=started.physical_address,
            parts=[UploadPart(part_number=n, etag=etag) for n, etag in sorted(etags.items())],
            user_metadata={"origin": "pmpu"},
            content_type="application/x-test",
        ),
    )
    whole = first + second + source
    assert stats.path == path and stats.size_bytes == len(whole)
    assert stats.checksum.endswith("-3")  # the store's multipart ETag: MD5 of the parts' MD5s, and their count
    assert stats.metadata == {"origin": "pmpu"} and stats.content_type == "application/x-test"
    assert hashlib.sha256(lakefs_client.objects_api.get_object(repo, MAIN, path)).digest() == (
        hashlib.sha256(whole).digest()
    )
    assert uncommitted(lakefs_client, repo) == [("added", path), ("added", "src/source.bin")]
    expected = {"createPresignMultipartUpload": 201, "uploadPart": 200, "uploadPartCopy": 204}
    for operation_id, status in {**expected, "completePresignMultipartUpload": 200}.items():
        assert statuses(wire.exchanges(), operation_id) == [status], operation_id


@s3_store_only
def test_abort_a_presigned_multipart_upload_on_the_s3_store(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    api = lakefs_client.experimental_api
    path = "big/aborted.bin"
    started = api.create_presign_multipart_upload(repo, MAIN, path)
    assert started.presigned_urls is None  # no parts asked for, no URLs
    part = api.upload_part(repo, MAIN, started.upload_id, path, 1, UploadPartFrom(physical_address=started.physical_address))
    etag = put_part(part.presigned_url, b"a small last part")
    aborted = api.abort_presign_multipart_upload_with_http_info(
        repo, MAIN, started.upload_id, path, AbortPresignMultipartUpload(physical_address=started.physical_address)
    )
    assert aborted.status_code == 204 and aborted.data is None
    # The store forgot the upload: completing it is S3's NoSuchUpload, which lakeFS answers with a 500.
    with pytest.raises(lakefs_sdk.ServiceException) as gone:
        api.complete_presign_multipart_upload(
            repo,
            MAIN,
            started.upload_id,
            path,
            CompletePresignMultipartUpload(
                physical_address=started.physical_address, parts=[UploadPart(part_number=1, etag=etag)]
            ),
        )
    assert gone.value.status == 500 and gone.value.request_id
    assert gone.value.message is not None and "NoSuchUpload" in gone.value.message
    assert read(lakefs_client, repo, MAIN, path) is None and uncommitted(lakefs_client, repo) == []
    assert statuses(wire.exchanges(), "abortPresignMultipartUpload") == [204]
