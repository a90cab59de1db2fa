import os
import shutil
import sys

import pytest

# The tests call the installed `dokku` as a user would; fall back to this checkout's module.
DOKKU = shutil.which("dokku")
DOKKU_CMD = [DOKKU] if DOKKU else [sys.executable, "-m", "pipeline.cli"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def dokku_env(tmp_path, monkeypatch):
    """Throwaway DOKKU_ROOT and DOKKU_LIB_ROOT for one test."""
    root, lib = tmp_path / "home", tmp_path / "lib"
    root.mkdir()
    lib.mkdir()
    monkeypatch.setenv("DOKKU_ROOT", str(root))
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(lib))
    return {"DOKKU_ROOT": str(root), "DOKKU_LIB_ROOT": str(lib), "root": root, "lib": lib}


__all__ = ["DOKKU_CMD", "os"]
