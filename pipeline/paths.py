"""Where things live. Read from the environment on every call, so tests and benchmarks can run
side by side in throwaway folders."""
import os

# pathlib is imported only when a Path is asked for: `storage:list` and `storage:report` answer
# from plain strings (dokku_root_dir, lib_root_dir) and never pay for its import.


def dokku_root_dir() -> str:
    return os.environ.get("DOKKU_ROOT", "/home/dokku")


def lib_root_dir() -> str:
    return os.environ.get("DOKKU_LIB_ROOT", "/var/lib/dokku")


def dokku_root():  # -> pathlib.Path
    """One folder per app, holding its bare git repo."""
    from pathlib import Path
    return Path(dokku_root_dir())


def lib_root():  # -> pathlib.Path
    from pathlib import Path
    return Path(lib_root_dir())


def app_dir(app: str):  # -> pathlib.Path
    return dokku_root() / app


def config_dir(plugin: str, app: str | None = None):  # -> pathlib.Path
    """`$DOKKU_LIB_ROOT/config/<plugin>/<app>/`, or the plugin's global folder `--global`."""
    return lib_root() / "config" / plugin / (app if app else "--global")


def storage_root():  # -> pathlib.Path
    return lib_root() / "data" / "storage"


def plugins_dir(which: str):  # -> pathlib.Path
    """`available` or `enabled` executable plugins."""
    return lib_root() / "plugins" / which
