"""Why a lakeFS hook blocked a commit or a merge: the output of the hooks that failed.

When a pre-commit or pre-merge hook fails, lakeFS refuses the change with 412 and a
message that names the action run (``error.run_id``) and usually the failed hook runs
(``error.hook_run_ids``), but not the reason, which is in the hook's log::

    from lakefs_sdk.hooks import failed_hook_output

    try:
        refs_api.merge_into_branch("repo", "feature", "main")
    except lakefs_sdk.PreconditionFailedException as error:
        if error.run_id is None:
            raise
        print(failed_hook_output(api_client, error))  # e.g. the webhook's answer

:func:`failed_hooks` returns the same as :class:`FailedHook` records, one per failed hook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Union, cast

from lakefs_sdk.exceptions import _HOOK_FAILURE, ApiException, ApiValueError

if TYPE_CHECKING:
    from lakefs_sdk.api_client import ApiClient
    from lakefs_sdk.client import LakeFSClient

# Hook runs fetched per page when the message does not name the failed ones.
PAGE_SIZE = 1000


@dataclass(frozen=True)
class FailedHook:
    """One hook that failed in an action run, and the log it wrote."""

    run_id: str
    hook_run_id: str
    action: str  # the action's name, from its _lakefs_actions/ file
    hook_id: str
    output: str  # what the hook wrote: for a webhook, the request sent and the answer received


def failed_hooks(
    client: Union[ApiClient, LakeFSClient], error: ApiException, repository: Optional[str] = None
) -> List[FailedHook]:
    """The hooks whose failure ``error`` reports, each with its output (one call per hook).

    ``client`` is an ``ApiClient`` or a ``LakeFSClient``. ``repository`` defaults to the one
    the failed call named. Raises ``ApiValueError`` for an exception that is not a hook
    rejection, and the usual ``ApiException`` when the run cannot be read.
    """
    from lakefs_sdk.api.actions_api import ActionsApi

    run_id = error.run_id
    if run_id is None:
        raise ApiValueError(f"not a hook rejection: the error names no action run ({error})")
    repository = repository or error.arguments.get("repository")
    if not isinstance(repository, str):
        raise ApiValueError("the error does not name its repository: pass repository=")
    actions = ActionsApi(cast("ApiClient", getattr(client, "api_client", client)))
    named = [m.groupdict() for m in _HOOK_FAILURE.finditer(error.message or "")]
    runs = named or [hook for hook in _hook_runs(actions, repository, run_id) if hook.get("status") == "failed"]
    found: List[FailedHook] = []
    for hook in runs:
        output = actions.get_run_hook_output(repository, run_id, hook["hook_run_id"])
        found.append(
            FailedHook(
                run_id=run_id,
                hook_run_id=hook["hook_run_id"],
                action=hook.get("action") or "",
                hook_id=hook.get("hook_id") or "",
                output=output.decode("utf-8", errors="replace"),
            )
        )
    return found


def failed_hook_output(
    client: Union[ApiClient, LakeFSClient], error: ApiException, repository: Optional[str] = None
) -> str:
    """The output of the hook that made lakeFS refuse a commit or merge (see :func:`failed_hooks`).

    With several failed hooks, each output follows a ``--- action / hook_id ---`` line.
    """
    hooks = failed_hooks(client, error, repository)
    if len(hooks) == 1:
        return hooks[0].output
    return "\n".join(f"--- {hook.action} / {hook.hook_id} ---\n{hook.output}" for hook in hooks)


def _hook_runs(actions: Any, repository: str, run_id: str) -> Iterator[Dict[str, Any]]:
    # Read as plain JSON: lakeFS lists hooks it did not run with status "skipped", which
    # its API description does not allow, and those entries need not be understood here.
    after = ""
    while True:
        response = actions.list_run_hooks_without_preload_content(repository, run_id, after=after, amount=PAGE_SIZE)
        with response:
            page = json.loads(response.data)
        yield from page.get("results") or []
        pagination = page.get("pagination") or {}
        if not pagination.get("has_more") or not pagination.get("next_offset"):
            return
        after = pagination["next_offset"]
