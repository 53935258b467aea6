"""The configuration a ``LakeFSClient`` hands its API client: the caller's, never changed.

``LakeFSClient`` completes a host given without a scheme or ``/api/v1`` (upstream did so by
rewriting ``configuration.host``). Here the caller's ``Configuration`` is left as it is: when
its host needs completing, the client gets a view of it that reads and writes everything
through to it, except that its ``host`` reads as the completed endpoint. Later changes to
the caller's object (a new ``access_token``, as the high-level ``lakefs`` package makes on
refresh) thus still reach the client, as with upstream.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Optional, Tuple

from lakefs_sdk._endpoint import normalize_endpoint
from lakefs_sdk.configuration import Configuration


def client_configuration(configuration: Optional[Configuration]) -> Optional[Configuration]:
    """``configuration`` itself when its host is complete (or it is None), else an :class:`EndpointView`."""
    if configuration is None or not configuration.host:
        return configuration
    if normalize_endpoint(configuration.host) == configuration.host:
        return configuration
    return EndpointView(configuration)


class EndpointView(Configuration):
    """A ``Configuration`` that is ``base`` in all but ``host``, which reads as ``base.host`` completed.

    Every other attribute is read from and written to ``base`` (writing ``host`` writes
    ``base.host``); nothing is copied, so the two never disagree.
    """

    def __init__(self, base: Configuration) -> None:  # no super().__init__: all state is base's
        object.__setattr__(self, "_base", base)

    @property
    def base(self) -> Configuration:
        """The caller's configuration this view reads and writes through to."""
        base: Configuration = object.__getattribute__(self, "_base")
        return base

    @property
    def host(self) -> str:
        """``base.host``, completed with a scheme and ``/api/v1`` where they are missing."""
        return normalize_endpoint(self.base.host)

    @host.setter
    def host(self, value: str) -> None:
        self.base.host = value

    def __getattr__(self, name: str) -> Any:
        # Only called for names the view does not have itself; dunders are never forwarded
        # (copy and pickle probe for them).
        if name.startswith("__") or name == "_base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.base, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.base, name)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Configuration:
        return EndpointView(copy.deepcopy(self.base, memo))

    def __reduce__(self) -> Tuple[Callable[[Configuration], EndpointView], Tuple[Configuration]]:
        return (EndpointView, (self.base,))
