"""Why a lakeFS hook blocked a commit or a merge: the output of the hooks that failed.

When a pre-commit or pre-merge hook fails, lakeFS refuses the change with 412 and a
message that names the action run (``error.run_id``) and usually the failed hook runs
(``error.hook_run_ids``), but not the reason, which is in the hook's log::

    from lakefs_sdk.hooks import failed_hooks

    try:
        refs_api.merge_into_branch("repo", "feature", "main")
    except lakefs_sdk.PreconditionFailedException as error:
        if error.run_id is None:
            raise
        for hook in failed_hooks(api_client, error):
            print(hook.reason)  # one line, e.g. webhook answered 403 Forbidden: {"error": ...}

:func:`failed_hooks` returns :class:`FailedHook` records, one per failed hook, each with its
``output`` (the hook's log) and a one-line ``reason`` read from it (the webhook's status and
the start of its answer, or why the hook could not run; ``ran`` is False then).
:func:`failed_hook_output` returns the logs as one text. :mod:`lakefs_sdk.aio.hooks` has the
same two functions for the asyncio client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, List, Optional, Union

from lakefs_sdk._hooks import PAGE_SIZE, FailedHook, HookLookup, HookRun, joined_output
from lakefs_sdk.exceptions import ApiException

if TYPE_CHECKING:
    from lakefs_sdk.api.actions_api import ActionsApi
    from lakefs_sdk.api_client import ApiClient
    from lakefs_sdk.client import LakeFSClient

__all__ = ["PAGE_SIZE", "FailedHook", "failed_hook_output", "failed_hooks"]


def failed_hooks(
    client: Union[ApiClient, LakeFSClient], error: ApiException, repository: Optional[str] = None
) -> List[FailedHook]:
    """The hooks whose failure ``error`` reports, each with its output (one call per hook).

    ``client`` is an ``ApiClient`` or a ``LakeFSClient``. ``repository`` defaults to the one
    the failed call named. Raises ``ApiValueError`` for an exception that is not a hook
    rejection, and the usual ``ApiException`` when the run cannot be read.
    """
    from lakefs_sdk.api.actions_api import ActionsApi
    from lakefs_sdk.api_client import ApiClient

    lookup = HookLookup.from_error(error, repository)
    actions = ActionsApi(client if isinstance(client, ApiClient) else client.api_client)
    runs = lookup.named or tuple(_failed_runs(actions, lookup))
    return [
        lookup.failed_hook(hook, actions.get_run_hook_output(lookup.repository, lookup.run_id, hook["hook_run_id"]))
        for hook in runs
    ]


def failed_hook_output(
    client: Union[ApiClient, LakeFSClient], error: ApiException, repository: Optional[str] = None
) -> str:
    """The output of the hook that made lakeFS refuse a commit or merge (see :func:`failed_hooks`).

    With several failed hooks, each output follows a ``--- action / hook_id ---`` line.
    """
    return joined_output(failed_hooks(client, error, repository))


def _failed_runs(actions: ActionsApi, lookup: HookLookup) -> Iterator[HookRun]:
    after: Optional[str] = ""
    while after is not None:
        response = actions.list_run_hooks_without_preload_content(
            lookup.repository, lookup.run_id, after=after, amount=PAGE_SIZE
        )
        with response:
            failed, after = lookup.read_page(response.data)
        yield from failed
