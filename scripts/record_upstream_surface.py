#!/usr/bin/env python3
"""Record the public Python surface of upstream ``lakefs-sdk`` as data, for tests/compat.

    scripts/record_upstream_surface.py [--version 1.84.0] [--output PATH] [--python python3]

Creates a throwaway venv in ``.cache/upstream-venv`` (git-ignored), pip-installs the
upstream ``lakefs-sdk`` there, and introspects it *in that venv* with ``inspect.signature``:

* every public method of every ``*Api`` class (the plain and ``*_with_http_info`` forms,
  whatever upstream has), with each parameter's name, kind and default (as ``repr``);
* the public methods of the runtime classes (``ApiClient``, ``ApiResponse``,
  ``ApiException``, ``Configuration``, ``LakeFSClient``) and the attributes of fresh
  ``Configuration`` and ``LakeFSClient`` instances;
* the public classes and functions of each runtime module, and the exception hierarchy;
* every model: its fields' Python names, JSON names (aliases), required flags and defaults;
* what ``from lakefs_sdk import *`` exports.

The result, ``tests/compat/data/upstream_surface.json``, is sorted and deterministic: run the
script twice and the file does not change. It holds names and signatures only, never code.
tests/compat/test_surface.py compares our package against it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = ROOT / ".cache" / "upstream-venv"
OUTPUT = ROOT / "tests" / "compat" / "data" / "upstream_surface.json"
DEFAULT_VERSION = "1.84.0"
RUNTIME_MODULES = ("api_client", "api_response", "client", "configuration", "exceptions", "rest")
RUNTIME_CLASSES = {
    "ApiClient": "lakefs_sdk.api_client",
    "ApiException": "lakefs_sdk.exceptions",
    "ApiResponse": "lakefs_sdk.api_response",
    "Configuration": "lakefs_sdk.configuration",
    "LakeFSClient": "lakefs_sdk.client",
}
# Never dialled: LakeFSClient and Configuration are built only to list their attributes.
UNREACHABLE_HOST = "http://127.0.0.1:9/api/v1"


# -- introspection (runs inside the upstream venv) ---------------------------------------------


def describe_signature(func: Any) -> List[Dict[str, str]]:
    """The parameters of ``func`` (without ``self``/``cls``): name, kind, and default as repr."""
    params = []
    for param in inspect.signature(func).parameters.values():
        if param.name in ("self", "cls", "__pydantic_self__"):
            continue
        entry = {"name": param.name, "kind": param.kind.name}
        if param.default is not inspect.Parameter.empty:
            entry["default"] = repr(param.default)
        params.append(entry)
    return params


def defined_in_package(cls: type, name: str) -> bool:
    """True if ``name`` comes from a class of the lakefs_sdk package (not from object, Exception ...)."""
    owner = next((c for c in cls.__mro__ if name in vars(c)), None)
    return owner is not None and owner.__module__.split(".")[0] == "lakefs_sdk"


def describe_class(cls: type) -> Dict[str, Any]:
    """Public callables of ``cls`` (and ``__init__``) with their signatures; properties by name."""
    methods: Dict[str, Any] = {}
    properties: List[str] = []
    for name in sorted(dir(cls)):
        if (name.startswith("_") and name != "__init__") or not defined_in_package(cls, name):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, property):
            properties.append(name)
            continue
        value = getattr(cls, name)
        if not callable(value) or inspect.isclass(value):
            continue
        kind = (
            "staticmethod"
            if isinstance(raw, staticmethod)
            else "classmethod"
            if isinstance(raw, classmethod)
            else "method"
        )
        methods[name] = {"kind": kind, "parameters": describe_signature(value)}
    return {"module": cls.__module__, "methods": methods, "properties": properties}


def describe_model(model: Any) -> Dict[str, Any]:
    """The fields of a (pydantic v1) upstream model: Python name, JSON name, required, default."""
    fields = {}
    for name, field in model.__fields__.items():
        entry = {"alias": field.alias, "required": bool(field.required)}
        if not field.required:
            entry["default"] = repr(field.default)
        fields[name] = entry
    return {"module": model.__module__, "fields": fields}


def introspect() -> Dict[str, Any]:
    """Everything recorded about the installed (upstream) ``lakefs_sdk``."""
    import importlib

    import lakefs_sdk
    import lakefs_sdk.api
    import lakefs_sdk.client
    import lakefs_sdk.models

    if Path(lakefs_sdk.__file__).resolve().parent == ROOT / "lakefs_sdk":
        raise SystemExit(f"refusing to record our own package ({lakefs_sdk.__file__}), not upstream's")

    apis = {}
    for name in sorted(vars(lakefs_sdk.api)):
        cls = getattr(lakefs_sdk.api, name)
        if inspect.isclass(cls) and name.endswith("Api"):
            apis[name] = describe_class(cls)

    runtime = {}
    for name, module in RUNTIME_CLASSES.items():
        runtime[name] = describe_class(getattr(importlib.import_module(module), name))

    configuration = lakefs_sdk.Configuration(host=UNREACHABLE_HOST)
    client = lakefs_sdk.client.LakeFSClient(lakefs_sdk.Configuration(host=UNREACHABLE_HOST))
    client_apis = {attr: type(value).__name__ for attr, value in vars(client).items() if not attr.startswith("_")}

    models = {}
    for name in sorted(vars(lakefs_sdk.models)):
        value = getattr(lakefs_sdk.models, name)
        if (
            inspect.isclass(value)
            and hasattr(value, "__fields__")
            and value.__module__.startswith("lakefs_sdk.models.")
        ):
            models[name] = describe_model(value)

    module_names = {}
    for short in RUNTIME_MODULES:
        module = importlib.import_module(f"lakefs_sdk.{short}")
        module_names[short] = sorted(
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and value.__module__ == module.__name__
        )
    exceptions = importlib.import_module("lakefs_sdk.exceptions")
    exception_bases = {
        name: [base.__name__ for base in value.__bases__]
        for name, value in sorted(vars(exceptions).items())
        if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == exceptions.__name__
    }

    namespace: Dict[str, Any] = {}
    exec("from lakefs_sdk import *", namespace)  # what dependents get from a star import
    star = sorted(k for k in namespace if not k.startswith("__"))

    return {
        "package": "lakefs-sdk",
        "version": lakefs_sdk.__version__,
        "apis": apis,
        "runtime": runtime,
        "module_names": module_names,
        "exception_bases": exception_bases,
        "configuration_attributes": sorted(k for k in vars(configuration) if not k.startswith("_")),
        "client_apis": dict(sorted(client_apis.items())),
        "models": models,
        "star_exports": star,
    }


# -- output -------------------------------------------------------------------------------------


def render(value: Any, indent: int = 0) -> str:
    """Deterministic JSON: keys sorted, one line per parameter or field (small flat objects inline)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if (
        isinstance(value, dict)
        and value
        and not all(isinstance(v, (str, bool, int, type(None))) for v in value.values())
    ):
        items = [f"{inner}{json.dumps(k)}: {render(value[k], indent + 1)}" for k in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
        items = [inner + render(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, list) and len(value) > 8:  # long lists of names: one per line
        return "[\n" + ",\n".join(inner + json.dumps(v) for v in value) + "\n" + pad + "]"
    return json.dumps(value, sort_keys=True)


# -- driver (runs with any python3) ---------------------------------------------------------------


def ensure_venv(python: str, version: str) -> Path:
    """Create ``.cache/upstream-venv`` if needed and install ``lakefs-sdk==version`` in it."""
    bin_dir = VENV_DIR / ("Scripts" if os.name == "nt" else "bin")
    venv_python = bin_dir / "python"
    if not venv_python.exists():
        if python == sys.executable:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV_DIR)
        else:
            subprocess.run([python, "-m", "venv", "--clear", str(VENV_DIR)], check=True)
    subprocess.run(
        [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"lakefs-sdk=={version}"],
        check=True,
    )
    return venv_python


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="upstream lakefs-sdk version to record")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the JSON")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the throwaway venv")
    parser.add_argument("--introspect", action="store_true", help=argparse.SUPPRESS)  # inner step, in the venv
    args = parser.parse_args(argv)

    if args.introspect:
        json.dump(introspect(), sys.stdout, indent=1, sort_keys=True)
        return 0

    venv_python = ensure_venv(args.python, args.version)
    # -I: isolated mode, so neither this checkout nor PYTHONPATH can shadow the upstream package.
    result = subprocess.run(
        [str(venv_python), "-I", str(Path(__file__).resolve()), "--introspect"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(VENV_DIR),
    )
    surface = json.loads(result.stdout)
    if surface["version"] != args.version:
        raise SystemExit(f"installed lakefs-sdk {surface['version']}, expected {args.version}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(surface) + "\n", encoding="utf-8")
    operations = sum(1 for api in surface["apis"].values() for m in api["methods"] if m != "__init__")
    print(
        f"{args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}: "
        f"{len(surface['apis'])} API classes, {operations} methods, {len(surface['models'])} models"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
