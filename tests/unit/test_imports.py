"""import_and_wait / wait_for_import, blocking and asyncio, against a scripted lakeFS (the testing mocks).

Every behaviour is checked in both colours: ``lakefs_sdk.imports`` is generated from
``lakefs_sdk.aio.imports`` (scripts/unasync.py), so one test body runs each through
:class:`Colour`. The handler plays lakeFS's import endpoints: ``import_start`` answers 202
with an id, ``import_status`` the next of a script of statuses (the last one repeats),
``import_cancel`` 204 unless told otherwise.
"""

from __future__ import annotations

import _thread
import ast
import asyncio
import logging
import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from lakefs_sdk import ApiClient, Configuration
from lakefs_sdk._imports import DIRTY_BRANCH_EXPLANATION, ImportWait, failure_of, is_dirty_branch
from lakefs_sdk.api.import_api import ImportApi
from lakefs_sdk.exceptions import (
    ApiValueError,
    DirtyBranchError,
    ImportFailedError,
    ImportTimeoutError,
    OpenApiException,
    UnauthorizedException,
)
from lakefs_sdk.models import CommitCreation, ImportCreation, ImportLocation, ImportStatus
from lakefs_sdk.testing import AsyncMockTransport, MockTransport, Request, Response

ROOT = Path(__file__).resolve().parents[2]
HOST = "http://lakefs.invalid/api/v1"
IMPORT_PATH = "/repositories/repo/branches/main/import"
DIRTY = "import error: merge import: uncommitted changes (dirty branch)"
CREATION = ImportCreation(
    paths=[ImportLocation(type="common_prefix", path="s3://bucket/landing/", destination="raw/")],
    commit=CommitCreation(message="import the landing zone"),
)
COMMIT = {
    "id": "c2", "parents": ["c1"], "committer": "admin", "message": "import the landing zone",
    "creation_date": 1, "meta_range_id": "m2",
}  # fmt: skip
FAST: Dict[str, Any] = {"poll_interval": 0.001, "max_poll_interval": 0.002}


def running(ingested: int = 0) -> Dict[str, Any]:
    return {"completed": False, "update_time": "2025-01-01T00:00:00Z", "ingested_objects": ingested}


def completed(ingested: int = 9) -> Dict[str, Any]:
    return {**running(ingested), "completed": True, "metarange_id": "m2", "commit": COMMIT}


def failed(message: str) -> Dict[str, Any]:
    return {**running(), "error": {"message": message}}


def status_of(fields: Dict[str, Any]) -> ImportStatus:
    status = ImportStatus.from_dict(fields)
    assert status is not None
    return status


class FakeImports:
    """lakeFS's three import endpoints for ``repo``/``main``, with scripted statuses."""

    def __init__(self, statuses: List[Dict[str, Any]], cancel: Optional[Response] = None) -> None:
        self.statuses = list(statuses)
        self.cancel = cancel or Response(204)
        self.on_poll: Optional[Callable[[int], None]] = None
        self.polls = 0

    def __call__(self, request: Request) -> Response:
        assert request.path == IMPORT_PATH, request.path
        if request.method == "POST":
            return Response(202, json={"id": "imp-1"})
        assert request.params["id"] == "imp-1"
        if request.method == "DELETE":
            return self.cancel
        self.polls += 1
        if self.on_poll is not None:
            self.on_poll(self.polls)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return Response(200, json=status)


def configuration() -> Configuration:
    return Configuration(host=HOST, username="AKIAEXAMPLE", password="secret")


class Colour:
    """Runs the blocking or the asyncio helper against a handler; ``sent`` lists what reached it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: List[Tuple[str, Optional[str]]] = []
        self.requests: List[Request] = []

    def run(self, function: str, handler: FakeImports, *args: Any, **kwargs: Any) -> ImportStatus:
        try:
            return self._run(function, handler, *args, **kwargs)
        finally:
            self.sent = [(r.method, r.params.get("id")) for r in self.requests]

    def _run(self, function: str, handler: FakeImports, *args: Any, **kwargs: Any) -> ImportStatus:
        if self.name == "sync":
            import lakefs_sdk.imports as imports

            transport = MockTransport(handler)
            self.requests = transport.requests
            with ApiClient(configuration(), transport=transport) as client:
                result: ImportStatus = getattr(imports, function)(ImportApi(client), "repo", "main", *args, **kwargs)
                return result
        pytest.importorskip("aiohttp")
        import lakefs_sdk.aio.imports as aio_imports
        from lakefs_sdk.aio import AsyncApiClient
        from lakefs_sdk.aio.api.import_api import ImportApi as AsyncImportApi

        async_transport = AsyncMockTransport(handler)
        self.requests = async_transport.requests

        async def main() -> ImportStatus:
            async with AsyncApiClient(configuration(), transport=async_transport) as client:
                api = AsyncImportApi(client)
                awaited: ImportStatus = await getattr(aio_imports, function)(api, "repo", "main", *args, **kwargs)
                return awaited

        return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def colour(request: pytest.FixtureRequest) -> Colour:
    return Colour(request.param)


# -- the outcome ----------------------------------------------------------------------------------


def test_success_after_polling_returns_the_completed_status(colour: Colour) -> None:
    lakefs = FakeImports([running(0), running(4), completed(9)])
    seen: List[Optional[int]] = []
    status = colour.run(
        "import_and_wait", lakefs, CREATION, on_status=lambda s: seen.append(s.ingested_objects), **FAST
    )
    assert isinstance(status, ImportStatus) and status.completed is True and status.error is None
    assert status.commit is not None and status.commit.id == "c2" and status.ingested_objects == 9
    assert seen == [0, 4, 9]
    assert colour.sent == [("POST", None), ("GET", "imp-1"), ("GET", "imp-1"), ("GET", "imp-1")]
    assert colour.requests[0].json() == CREATION.to_dict(), "the creation is sent as given"


def test_options_go_to_every_call(colour: Colour) -> None:
    lakefs = FakeImports([running(), completed()])
    colour.run("import_and_wait", lakefs, CREATION, _headers={"X-Trace": "t1"}, **FAST)
    assert [r.headers.get("X-Trace") for r in colour.requests] == ["t1", "t1", "t1"]


def test_wait_for_import_polls_an_import_started_elsewhere(colour: Colour) -> None:
    status = colour.run("wait_for_import", FakeImports([running(), completed(3)]), "imp-1", **FAST)
    assert status.completed is True and status.ingested_objects == 3
    assert colour.sent == [("GET", "imp-1"), ("GET", "imp-1")], "nothing started, nothing canceled"


def test_a_dirty_branch_raises_dirty_branch_error_that_says_what_to_do(colour: Colour) -> None:
    with pytest.raises(DirtyBranchError) as caught:
        colour.run("import_and_wait", FakeImports([running(), failed(DIRTY)]), CREATION, **FAST)
    error = caught.value
    assert isinstance(error, ImportFailedError) and isinstance(error, OpenApiException)
    assert (error.import_id, error.repository, error.branch, error.reason) == ("imp-1", "repo", "main", DIRTY)
    assert error.status is not None and error.status.error is not None and error.status.error.message == DIRTY
    assert error.status.completed is False
    assert error.explanation == DIRTY_BRANCH_EXPLANATION
    assert str(error) == (
        "import 'imp-1' into branch 'main' of repository 'repo' failed: "
        "import error: merge import: uncommitted changes (dirty branch). "
        "The branch has uncommitted changes, and lakeFS imports only onto a clean branch: commit or reset "
        "the branch's uncommitted changes (or import into a new branch), then import again."
    )
    assert "\n" not in str(error)
    assert ("DELETE", "imp-1") not in colour.sent, "a failed import is over: nothing to cancel"


def test_another_failure_raises_import_failed_error_without_an_explanation(colour: Colour) -> None:
    message = "import error: ingest: forbidden: local://elsewhere/ is outside the allowed folder"
    with pytest.raises(ImportFailedError) as caught:
        colour.run("import_and_wait", FakeImports([failed(message)]), CREATION, **FAST)
    error = caught.value
    assert type(error) is ImportFailedError and error.explanation is None and error.reason == message
    assert str(error) == f"import 'imp-1' into branch 'main' of repository 'repo' failed: {message}"
    assert colour.sent == [("POST", None), ("GET", "imp-1")]


def test_an_error_wins_over_completed(colour: Colour) -> None:
    """A status that says both is a failure: lakeFS's error is never dropped."""
    with pytest.raises(ImportFailedError, match="something broke"):
        colour.run("import_and_wait", FakeImports([{**completed(), "error": {"message": "something broke"}}]), CREATION)


# -- giving up: the import is canceled ------------------------------------------------------------


def test_a_timeout_cancels_the_import_and_raises_import_timeout_error(colour: Colour) -> None:
    lakefs = FakeImports([running(2)])
    with pytest.raises(ImportTimeoutError) as caught:
        colour.run("import_and_wait", lakefs, CREATION, timeout=0.5, poll_interval=0.01, max_poll_interval=0.01)
    error = caught.value
    assert isinstance(error, TimeoutError) and isinstance(error, ImportFailedError)
    assert error.reason == "not finished within 0.5 s; canceled"
    assert error.status is not None and error.status.ingested_objects == 2, "the last status polled"
    assert str(error) == "import 'imp-1' into branch 'main' of repository 'repo' failed: not finished within 0.5 s; canceled"
    assert colour.sent[-1] == ("DELETE", "imp-1") and colour.sent.count(("DELETE", "imp-1")) == 1
    assert lakefs.polls >= 2


def test_a_zero_timeout_polls_once_then_cancels(colour: Colour) -> None:
    with pytest.raises(ImportTimeoutError):
        colour.run("import_and_wait", FakeImports([running()]), CREATION, timeout=0)
    assert colour.sent == [("POST", None), ("GET", "imp-1"), ("DELETE", "imp-1")]


def test_an_import_that_finished_as_the_deadline_passed_is_returned(colour: Colour) -> None:
    """lakeFS refuses to cancel a finished import (409): its status is read again and is the outcome."""
    lakefs = FakeImports([running(), completed(5)], cancel=Response(409, json={"message": "import already completed"}))
    status = colour.run("import_and_wait", lakefs, CREATION, timeout=0)
    assert status.completed is True and status.ingested_objects == 5
    assert colour.sent == [("POST", None), ("GET", "imp-1"), ("DELETE", "imp-1"), ("GET", "imp-1")]


def test_a_failed_cancel_is_logged_and_does_not_hide_the_timeout(
    colour: Colour, caplog: pytest.LogCaptureFixture
) -> None:
    lakefs = FakeImports([running()], cancel=Response(403, json={"message": "insufficient permissions"}))
    with caplog.at_level(logging.WARNING, logger="lakefs_sdk"), pytest.raises(ImportTimeoutError) as caught:
        colour.run("import_and_wait", lakefs, CREATION, timeout=0)
    assert caught.value.reason == "not finished within 0 s; could not cancel it (ForbiddenException), so it may still complete"
    logged = [r.getMessage() for r in caplog.records if "could not cancel import imp-1" in r.getMessage()]
    assert len(logged) == 1 and "insufficient permissions" in logged[0]


def test_a_failed_poll_cancels_the_import_and_raises_the_poll_error(colour: Colour) -> None:
    statuses = iter([Response(200, json=running()), Response(401, json={"message": "token expired"})])
    lakefs = FakeImports([running()])

    def handler(request: Request) -> Response:
        if request.method == "GET":
            return next(statuses)
        return lakefs(request)

    lakefs_handler: Any = handler
    with pytest.raises(UnauthorizedException, match="token expired"):
        colour.run("import_and_wait", lakefs_handler, CREATION, **FAST)
    assert colour.sent == [("POST", None), ("GET", "imp-1"), ("GET", "imp-1"), ("DELETE", "imp-1")]


def test_an_exception_from_on_status_cancels_the_import(colour: Colour) -> None:
    def refuse(status: ImportStatus) -> None:
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        colour.run("import_and_wait", FakeImports([running()]), CREATION, on_status=refuse)
    assert colour.sent == [("POST", None), ("GET", "imp-1"), ("DELETE", "imp-1")]


def test_a_failed_start_cancels_nothing(colour: Colour) -> None:
    def handler(request: Request) -> Response:
        return Response(404, json={"message": "branch not found"})

    not_found: Any = handler
    with pytest.raises(OpenApiException, match="branch not found"):
        colour.run("import_and_wait", not_found, CREATION)
    assert colour.sent == [("POST", None)]


def test_ctrl_c_cancels_the_import_and_is_raised(ctrl_c_raises: None) -> None:
    import lakefs_sdk.imports as imports

    lakefs = FakeImports([running()])
    lakefs.on_poll = lambda n: _thread.interrupt_main() if n == 2 else None  # a Ctrl-C while waiting
    transport = MockTransport(lakefs)
    with ApiClient(configuration(), transport=transport) as client, pytest.raises(KeyboardInterrupt):
        imports.import_and_wait(ImportApi(client), "repo", "main", CREATION, poll_interval=0.01, max_poll_interval=0.01)
    sent = [(r.method, r.params.get("id")) for r in transport.requests]
    assert sent[-1] == ("DELETE", "imp-1") and sent.count(("DELETE", "imp-1")) == 1


def test_cancelling_the_task_cancels_the_import() -> None:
    pytest.importorskip("aiohttp")
    import lakefs_sdk.aio.imports as aio_imports
    from lakefs_sdk.aio import AsyncApiClient
    from lakefs_sdk.aio.api.import_api import ImportApi as AsyncImportApi

    lakefs = FakeImports([running()])
    transport = AsyncMockTransport(lakefs)

    async def main() -> None:
        async with AsyncApiClient(configuration(), transport=transport) as client:
            waiting = asyncio.ensure_future(
                aio_imports.import_and_wait(
                    AsyncImportApi(client), "repo", "main", CREATION, poll_interval=60, max_poll_interval=60
                )
            )
            while lakefs.polls < 1 and not waiting.done():
                await asyncio.sleep(0.001)
            assert not waiting.done(), "the import is being waited for"
            waiting.cancel()  # what Ctrl-C under asyncio.run does to the main task
            with pytest.raises(asyncio.CancelledError):
                await waiting

    asyncio.run(main())
    sent = [(r.method, r.params.get("id")) for r in transport.requests]
    assert sent == [("POST", None), ("GET", "imp-1"), ("DELETE", "imp-1")]


def test_asyncio_wait_for_cancels_the_import() -> None:
    pytest.importorskip("aiohttp")
    import lakefs_sdk.aio.imports as aio_imports
    from lakefs_sdk.aio import AsyncApiClient
    from lakefs_sdk.aio.api.import_api import ImportApi as AsyncImportApi

    transport = AsyncMockTransport(FakeImports([running()]))

    async def main() -> None:
        async with AsyncApiClient(configuration(), transport=transport) as client:
            waiting = aio_imports.import_and_wait(AsyncImportApi(client), "repo", "main", CREATION, **FAST)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(waiting, 0.5)

    asyncio.run(main())
    assert [r.method for r in transport.requests][:2] == ["POST", "GET"]
    assert [r.method for r in transport.requests][-1] == "DELETE"


# -- arguments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"poll_interval": 0}, "poll_interval must be a positive number of seconds, got 0"),
        ({"poll_interval": -1.0}, "poll_interval must be a positive number of seconds, got -1.0"),
        ({"poll_interval": math.nan}, "poll_interval must be a positive number of seconds, got nan"),
        ({"poll_interval": "1"}, "poll_interval must be a positive number of seconds, got '1'"),
        ({"max_poll_interval": math.inf}, "max_poll_interval must be a positive number of seconds, got inf"),
        ({"poll_interval": 2.0, "max_poll_interval": 1.0}, "max_poll_interval (1.0) must not be less than"),
        ({"timeout": -1}, "timeout must be a number of seconds, at least 0 or None, got -1"),
        ({"timeout": True}, "timeout must be a number of seconds, at least 0 or None, got True"),
        ({"on_status": "print"}, "on_status must be a callable taking an ImportStatus, got 'print'"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    colour: Colour, options: Dict[str, Any], words: str
) -> None:
    with pytest.raises(ApiValueError) as caught:
        colour.run("import_and_wait", FakeImports([completed()]), CREATION, **options)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert colour.sent == []


# -- the neutral core -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pause_grows_by_half_up_to_the_longest() -> None:
    waiting = ImportWait("repo", "main", clock=Clock())
    pauses = [waiting.pause() for _ in range(9)]
    assert pauses == pytest.approx([0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875, 5.0, 5.0, 5.0])
    steady = ImportWait("repo", "main", poll_interval=2, max_poll_interval=2, clock=Clock())
    assert [steady.pause() for _ in range(3)] == [2.0, 2.0, 2.0]


def test_no_pause_reaches_past_the_deadline() -> None:
    clock = Clock()
    waiting = ImportWait("repo", "main", poll_interval=1, max_poll_interval=4, timeout=3.5, clock=clock)
    assert waiting.pause() == 1.0
    clock.now += 1.0
    assert waiting.pause() == 1.5
    clock.now += 1.5
    assert waiting.pause() == pytest.approx(1.0), "2.25 would pass the deadline: what is left"
    clock.now += 1.0
    assert waiting.pause() is None


@pytest.mark.parametrize(
    ("message", "dirty"),
    [
        (DIRTY, True),
        ("uncommitted changes (dirty branch)", True),
        ("Import Error: Uncommitted Changes", True),
        ("import error: Canceled", False),
        ("import error: ingest: forbidden", False),
        ("", False),
        (None, False),
    ],
)
def test_the_dirty_branch_is_recognised_from_lakefs_words(message: Optional[str], dirty: bool) -> None:
    assert is_dirty_branch(message) is dirty


def test_a_status_without_error_is_no_failure_and_secrets_stay_out_of_the_error() -> None:
    ok = status_of(completed())
    assert failure_of(ok, "imp-1", "repo", "main") is None
    leaky = status_of(failed("import error: GET https://s3.example/x?X-Amz-Signature=abcdef0123 denied"))
    error = failure_of(leaky, "imp-1", "repo", "main")
    assert error is not None and "abcdef0123" not in str(error) and "abcdef0123" not in repr(error)


@pytest.mark.parametrize("cls", [ImportFailedError, DirtyBranchError, ImportTimeoutError])
def test_the_errors_pickle_whole(cls: type[ImportFailedError]) -> None:
    status = status_of(failed(DIRTY))
    error = cls(DIRTY, import_id="imp-1", repository="repo", branch="main", status=status, explanation="do x")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls and str(again) == str(error)
    assert (again.import_id, again.repository, again.branch, again.status) == ("imp-1", "repo", "main", status)


# -- the generated module ---------------------------------------------------------------------------


def test_the_blocking_module_is_the_generated_image_of_the_asyncio_one() -> None:
    generated = (ROOT / "lakefs_sdk/imports.py").read_text()
    assert generated.startswith("# Generated by scripts/unasync.py from lakefs_sdk/aio/imports.py")
    code = ast.parse(generated)
    assert not [n for n in ast.walk(code) if isinstance(n, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith))]
    probe = ("import sys, lakefs_sdk.imports; "
             "print(sorted(m for m in sys.modules if m.startswith(('lakefs_sdk.aio', 'aiohttp', 'asyncio'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]", "import lakefs_sdk.imports loads neither lakefs_sdk.aio nor asyncio"


def test_both_colours_export_the_same_names() -> None:
    pytest.importorskip("aiohttp")
    import lakefs_sdk.aio.imports as aio_imports
    import lakefs_sdk.imports as imports

    assert imports.__all__ == aio_imports.__all__
    assert {"import_and_wait", "wait_for_import", "DirtyBranchError"} <= set(imports.__all__)
    assert imports.DirtyBranchError is aio_imports.DirtyBranchError, "one error class for both colours"


def test_unasync_rules_of_one_source_are_not_stale_in_the_other() -> None:
    from support.scripts import load_script

    unasync = load_script("unasync")
    assert ("lakefs_sdk/aio/imports.py", "lakefs_sdk/imports.py") in unasync.FILES
    _, stale = unasync.unasync((ROOT / "lakefs_sdk/aio/imports.py").read_text(), "lakefs_sdk/aio/imports.py")
    assert "AsyncUploadContent" in stale, "a rule of the transfer module matches nothing here"
    assert unasync.main(["--check"]) == 0, "yet it matches in some source: not stale"


def test_the_import_errors_are_exported_from_the_package() -> None:
    import lakefs_sdk
    import lakefs_sdk.exceptions as exceptions

    for name in ("ImportFailedError", "DirtyBranchError", "ImportTimeoutError"):
        assert getattr(lakefs_sdk, name) is getattr(exceptions, name)
        assert name in dir(lakefs_sdk)
