"""The guide's snippets drive Prism through tests/examples/scripted_proxy.py: make it importable."""

from __future__ import annotations

import sys
from pathlib import Path

_EXAMPLES_TESTS = str(Path(__file__).resolve().parents[1] / "examples")
if _EXAMPLES_TESTS not in sys.path:
    sys.path.insert(0, _EXAMPLES_TESTS)
