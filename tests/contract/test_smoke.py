"""One real call per API class through Prism: the generated classes, the runtime and the
spec agree end to end (the per-operation contract suite lives beside this module)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import lakefs_sdk
from lakefs_sdk import models

SMOKE_CALLS: dict[str, tuple[Callable[[lakefs_sdk.ApiClient], Any], type]] = {
    "ActionsApi": (
        lambda c: lakefs_sdk.ActionsApi(c).list_repository_runs("example-repo", amount=5),
        models.ActionRunList,
    ),
    "AuthApi": (lambda c: lakefs_sdk.AuthApi(c).get_current_user(), models.CurrentUser),
    "BranchesApi": (lambda c: lakefs_sdk.BranchesApi(c).get_branch("example-repo", "main"), models.Ref),
    "CommitsApi": (lambda c: lakefs_sdk.CommitsApi(c).get_commit("example-repo", "c0ffee"), models.Commit),
    "ConfigApi": (lambda c: lakefs_sdk.ConfigApi(c).get_config(), models.Config),
    "ExperimentalApi": (
        lambda c: lakefs_sdk.ExperimentalApi(c).list_pull_requests("example-repo"),
        models.PullRequestsList,
    ),
    "ExternalApi": (
        lambda c: lakefs_sdk.ExternalApi(c).list_user_external_principals("jane"),
        models.ExternalPrincipalList,
    ),
    "HealthCheckApi": (lambda c: lakefs_sdk.HealthCheckApi(c).health_check(), type(None)),
    "ImportApi": (
        lambda c: lakefs_sdk.ImportApi(c).import_status("example-repo", "main", "import-1"),
        models.ImportStatus,
    ),
    "InternalApi": (lambda c: lakefs_sdk.InternalApi(c).get_setup_state(), models.SetupState),
    "MetadataApi": (lambda c: lakefs_sdk.MetadataApi(c).get_meta_range("example-repo", "mr-1"), models.StorageURI),
    "ObjectsApi": (
        lambda c: lakefs_sdk.ObjectsApi(c).stat_object("example-repo", "main", "data/file.csv"),
        models.ObjectStats,
    ),
    "PullsApi": (lambda c: lakefs_sdk.PullsApi(c).get_pull_request("example-repo", "pr-1"), models.PullRequest),
    "RefsApi": (lambda c: lakefs_sdk.RefsApi(c).log_commits("example-repo", "main", amount=3), models.CommitList),
    "RepositoriesApi": (lambda c: lakefs_sdk.RepositoriesApi(c).get_repository("example-repo"), models.Repository),
    "StagingApi": (
        lambda c: lakefs_sdk.StagingApi(c).get_physical_address("example-repo", "main", "data/file.csv"),
        models.StagingLocation,
    ),
    "TagsApi": (lambda c: lakefs_sdk.TagsApi(c).get_tag("example-repo", "v1"), models.Ref),
}


def test_every_api_class_has_a_smoke_call() -> None:
    assert set(SMOKE_CALLS) == set(lakefs_sdk.api.__all__)
    assert len(SMOKE_CALLS) == 17


@pytest.mark.parametrize("api_class", sorted(SMOKE_CALLS))
def test_smoke_call(api_class: str, client: lakefs_sdk.ApiClient, prism: Any) -> None:
    call, expected_type = SMOKE_CALLS[api_class]
    mark = prism.mark()
    result = call(client)
    assert isinstance(result, expected_type)
    exchanges = prism.since(mark)
    assert len(exchanges) == 1, "one call sends exactly one request"
    assert 200 <= exchanges[0].status < 300
    assert exchanges[0].operation_id is not None
    assert exchanges[0].request.header("User-Agent") == "lakefs-python-sdk/1.84.0"
