"""From a response that is not the answer a call wanted to the exception the call raises.

The one place exceptions for server answers are built, for every transport: an error
status becomes the ``ApiException`` subclass of that status (:func:`error_response`), and
a success whose body is not what the spec promises becomes ``UnexpectedResponseError``
(:func:`undecodable_response`, and :func:`unlisted_success` for a web page answering with a
success status the operation does not have). Both are given the operation and the call's checked
arguments, in the operation's parameter order, to say what failed: the exception records
the call and the arguments that identify what it was called on, and a hint where lakeFS's
answer is known to mislead or says nothing (a host without ``/api/v1``, a write to a tag
or a commit, a bare "not found", a branch merged into itself, a merge conflict, ``If-Match``
where lakeFS does not implement it, a hook that rejected the change or could not run, a
storage namespace already in use).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence
from urllib.parse import urlsplit

from lakefs_sdk import _types
from lakefs_sdk._hooks import DID_NOT_RUN, NO_ANSWER, failure_ran, failure_reason
from lakefs_sdk._operation import BODY, PATH, QUERY, Operation
from lakefs_sdk._transport import Response
from lakefs_sdk.exceptions import (
    _HOOK_FAILURE,
    ApiException,
    UnexpectedResponseError,
    exception_class_for,
    looks_like_html,
)

__all__ = [
    "Response",
    "error_response",
    "identifying_arguments",
    "success_is_a_redirect",
    "undecodable_response",
    "unlisted_success",
]

# Query parameters that name what a call works on (the rest tune it: amount, after, presign...).
IDENTIFYING_QUERY_PARAMS = frozenset({"path", "dest_path", "ref", "branch", "commit", "id", "task_id", "principal_id"})
# Fields of a creation body that name what is created (BranchCreation.name, TagCreation.id ...).
IDENTIFYING_BODY_FIELDS = ("name", "id")
# Path parameters that must name a branch: lakeFS answers "branch ... not found" for a tag or commit.
BRANCH_PARAMS = frozenset({"branch", "destination_branch"})
# Calls that read a branch as a branch (a GET that reserves a write location is a write).
READS_OF_BRANCHES = frozenset({"getBranch", "diffBranch", "listBranches"})

HINT_NO_BASE_PATH = (
    "the host probably lacks /api/v1 (lakeFS answers other paths with its web UI): end it with /api/v1, "
    "e.g. Configuration(host='http://127.0.0.1:8000/api/v1'); LakeFSClient and Configuration.from_env() add it"
)
HINT_WEB_PAGE = "a web page answered instead of the lakeFS API: a proxy or a login page in front of lakeFS?"
HINT_HOOK = (
    "a {event} hook rejected it; lakefs_sdk.hooks.failed_hook_output(api_client, error) returns the output "
    "of the hooks that failed"
)
HINT_HOOK_NOT_RUN = (
    "no hook rejected it: the {event} hook did not run ({reason}), and lakeFS refuses a change whose hook "
    "fails: {check}; lakefs_sdk.hooks.failed_hooks(api_client, error) gives each failed hook's reason"
)
HINT_HOOK_SOME_NOT_RUN = (
    "a {event} hook rejected it, and another did not run ({reason}); lakefs_sdk.hooks.failed_hooks(api_client, "
    "error) gives each failed hook's reason"
)
CHECK_WEBHOOK = "check the webhook's URL and that its server is up"
CHECK_ACTION = "check the hook's definition in _lakefs_actions/"
HINT_NAMESPACE_IN_USE = (
    "a storage namespace keeps the data of the repository created at it, even after that repository is "
    "deleted, and lakeFS does not reuse it: create the repository at a new storage namespace{example}"
)
HINT_NOT_A_BRANCH = "writes need a branch: if {ref!r} is a tag or a commit, it is read-only"
HINT_REF_OR_OBJECT = (
    "lakeFS says only 'not found' for a missing ref and for a missing object alike: "
    "either {ref!r} or {path!r} does not exist"
)
HINT_IF_MATCH = "this lakeFS server does not implement If-Match here; If-None-Match='*' is supported"
HINT_IF_NONE_MATCH = "lakeFS supports only If-None-Match='*' (fail if the object exists)"
HINT_MERGE_CONFLICT = (
    "a merge conflict: both sides changed the same paths; merge with "
    "Merge(strategy='source-wins') or 'dest-wins', or reconcile them on the source first"
)
HINT_SAME_REF = "source and destination are the same ref ({ref!r}): a branch merged into itself has no changes"


def error_response(op: Operation[Any], values: Sequence[Any], response: Response) -> ApiException:
    """The exception for an error status answering ``op`` called with ``values``."""
    body = response.data
    data = None
    if body and "json" in (response.headers.get("Content-Type") or "json"):
        try:
            data = _types.decode_json("Error", body)
        except ValueError:
            data = None
    exc = exception_class_for(response.status)(http_resp=response, body=body, data=data)
    _describe_call(exc, op, values)
    exc.hint = _hint(exc, op, values, response)
    return exc


def undecodable_response(
    op: Operation[Any], values: Sequence[Any], type_name: str, response: Response, error: Exception
) -> UnexpectedResponseError:
    """The exception for a success whose body cannot be read as ``type_name``."""
    html = _is_html(response)
    why = "" if html else f" ({_first_error(error)})"  # for a web page, the JSON parser's words are noise
    exc = UnexpectedResponseError(
        response.status, f"the {response.status} response is not a valid {type_name}{why}", http_resp=response
    )
    _describe_call(exc, op, values)
    exc.hint = _html_hint(exc, response)
    return exc


def unlisted_success(
    op: Operation[Any], values: Sequence[Any], response: Response
) -> Optional[UnexpectedResponseError]:
    """The exception for a 2xx ``op`` does not answer with, when it is a web page; else None.

    For ``ApiClient._result`` to raise before anything else (streamed responses included).

    lakeFS's web UI answers 200 with HTML on every path outside ``/api/v1``, so a write
    (answered 201 or 204 by the API) sent to a host without the base path would otherwise
    pass for a success that never happened. Other unlisted successes are accepted, and so
    is any 2xx of an operation whose success is a redirect (the spec lists no 2xx for it:
    ``oauthCallback`` answers 302 to the web UI, whose page the transport lands on, as the
    spec's ``x-lakefs-success-by-redirect`` hint records).
    """
    if response.status in op.types_by_status or not 200 <= response.status <= 299:
        return None
    if success_is_a_redirect(op):
        return None
    # By the header alone: the body of an unread (streamed) response must stay unread.
    if "html" not in (response.headers.get("Content-Type") or "").lower():
        return None
    listed = ", ".join(code for code in op.responses if code.startswith("2")) or "none"
    exc = UnexpectedResponseError(
        response.status,
        f"the {response.status} response is not one {op.operation_id} answers with (success: {listed})",
        http_resp=response,
    )
    _describe_call(exc, op, values)
    exc.hint = _html_hint(exc, response)
    return exc


def success_is_a_redirect(op: Operation[Any]) -> bool:
    """Whether ``op``'s only success is a redirect: its spec lists no 2xx answer (``oauthCallback``).

    The transports follow redirects, so such a call ends on the page redirected to.
    """
    return not any(code.startswith("2") for code in op.responses)


def identifying_arguments(op: Operation[Any], values: Sequence[Any]) -> Dict[str, Any]:
    """The arguments that say what ``op`` was called on.

    Path parameters, the query parameters that name things (``path``, ``ref`` ...) and the
    ``name`` / ``id`` of a ``*Creation`` body. Headers, forms and the rest of a body never
    appear: they carry data or credentials.
    """
    found: Dict[str, Any] = {}
    for param, value in zip(op.params, values, strict=False):
        if value is None:
            continue
        if param.location == PATH or (param.location == QUERY and param.name in IDENTIFYING_QUERY_PARAMS):
            found[param.name] = value
        elif param.location == BODY and param.type_name.endswith("Creation"):
            for field in IDENTIFYING_BODY_FIELDS:
                named = getattr(value, field, None)
                if isinstance(named, str) and field not in found:
                    found[field] = named
    return found


def _describe_call(exc: ApiException, op: Operation[Any], values: Sequence[Any]) -> None:
    exc.operation = op.operation_id
    exc.api_method = op.method_name
    exc.arguments = identifying_arguments(op, values)


def _hint(exc: ApiException, op: Operation[Any], values: Sequence[Any], response: Response) -> Optional[str]:
    html = _html_hint(exc, response)
    if html is not None:
        return html
    if exc.run_id is not None:
        return _hook_hint(exc)
    arguments = dict(zip((p.name for p in op.params), values, strict=False))
    if exc.status == 400 and "storage namespace already in use" in (exc.message or ""):
        return _namespace_hint(op, values)
    if op.operation_id == "mergeIntoBranch" and 400 <= (exc.status or 0) < 500:
        source, destination = arguments.get("source_ref"), arguments.get("destination_branch")
        if source is not None and source == destination:
            return HINT_SAME_REF.format(ref=source)
        if exc.status == 409:  # lakeFS says nothing but {"reference": ""}
            return HINT_MERGE_CONFLICT
    if exc.status == 404:
        return _not_found_hint(exc, op, arguments)
    if exc.status == 501:
        if arguments.get("if_match") is not None:
            return HINT_IF_MATCH
        if arguments.get("if_none_match") not in (None, "*"):
            return HINT_IF_NONE_MATCH
    return None


def _hook_hint(exc: ApiException) -> str:
    """Which hooks said no, and which failed without running (the 412 words each failure)."""
    event = exc.hook_event or "lakeFS"
    errors = [match.group("error") for match in _HOOK_FAILURE.finditer(exc.message or "")]
    not_run = [error for error in errors if error is not None and not failure_ran(error)]
    if not not_run:
        return HINT_HOOK.format(event=event)
    reason = failure_reason(not_run[0]).removeprefix(DID_NOT_RUN)
    if len(not_run) < len(errors):
        return HINT_HOOK_SOME_NOT_RUN.format(event=event, reason=reason)
    check = CHECK_WEBHOOK if reason.startswith(NO_ANSWER) else CHECK_ACTION
    return HINT_HOOK_NOT_RUN.format(event=event, reason=reason, check=check)


def _namespace_hint(op: Operation[Any], values: Sequence[Any]) -> str:
    """A new storage namespace, for a repository created where one was (deleted or not)."""
    namespace = None
    for param, value in zip(op.params, values, strict=False):
        if param.location == BODY:
            namespace = getattr(value, "storage_namespace", None)
    example = ""
    if isinstance(namespace, str) and namespace:
        example = f", e.g. {namespace.rstrip('/') + '-2'!r}"
    return HINT_NAMESPACE_IN_USE.format(example=example)


def _not_found_hint(exc: ApiException, op: Operation[Any], arguments: Dict[str, Any]) -> Optional[str]:
    message = (exc.message or "").strip().lower()
    writes = op.http_method != "GET" or op.operation_id == "getPhysicalAddress"
    if "branch" in message and "not found" in message and writes and op.operation_id not in READS_OF_BRANCHES:
        branch = next((arguments[p.name] for p in op.params if p.name in BRANCH_PARAMS and p.location == PATH), None)
        if branch is not None:
            return HINT_NOT_A_BRANCH.format(ref=branch)
    if message == "not found":
        ref = arguments.get("ref", arguments.get("branch"))
        path = arguments.get("path")
        if isinstance(ref, str) and isinstance(path, str):
            return HINT_REF_OR_OBJECT.format(ref=ref, path=path)
    return None


def _is_html(response: Response) -> bool:
    return looks_like_html(response.data, response.headers.get("Content-Type"))


def _html_hint(exc: ApiException, response: Response) -> Optional[str]:
    """For an HTML page where the API's JSON belongs: what most likely answered."""
    if not _is_html(response):
        return None
    url = getattr(response, "url", None)
    if isinstance(url, str) and "/api/v1/" in urlsplit(url).path + "/":
        return HINT_WEB_PAGE
    return HINT_NO_BASE_PATH


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            return f"{where}: {first.get('msg')}"
        except (IndexError, TypeError, ValueError):
            pass
    return str(error).splitlines()[0]
