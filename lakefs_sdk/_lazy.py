"""Lazy attribute loading for the package's ``__init__`` modules (PEP 562).

``import lakefs_sdk`` must stay about as cheap as importing urllib3 and pydantic, so
the generated ``__init__`` files only record where each public name lives; the
defining module is imported the first time the name is looked up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Dict, List, Mapping, Tuple


def lazy_module(
    package: str, namespace: Dict[str, Any], exports: Mapping[str, str], submodules: Tuple[str, ...] = ()
) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` functions for a lazily loaded package.

    ``exports`` maps a public name to the module (relative, e.g. ``".models.ref"``) that
    defines it; ``submodules`` are names importable as ``package.<name>``. A loaded value is
    stored in ``namespace`` so later lookups are plain global reads.
    """

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is not None:
            value = getattr(import_module(module_name, package), name)
        elif name in submodules:
            value = import_module("." + name, package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(exports) | set(submodules))

    return __getattr__, __dir__
