"""Fixtures shared by the unit tests."""

from __future__ import annotations

import importlib.util

import pytest

from lintas import settings


@pytest.fixture(scope="module")
def bench(request):
    """The bench script named by the test module's BENCH_SCRIPT, imported from bench/ (scripts, not a package)."""
    script = request.module.BENCH_SCRIPT
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), settings.project_root() / "bench" /
                                                  script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
