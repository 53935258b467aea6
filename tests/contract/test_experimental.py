"""Contract tests for the ``experimental`` tag: the operations whose first tag is
``experimental`` (STS login, hard reset, presigned multipart uploads), with typed results.

Pull requests, external principals and user-metadata updates are also tagged
``experimental`` but are tested under their first tag (pulls, auth, objects).
"""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    AbortPresignMultipartUpload,
    AuthenticationToken,
    CompletePresignMultipartUpload,
    CopyPartSource,
    ObjectStats,
    PresignMultipartUpload,
    StsAuthRequest,
    UploadPart,
    UploadPartCopyFrom,
    UploadPartFrom,
    UploadTo,
)

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"
PATH = "data/large/events.parquet"
UPLOAD_ID = "2~bS3zLk9VxQ0eXAMPLEuPLOADiD"
PHYSICAL = "s3://example-bucket/data/gk3b1e2f/0c1d2e3f"


def api(client: ApiClient) -> lakefs_sdk.ExperimentalApi:
    return lakefs_sdk.ExperimentalApi(client)


def test_sts_login(any_client: ApiClient, wire: Wire) -> None:
    request = StsAuthRequest(
        code="4/0AX4XfWh",
        state="af0ifjsldkj",
        redirect_uri="https://lakefs.example.com/oidc/callback",
        ttl_seconds=3600,
    )
    token = api(any_client).sts_login(request)
    sent = wire.only("stsLogin")
    assert sent.request.header("Authorization") is None, "stsLogin has `security: []`"
    assert json_body(sent) == {
        "code": "4/0AX4XfWh",
        "state": "af0ifjsldkj",
        "redirect_uri": "https://lakefs.example.com/oidc/callback",
        "ttl_seconds": 3600,
    }
    assert_result(token, AuthenticationToken, sent)


def test_hard_reset_branch(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).hard_reset_branch(REPO, "feature-x", "main~3", force=True) is None
    sent = wire.only("hardResetBranch", 204)
    assert sent.method == "PUT" and segments(sent)[-1] == "hard_reset"
    assert query_dict(sent) == {"ref": "main~3", "force": "true"}


def test_create_presign_multipart_upload(any_client: ApiClient, wire: Wire) -> None:
    upload = api(any_client).create_presign_multipart_upload(REPO, "feature-x", PATH, parts=3)
    sent = wire.only("createPresignMultipartUpload", 201)
    assert segments(sent)[-2:] == ["staging", "pmpu"] and query_dict(sent) == {"path": PATH, "parts": "3"}
    assert_result(upload, PresignMultipartUpload, sent)
    assert all(isinstance(url, str) for url in upload.presigned_urls or [])


def test_upload_part(any_client: ApiClient, wire: Wire) -> None:
    target = api(any_client).upload_part(
        REPO, "feature-x", UPLOAD_ID, PATH, 2, UploadPartFrom(physical_address=PHYSICAL)
    )
    sent = wire.only("uploadPart")
    assert segments(sent) == ["repositories", REPO, "branches", "feature-x", "staging", "pmpu", UPLOAD_ID, "parts", "2"]
    assert json_body(sent) == {"physical_address": PHYSICAL}
    assert_result(target, UploadTo, sent)


def test_upload_part_copy(any_client: ApiClient, wire: Wire) -> None:
    copy = UploadPartCopyFrom(
        physical_address=PHYSICAL,
        copy_source=CopyPartSource(
            repository=REPO, ref="main", path="data/large/source.parquet", range="bytes=0-5242879"
        ),
    )
    assert api(any_client).upload_part_copy(REPO, "feature-x", UPLOAD_ID, PATH, 1, copy) is None
    sent = wire.only("uploadPartCopy", 204)
    assert segments(sent)[-3:] == ["parts", "1", "copy"]
    assert json_body(sent) == {
        "physical_address": PHYSICAL,
        "copy_source": {
            "repository": REPO,
            "ref": "main",
            "path": "data/large/source.parquet",
            "range": "bytes=0-5242879",
        },
    }


def test_complete_presign_multipart_upload(any_client: ApiClient, wire: Wire) -> None:
    complete = CompletePresignMultipartUpload(
        physical_address=PHYSICAL,
        parts=[
            UploadPart(part_number=1, etag='"a54357aff0632cce46d942af68356b38"'),
            UploadPart(part_number=2, etag='"0c78aef83f66abc1fa1e8477f296d394"'),
        ],
        user_metadata={"pipeline": "events"},
        content_type="application/x-parquet",
    )
    stats = api(any_client).complete_presign_multipart_upload(REPO, "feature-x", UPLOAD_ID, PATH, complete)
    sent = wire.only("completePresignMultipartUpload")
    assert sent.method == "PUT" and query_dict(sent) == {"path": PATH}
    assert json_body(sent)["parts"] == [
        {"part_number": 1, "etag": '"a54357aff0632cce46d942af68356b38"'},
        {"part_number": 2, "etag": '"0c78aef83f66abc1fa1e8477f296d394"'},
    ]
    assert_result(stats, ObjectStats, sent)


def test_abort_presign_multipart_upload(any_client: ApiClient, wire: Wire) -> None:
    abort = AbortPresignMultipartUpload(physical_address=PHYSICAL)
    assert api(any_client).abort_presign_multipart_upload(REPO, "feature-x", UPLOAD_ID, PATH, abort) is None
    sent = wire.only("abortPresignMultipartUpload", 204)
    assert sent.method == "DELETE" and json_body(sent) == {"physical_address": PHYSICAL}
