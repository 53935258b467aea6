"""Fixtures and hooks of the compat suite: the PyPI packages built on upstream lakefs-sdk
(``lakefs`` 0.16.0 and ``lakefs-spec`` 0.15.1, installed by the ``compat`` extra) run
unmodified on this package, against Prism (``prism_wrapper``, ``lakefs_fs``: what they send
conforms to the API description) and against the real lakeFS (``wrapper``, ``real_fs``:
what they do works, read back through this package's own client, ``lakefs_client``).

Every test here runs with warnings raised from lakefs_sdk turned into errors at the point
they are raised, and every other warning recorded: the test then fails if any recorded
warning is one lakefs_sdk is responsible for (see ``support.compat.is_sdk_warning``), and
the remaining ones are handed back to pytest for its summary.
"""

from __future__ import annotations

import warnings
from typing import Iterator

import lakefs
import lakefs_spec
import pytest
from lakefs import Client as WrapperClient
from lakefs_spec import LakeFSFileSystem

from support.compat import ACCESS_KEY_ID, SECRET_ACCESS_KEY, FinitePrism, describe_warning, is_sdk_warning
from support.lakefs import LakeFS
from support.recording_proxy import PrismProxy, RecordingProxy


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run the test with every warning recorded and lakefs_sdk's raised; fail on any of ours."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("error", module="lakefs_sdk")
        result = yield
    ours = [w for w in caught if is_sdk_warning(w)]
    for w in caught:
        if w not in ours:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    assert not ours, "lakefs_sdk emitted warnings:\n" + "\n".join(describe_warning(w) for w in ours)
    return result


@pytest.fixture
def prism_wrapper(prism: PrismProxy) -> lakefs.Client:
    """A ``lakefs.Client`` (the high-level SDK) with basic auth, on static Prism."""
    client = lakefs.Client(host=prism.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    client.config.retry_backoff = 0.01  # ClientConfig is a lakefs_sdk.Configuration
    return client


@pytest.fixture
def finite_prism(prism: PrismProxy) -> Iterator[FinitePrism]:
    """Static Prism behind a front that ends paginated listings (see ``FinitePrism``)."""
    with FinitePrism(prism) as front:
        yield front


@pytest.fixture
def lakefs_fs(finite_prism: FinitePrism) -> lakefs_spec.LakeFSFileSystem:
    """A fresh ``LakeFSFileSystem`` (no instance or listings cache) on static Prism.

    ``pre_sign=False``: static Prism's example storage config claims pre-sign support, and
    its example presigned URL (``"string"``) is not one a client could upload to.
    """
    fs = lakefs_spec.LakeFSFileSystem(
        host=finite_prism.url,
        username=ACCESS_KEY_ID,
        password=SECRET_ACCESS_KEY,
        pre_sign=False,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.client.config.retry_backoff = 0.01
    return fs


# -- the real server ---------------------------------------------------------------------------
# Here the parameter ``lakefs`` is the server fixture; the package's classes are imported by name.


@pytest.fixture
def wrapper(lakefs: LakeFS, lakefs_proxy: RecordingProxy) -> WrapperClient:
    """A ``lakefs.Client`` on the real server (as its admin), through the recording proxy."""
    client = WrapperClient(
        host=lakefs_proxy.url, username=lakefs.access_key_id, password=lakefs.secret_access_key
    )
    client.config.retry_backoff = 0.05
    return client


@pytest.fixture
def real_fs(lakefs: LakeFS, lakefs_proxy: RecordingProxy) -> LakeFSFileSystem:
    """A fresh ``LakeFSFileSystem`` on the real server, through the recording proxy.

    ``pre_sign`` is left to lakefs-spec: it asks the server, whose local blockstore cannot presign.
    """
    fs = LakeFSFileSystem(
        host=lakefs_proxy.url,
        username=lakefs.access_key_id,
        password=lakefs.secret_access_key,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.client.config.retry_backoff = 0.05
    return fs

