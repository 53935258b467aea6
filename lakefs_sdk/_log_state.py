"""The changes a ``Configuration`` makes to the process's loggers, counted so they can be undone.

Loggers are process-wide: ``Configuration.debug`` and ``Configuration.logger_file`` change
them for every client, as in the upstream SDK. Here each change is a *hold* taken by one
configuration, and undone when the last configuration holding it lets go (or is collected):

- ``debug``: the first hold on a logger records its level and sets ``DEBUG``; when the last
  hold is released, the recorded level comes back, unless someone changed the level since
  (then theirs is kept).
- ``logger_file``: configurations naming the same file with the same format share one
  ``FileHandler`` (so each record is written once); the last one to let go removes it from
  the loggers it was added to and closes it.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

_lock = threading.RLock()


@dataclass
class _DebugHold:
    found_level: int  # the logger's level before the first hold
    owners: Set[int] = field(default_factory=set)


@dataclass
class _FileHold:
    handler: logging.Handler
    loggers: List[logging.Logger] = field(default_factory=list)  # where the handler was added
    owners: Set[int] = field(default_factory=set)


_FileKey = Tuple[str, str]  # (absolute path, format)

_debug: Dict[logging.Logger, _DebugHold] = {}
_debug_by_owner: Dict[int, Set[logging.Logger]] = {}
_files: Dict[_FileKey, _FileHold] = {}
_file_by_owner: Dict[int, _FileKey] = {}
_finalizers: Dict[int, weakref.finalize[[int], object]] = {}


def hold_debug(owner: object, loggers: Iterable[logging.Logger]) -> None:
    """Set ``loggers`` to ``DEBUG`` for ``owner`` until :func:`release_debug` (or its collection)."""
    key = _owner_key(owner)
    with _lock:
        held = _debug_by_owner.setdefault(key, set())
        for logger in loggers:
            if logger in held:
                continue
            hold = _debug.get(logger)
            if hold is None:
                hold = _debug[logger] = _DebugHold(found_level=logger.level)
            hold.owners.add(key)
            held.add(logger)
            logger.setLevel(logging.DEBUG)


def release_debug(owner: object) -> None:
    """Let go of ``owner``'s debug holds; a logger no one holds gets the level it had back."""
    _release_debug(id(owner))


def attach_file(owner: object, path: str, log_format: str, loggers: Iterable[logging.Logger]) -> logging.Handler:
    """Write the records of ``loggers`` to ``path`` for ``owner``; return the (shared) handler.

    Replaces the file ``owner`` attached before, if any.
    """
    key = _owner_key(owner)
    file_key = (os.path.abspath(path), log_format)
    with _lock:
        if _file_by_owner.get(key) == file_key:
            hold = _files[file_key]
        else:
            hold = _files.get(file_key) or _new_file_hold(file_key)  # opened before anything is let go
            _release_file(key)
            _files[file_key] = hold
            _file_by_owner[key] = file_key
        hold.owners.add(key)
        for logger in loggers:
            if logger not in hold.loggers:
                logger.addHandler(hold.handler)
                hold.loggers.append(logger)
        return hold.handler


def release_file(owner: object) -> None:
    """Let go of ``owner``'s file; a handler no one holds is removed and closed."""
    _release_file(id(owner))


def _new_file_hold(file_key: _FileKey) -> _FileHold:
    path, log_format = file_key
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(log_format))
    return _FileHold(handler=handler)


def _owner_key(owner: object) -> int:
    # Keyed by id, not by the object: a configuration must not be kept alive (nor pickled
    # with a token) for this. The finalizer lets go of its holds before the id can be reused.
    key = id(owner)
    with _lock:
        if key not in _finalizers:
            _finalizers[key] = weakref.finalize(owner, _release_all, key)
    return key


def _release_all(key: int) -> None:
    with _lock:
        _release_debug(key)
        _release_file(key)
        del _finalizers[key]


def _release_debug(key: int) -> None:
    with _lock:
        for logger in _debug_by_owner.pop(key, set()):
            hold = _debug[logger]
            hold.owners.discard(key)
            if hold.owners:
                continue
            del _debug[logger]
            if logger.level == logging.DEBUG:  # still ours: a level set since is left alone
                logger.setLevel(hold.found_level)


def _release_file(key: int) -> None:
    with _lock:
        file_key = _file_by_owner.pop(key, None)
        hold: Optional[_FileHold] = _files.get(file_key) if file_key is not None else None
        if hold is None or file_key is None:
            return
        hold.owners.discard(key)
        if hold.owners:
            return
        del _files[file_key]
        for logger in hold.loggers:
            logger.removeHandler(hold.handler)
        hold.handler.close()
