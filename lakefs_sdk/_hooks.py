"""What does not wait on the server in finding the hooks that blocked a commit or a merge.

:mod:`lakefs_sdk.hooks` (sync) and :mod:`lakefs_sdk.aio.hooks` (asyncio) share all of it:
they only send the calls a :class:`HookLookup` names and hand it the answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lakefs_sdk.exceptions import _HOOK_FAILURE, ApiException, ApiValueError

# Hook runs fetched per page when the message does not name the failed ones.
PAGE_SIZE = 1000
# How much of a webhook's answer a reason shows.
REASON_BODY_CHARS = 200

# What lakeFS writes for a hook (pkg/actions): the hook's own log; for a webhook the request,
# then "\nResponse:\n" and the answer as received (status line, headers, body) when one came;
# last "Error: <error>\n" when the hook failed. An error the hook itself returned (it ran) is
# prefixed "action failed: "; one from before the hook ran (its ``if:`` could not be evaluated)
# is not.
_RAN = "action failed: "
_WEBHOOK_STATUS = re.compile(r"webhook request failed \(status code: (\d+)\)")
# Go's error for an HTTP request that got no answer: 'Post "http://...": dial tcp ...: refused'.
_GO_REQUEST_ERROR = re.compile(r'^(?:Get|Post|Put|Patch|Delete|Head|Options) "[^"]*": ')
_RESPONSE = "\nResponse:\n"
NO_ANSWER = "no answer from the webhook: "
DID_NOT_RUN = "did not run: "
_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)? (\d{3})(?: ([^\r\n]*))?")
_ERROR_LINE = re.compile(r"(?m)^Error: ")
_CONTENT_LENGTH = re.compile(r"(?im)^content-length:\s*(\d+)\s*$")
_CHUNKED = re.compile(r"(?im)^transfer-encoding:\s*chunked\s*$")

HookRun = Dict[str, Any]  # one entry of the run's hook listing (or of the error message)


@dataclass(frozen=True)
class FailedHook:
    """One hook that failed in an action run, and the log it wrote."""

    run_id: str
    hook_run_id: str
    action: str  # the action's name, from its _lakefs_actions/ file
    hook_id: str
    output: str  # what the hook wrote: for a webhook, the request sent and the answer received

    @property
    def reason(self) -> str:
        """Why the hook failed, on one line, read from its output.

        For a webhook that answered, its status and the start of its answer
        (``webhook answered 403 Forbidden: {"error": "column id is missing"}``); for one that
        did not, why (``no answer from the webhook: Post "http://...": ... connection refused``);
        for a hook lakeFS did not run, why not (``did not run: ...``); else the hook's error.
        """
        return hook_reason(self.output)

    @property
    def ran(self) -> bool:
        """False when the hook never did its work: its webhook did not answer, or lakeFS did not start it."""
        return failure_ran(_error_of(self.output))


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


def hook_reason(output: str) -> str:
    """The one-line reason of a failed hook from its ``output`` (see :attr:`FailedHook.reason`)."""
    answered = _webhook_answer(output)
    if answered is not None:
        return answered
    error = _error_of(output)
    if error is None:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return _one_line(lines[-1]) if lines else "the hook failed and wrote no output"
    return failure_reason(error)


def failure_reason(error: str) -> str:
    """The one-line reason for a hook's ``error`` as lakeFS words it (in the 412 or the hook's log)."""
    if not error.startswith(_RAN):
        return DID_NOT_RUN + _one_line(error.splitlines()[0] if error else "")
    error = error[len(_RAN) :]
    if _GO_REQUEST_ERROR.match(error):
        return NO_ANSWER + _one_line(error.splitlines()[0])
    status = _WEBHOOK_STATUS.fullmatch(error.strip())
    if status is not None:
        return f"webhook answered {status.group(1)}"
    return _one_line(error.splitlines()[0] if error else "")


def failure_ran(error: Optional[str]) -> bool:
    """Whether a hook whose failure lakeFS words as ``error`` ran (its webhook answered, say)."""
    if error is None:
        return True  # no error line: nothing says it did not run
    return error.startswith(_RAN) and not _GO_REQUEST_ERROR.match(error[len(_RAN) :])


def _error_of(output: str) -> Optional[str]:
    """The text after the last ``Error: `` lakeFS wrote at the start of a line, or None."""
    found = list(_ERROR_LINE.finditer(output))
    if not found:
        # A webhook body without a final line break runs into lakeFS's "Error: " line.
        at = output.rfind("Error: " + _RAN)
        return output[at + len("Error: ") :].rstrip("\n") if at >= 0 else None
    return output[found[-1].end() :].rstrip("\n")


def _webhook_answer(output: str) -> Optional[str]:
    """``webhook answered <status>: <start of body>`` when the output holds a webhook's answer."""
    at = output.rfind(_RESPONSE)
    if at < 0:
        return None
    answer = output[at + len(_RESPONSE) :]
    status = _STATUS_LINE.match(answer)
    if status is None:
        return None
    head, separator, rest = answer.partition("\r\n\r\n")
    if not separator:
        head, separator, rest = answer.partition("\n\n")
    length = _CONTENT_LENGTH.search(head)
    if length is not None:
        # A byte count: the output was decoded, so cut the bytes.
        body = rest.encode("utf-8")[: int(length.group(1))].decode("utf-8", errors="replace")
    elif _CHUNKED.search(head):
        body = _dechunked(rest)
    else:  # the body runs until lakeFS's "Error: " line
        cut = rest.rfind("Error: ")
        body = rest[:cut] if cut >= 0 else rest
    said = f"webhook answered {status.group(1)} {status.group(2) or ''}".rstrip()
    text = _one_line(body)
    return f"{said}: {text}" if text else f"{said} (no body)"


def _dechunked(text: str) -> str:
    """The body of a chunked answer as Go dumps it (hex size, CRLF, data, CRLF ... then 0)."""
    data, parts = text.encode("utf-8"), []
    while True:
        line_end = data.find(b"\r\n")
        if line_end < 0:
            break
        try:
            size = int(data[:line_end].split(b";", 1)[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        parts.append(data[line_end + 2 : line_end + 2 + size])
        data = data[line_end + 2 + size + 2 :]
    return b"".join(parts).decode("utf-8", errors="replace")


def _one_line(text: str) -> str:
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= REASON_BODY_CHARS else flat[:REASON_BODY_CHARS] + "..."
