"""The pytest plugin of ``lakefs_sdk.testing``, run the way a user runs it: pytest on a test folder.

``pytester`` writes a small user-style test suite into a temporary folder and runs pytest
on it in a subprocess, where the plugin is loaded through its ``pytest11`` entry point
(the package is installed in the test venv). The lakeFS binary is the one
``scripts/test.sh`` built and exports as ``LAKEFS_BIN``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict

import pytest

from lakefs_sdk.testing import NO_BINARY_MESSAGE

pytest_plugins = ["pytester"]

REQUIRE_VARIABLE = "LAKEFS_SDK_REQUIRE_LAKEFS"

USER_CONFTEST = '''
import pytest

@pytest.fixture
def lakefs_client():
    return "the conftest's own client"
'''

USER_TESTS = '''
import json
import os
from pathlib import Path

import lakefs_sdk
from lakefs_sdk import ObjectsApi, RepositoriesApi

RECORD = Path(__file__).parent / "record.json"


def test_the_server_is_up_on_the_loopback(lakefs_server):
    assert lakefs_server.endpoint.startswith("http://127.0.0.1:")
    assert lakefs_server.configuration.host == lakefs_server.endpoint + "/api/v1"
    expected = os.environ.get("EXPECTED_LAKEFS_VERSION")
    assert lakefs_server.version and (not expected or lakefs_server.version == expected)
    RECORD.write_text(json.dumps({"pid": lakefs_server.process.pid, "workdir": str(lakefs_server.workdir)}))


def test_a_repository_to_write_in(lakefs_client, lakefs_repository):
    assert isinstance(lakefs_client, lakefs_sdk.ApiClient)
    assert lakefs_repository.default_branch == "main"
    assert lakefs_repository.storage_namespace == "local://" + lakefs_repository.id
    objects = ObjectsApi(lakefs_client)
    objects.upload_object(lakefs_repository.id, "main", "a.txt", content=b"hello")
    assert objects.get_object(lakefs_repository.id, "main", "a.txt") == b"hello"
    (Path(__file__).parent / "first.txt").write_text(lakefs_repository.id)


def test_each_test_gets_a_fresh_repository(lakefs_client, lakefs_repository):
    first = (Path(__file__).parent / "first.txt").read_text()
    names = [r.id for r in RepositoriesApi(lakefs_client).list_repositories().results]
    assert names == [lakefs_repository.id] and first != lakefs_repository.id  # the first one was deleted


def test_a_failing_test_does_not_keep_the_server(lakefs_server):
    assert False, "fails on purpose"
'''

OVERRIDDEN_TESTS = '''
def test_a_conftest_fixture_overrides_the_plugins(lakefs_client, lakefs_repository):
    assert lakefs_client == "the conftest's own client"
    assert lakefs_repository.id  # the plugin's repository does not need the plugin's client
'''


def lakefs_binary() -> Path:
    """The binary scripts/test.sh built (a skip without it; a failure when a server is required)."""
    binary = os.environ.get("LAKEFS_BIN")
    if not binary:
        message = "LAKEFS_BIN is not set: run scripts/test.sh, which builds lakeFS"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return Path(binary)


def write_user_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    sub = pytester.mkpydir("overridden")
    (sub / "conftest.py").write_text(USER_CONFTEST)
    (sub / "test_overridden.py").write_text(OVERRIDDEN_TESTS)


def assert_stopped_and_removed(record_file: Path) -> None:
    record: Dict[str, object] = json.loads(record_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(int(str(record["pid"])), 0)
    assert not Path(str(record["workdir"])).exists()


def test_fixtures_run_a_real_server_named_by_lakefs_bin(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = lakefs_binary()
    monkeypatch.setenv("LAKEFS_BIN", str(binary))
    if os.environ.get("LAKEFS_VERSION"):
        monkeypatch.setenv("EXPECTED_LAKEFS_VERSION", os.environ["LAKEFS_VERSION"])
    write_user_suite(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*fails on purpose*"])
    assert_stopped_and_removed(pytester.path / "record.json")


def test_the_lakefs_bin_option_names_the_binary(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = lakefs_binary()
    monkeypatch.delenv("LAKEFS_BIN")
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-path")))
    pytester.makepyfile(
        test_version="""
        def test_version(lakefs_server):
            assert lakefs_server.version and lakefs_server.endpoint.startswith("http://127.0.0.1:")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--lakefs-bin={binary}")
    result.assert_outcomes(passed=1)


def test_without_a_binary_the_fixtures_skip_saying_how_to_get_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKEFS_BIN", raising=False)
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-path")))
    pytester.makepyfile(
        test_skipped="""
        def test_needs_a_server(lakefs_repository):
            raise AssertionError("must not run")

        def test_needs_nothing():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"*{NO_BINARY_MESSAGE[:60]}*"])


def test_a_misnamed_binary_is_an_error_not_a_skip(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFS_BIN", str(pytester.path / "no-such-lakefs"))
    pytester.makepyfile(test_misnamed="def test_server(lakefs_server):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the lakeFS binary named by LAKEFS_BIN is not an executable file*"])
