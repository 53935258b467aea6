"""The one change a ``LakeFSClient`` makes to the configuration it is given, and its undoing.

``LakeFSClient`` and ``AsyncLakeFSClient`` complete a host given without a scheme or without
``/api/v1`` (``localhost:8000`` -> ``http://localhost:8000/api/v1``) by writing the completed
host into ``configuration.host``, as upstream's ``LakeFSClient`` does: the high-level ``lakefs``
package reads the completed host back from its configuration (its IAM login parses it), so a
copy or a view would break it. The change is documented on both clients, made only when the
host is incomplete, and undone by ``close()`` (and leaving the ``with`` block), which puts back
the host the caller gave unless something set another host since.
"""

from __future__ import annotations

from typing import Optional

from lakefs_sdk._endpoint import normalize_endpoint
from lakefs_sdk.configuration import Configuration


class HostCompletion:
    """Completes ``configuration.host`` in place now; :meth:`undo` restores the host given."""

    __slots__ = ("completed", "configuration", "given")

    def __init__(self, configuration: Optional[Configuration]) -> None:
        self.configuration = configuration
        self.given: Optional[str] = None
        self.completed: Optional[str] = None
        if configuration is None or not configuration.host:
            return
        completed = normalize_endpoint(configuration.host)
        if completed != configuration.host:
            self.given, self.completed = configuration.host, completed
            configuration.host = completed

    def undo(self) -> None:
        """Put back the host the caller gave, unless the host was changed again since."""
        configuration, given, completed = self.configuration, self.given, self.completed
        if configuration is not None and given is not None and configuration.host == completed:
            configuration.host = given
        self.completed = None
