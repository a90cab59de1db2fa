"""Where things live. Read from the environment on every call, so tests and benchmarks can run
side by side in throwaway folders."""
import os
from pathlib import Path


def dokku_root() -> Path:
    """One folder per app, holding its bare git repo."""
    return Path(os.environ.get("DOKKU_ROOT", "/home/dokku"))


def lib_root() -> Path:
    return Path(os.environ.get("DOKKU_LIB_ROOT", "/var/lib/dokku"))


def app_dir(app: str) -> Path:
    return dokku_root() / app


def config_dir(plugin: str, app: str | None = None) -> Path:
    """`$DOKKU_LIB_ROOT/config/<plugin>/<app>/`, or the plugin's global folder `--global`."""
    return lib_root() / "config" / plugin / (app if app else "--global")


def storage_root() -> Path:
    return lib_root() / "data" / "storage"


def plugins_dir(which: str) -> Path:
    """`available` or `enabled` executable plugins."""
    return lib_root() / "plugins" / which
