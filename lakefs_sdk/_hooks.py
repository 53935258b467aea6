"""What does not wait on the server in finding the hooks that blocked a commit or a merge.

:mod:`lakefs_sdk.hooks` (sync) and :mod:`lakefs_sdk.aio.hooks` (asyncio) share all of it:
they only send the calls a :class:`HookLookup` names and hand it the answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lakefs_sdk.exceptions import _HOOK_FAILURE, ApiException, ApiValueError

# Hook runs fetched per page when the message does not name the failed ones.
PAGE_SIZE = 1000

HookRun = Dict[str, Any]  # one entry of the run's hook listing (or of the error message)


@dataclass(frozen=True)
class FailedHook:
    """One hook that failed in an action run, and the log it wrote."""

    run_id: str
    hook_run_id: str
    action: str  # the action's name, from its _lakefs_actions/ file
    hook_id: str
    output: str  # what the hook wrote: for a webhook, the request sent and the answer received


@dataclass(frozen=True)
class HookLookup:
    """Where to look for the failed hooks of a hook rejection, and how to read what is found."""

    repository: str
    run_id: str
    named: Tuple[HookRun, ...]  # the failed hook runs the error message names (may be none)

    @classmethod
    def from_error(cls, error: ApiException, repository: Optional[str] = None) -> HookLookup:
        """Raise ``ApiValueError`` for an exception that is no hook rejection or names no repository."""
        run_id = error.run_id
        if run_id is None:
            raise ApiValueError(f"not a hook rejection: the error names no action run ({error})")
        repository = repository or error.arguments.get("repository")
        if not isinstance(repository, str):
            raise ApiValueError("the error does not name its repository: pass repository=")
        named = tuple(match.groupdict() for match in _HOOK_FAILURE.finditer(error.message or ""))
        return cls(repository=repository, run_id=run_id, named=named)

    def read_page(self, body: bytes) -> Tuple[List[HookRun], Optional[str]]:
        """The failed hook runs of one page of the run's hook listing, and the ``after`` of the next page.

        Read as plain JSON: lakeFS lists hooks it did not run with status ``"skipped"``, which
        its API description does not allow, and those entries need not be understood here.
        """
        page = json.loads(body)
        failed = [hook for hook in page.get("results") or [] if hook.get("status") == "failed"]
        pagination = page.get("pagination") or {}
        following = pagination.get("next_offset") if pagination.get("has_more") else None
        return failed, following or None

    def failed_hook(self, hook: HookRun, output: bytes) -> FailedHook:
        """The record of ``hook`` with the ``output`` read for it."""
        return FailedHook(
            run_id=self.run_id,
            hook_run_id=hook["hook_run_id"],
            action=hook.get("action") or "",
            hook_id=hook.get("hook_id") or "",
            output=output.decode("utf-8", errors="replace"),
        )


def joined_output(hooks: Sequence[FailedHook]) -> str:
    """One hook's output as is; several, each after a ``--- action / hook_id ---`` line."""
    if len(hooks) == 1:
        return hooks[0].output
    return "\n".join(f"--- {hook.action} / {hook.hook_id} ---\n{hook.output}" for hook in hooks)
