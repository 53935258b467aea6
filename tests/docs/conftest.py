"""Markers of the documentation tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "install: builds the wheel and installs it in a fresh venv (about a minute; needs the package index)"
    )
