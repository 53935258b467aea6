"""``AsyncLakeFSClient``: every asyncio API class of lakeFS on one ``AsyncApiClient``.

The asyncio twin of :class:`lakefs_sdk.client.LakeFSClient`, with the same attributes::

    from lakefs_sdk import Configuration
    from lakefs_sdk.aio.client import AsyncLakeFSClient

    async with AsyncLakeFSClient(Configuration.from_env()) as client:
        branch = await client.branches_api.get_branch("example-repo", "main")

Hand-written (``lakefs_sdk/client.py`` is generated): a test checks that its API attributes
are those of the sync client.
"""

from __future__ import annotations

from types import TracebackType
from typing import Optional, Type

from lakefs_sdk._client_config import client_configuration
from lakefs_sdk.aio.api.actions_api import ActionsApi
from lakefs_sdk.aio.api.auth_api import AuthApi
from lakefs_sdk.aio.api.branches_api import BranchesApi
from lakefs_sdk.aio.api.commits_api import CommitsApi
from lakefs_sdk.aio.api.config_api import ConfigApi
from lakefs_sdk.aio.api.experimental_api import ExperimentalApi
from lakefs_sdk.aio.api.external_api import ExternalApi
from lakefs_sdk.aio.api.health_check_api import HealthCheckApi
from lakefs_sdk.aio.api.import_api import ImportApi
from lakefs_sdk.aio.api.internal_api import InternalApi
from lakefs_sdk.aio.api.metadata_api import MetadataApi
from lakefs_sdk.aio.api.objects_api import ObjectsApi
from lakefs_sdk.aio.api.pulls_api import PullsApi
from lakefs_sdk.aio.api.refs_api import RefsApi
from lakefs_sdk.aio.api.repositories_api import RepositoriesApi
from lakefs_sdk.aio.api.staging_api import StagingApi
from lakefs_sdk.aio.api.tags_api import TagsApi
from lakefs_sdk.aio.api_client import AsyncApiClient
from lakefs_sdk.configuration import Configuration


class AsyncLakeFSClient:
    """Entry point holding every asyncio API of the lakeFS server, e.g. ``await client.branches_api.get_branch(...)``.

    A host given without a scheme or without the ``/api/v1`` base path is completed, so
    ``Configuration(host="localhost:8000")`` talks to ``http://localhost:8000/api/v1``; the
    ``configuration`` passed in is never changed (see :mod:`lakefs_sdk._client_config`).
    Close it with ``await client.close()`` or use it as ``async with``.
    """

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
    ) -> None:
        self._api = AsyncApiClient(
            configuration=client_configuration(configuration),
            header_name=header_name,
            header_value=header_value,
            cookie=cookie,
        )
        self.actions_api = ActionsApi(self._api)
        self.auth_api = AuthApi(self._api)
        self.branches_api = BranchesApi(self._api)
        self.commits_api = CommitsApi(self._api)
        self.config_api = ConfigApi(self._api)
        self.experimental_api = ExperimentalApi(self._api)
        self.external_api = ExternalApi(self._api)
        self.health_check_api = HealthCheckApi(self._api)
        self.import_api = ImportApi(self._api)
        self.internal_api = InternalApi(self._api)
        self.metadata_api = MetadataApi(self._api)
        self.objects_api = ObjectsApi(self._api)
        self.pulls_api = PullsApi(self._api)
        self.refs_api = RefsApi(self._api)
        self.repositories_api = RepositoriesApi(self._api)
        self.staging_api = StagingApi(self._api)
        self.tags_api = TagsApi(self._api)

    @property
    def api_client(self) -> AsyncApiClient:
        """The ``AsyncApiClient`` shared by all the APIs of this client."""
        return self._api

    async def close(self) -> None:
        """Close the connection pool; the client opens a new one if it is used again."""
        await self._api.close()

    async def __aenter__(self) -> AsyncLakeFSClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.close()
