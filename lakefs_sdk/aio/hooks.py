"""Why a lakeFS hook blocked a commit or a merge, with the asyncio client.

The asyncio twin of :mod:`lakefs_sdk.hooks` (same arguments, same results, awaited)::

    from lakefs_sdk.aio.hooks import failed_hooks

    try:
        await client.refs_api.merge_into_branch("repo", "feature", "main")
    except lakefs_sdk.PreconditionFailedException as error:
        if error.run_id is None:
            raise
        for hook in await failed_hooks(client, error):
            print(hook.reason)  # one line, e.g. webhook answered 403 Forbidden: {"error": ...}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator, List, Optional, Union

from lakefs_sdk._hooks import PAGE_SIZE, FailedHook, HookLookup, HookRun, joined_output
from lakefs_sdk.aio.api_client import AsyncApiClient
from lakefs_sdk.exceptions import ApiException

if TYPE_CHECKING:
    from lakefs_sdk.aio.api.actions_api import ActionsApi
    from lakefs_sdk.aio.client import AsyncLakeFSClient

__all__ = ["FailedHook", "failed_hook_output", "failed_hooks"]


async def failed_hooks(
    client: Union[AsyncApiClient, AsyncLakeFSClient], error: ApiException, repository: Optional[str] = None
) -> List[FailedHook]:
    """The hooks whose failure ``error`` reports, each with its output (one call per hook).

    ``client`` is an ``AsyncApiClient`` or an ``AsyncLakeFSClient``. ``repository`` defaults
    to the one the failed call named. Raises ``ApiValueError`` for an exception that is not
    a hook rejection, and the usual ``ApiException`` when the run cannot be read.
    """
    from lakefs_sdk.aio.api.actions_api import ActionsApi

    lookup = HookLookup.from_error(error, repository)
    actions = ActionsApi(client if isinstance(client, AsyncApiClient) else client.api_client)
    runs = lookup.named or tuple([hook async for hook in _failed_runs(actions, lookup)])
    return [
        lookup.failed_hook(
            hook, await actions.get_run_hook_output(lookup.repository, lookup.run_id, hook["hook_run_id"])
        )
        for hook in runs
    ]


async def failed_hook_output(
    client: Union[AsyncApiClient, AsyncLakeFSClient], error: ApiException, repository: Optional[str] = None
) -> str:
    """The output of the hook that made lakeFS refuse a commit or merge (see :func:`failed_hooks`).

    With several failed hooks, each output follows a ``--- action / hook_id ---`` line.
    """
    return joined_output(await failed_hooks(client, error, repository))


async def _failed_runs(actions: ActionsApi, lookup: HookLookup) -> AsyncIterator[HookRun]:
    after: Optional[str] = ""
    while after is not None:
        response = await actions.list_run_hooks_without_preload_content(
            lookup.repository, lookup.run_id, after=after, amount=PAGE_SIZE
        )
        async with response:
            failed, after = lookup.read_page(await response.read())
        for hook in failed:
            yield hook
