"""The property store: small plain files under `$DOKKU_LIB_ROOT/config/<plugin>/<app>/`.

Every write is atomic (temp file in the same folder, fsync, rename), and every
read-modify-write runs under a per-app flock, so concurrent commands never lose an update and a
killed process never leaves half a file. Files are readable: one value per line, or one JSON
object per line.
"""
import contextlib
import fcntl
import json
import os

from pipeline import paths


def _owner_ids() -> tuple[int, int] | None:
    """When root writes state in a tree owned by the dokku user, hand the new files to that user,
    so commands arriving over SSH (as dokku) can still write them."""
    if os.geteuid() != 0:
        return None
    try:
        st = paths.lib_root().stat()
    except FileNotFoundError:
        return None
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def _makedirs(path) -> None:
    from pathlib import Path
    path = Path(path)
    if path.is_dir():
        return
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    owner = _owner_ids()
    if owner:
        for d in missing:
            with contextlib.suppress(OSError):
                os.chown(d, *owner)


def prop_path(plugin: str, app: str | None, prop: str):  # -> pathlib.Path
    return paths.config_dir(plugin, app) / prop


def _dir(plugin: str, app: str | None) -> str:
    # Plain string paths: pathlib costs as much as the read itself on `storage:report` of
    # thousands of apps.
    return f"{paths.lib_root_dir()}/config/{plugin}/{app or '--global'}"


def list_props(plugin: str, app: str | None) -> list[str]:
    """The names of the properties stored for a plugin and app (temp files aside)."""
    try:
        return [n for n in os.listdir(_dir(plugin, app)) if not n.startswith(".")]
    except FileNotFoundError:
        return []


def read_text(plugin: str, app: str | None, prop: str, default: str = "") -> str:
    path = f"{_dir(plugin, app)}/{prop}"
    try:
        with open(path, "rb") as f:  # bytes and one decode: cheaper than a text-mode file
            return f.read().decode()
    except FileNotFoundError:
        return default


def write_text(plugin: str, app: str | None, prop: str, text: str) -> None:
    """Atomically replace one property file."""
    target = prop_path(plugin, app, prop)
    _makedirs(target.parent)
    # A unique temp name without `tempfile` (whose import costs a state command more than the
    # write): pid plus random bytes, created exclusively.
    tmp = str(target.parent / f".{prop}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        owner = _owner_ids()
        if owner:
            os.chown(tmp, *owner)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power loss
        finally:
            os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def delete(plugin: str, app: str | None, prop: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        prop_path(plugin, app, prop).unlink()


def read_lines(plugin: str, app: str | None, prop: str) -> list[str]:
    return [line for line in read_text(plugin, app, prop).split("\n") if line]


def write_lines(plugin: str, app: str | None, prop: str, lines: list[str]) -> None:
    write_text(plugin, app, prop, "".join(line + "\n" for line in lines))


def read_json_lines(plugin: str, app: str | None, prop: str) -> list[dict]:
    lines = read_lines(plugin, app, prop)
    return json.loads("[" + ",".join(lines) + "]") if lines else []  # one parse for all lines


def write_json_lines(plugin: str, app: str | None, prop: str, records: list[dict]) -> None:
    write_lines(plugin, app, prop, [json.dumps(r, sort_keys=True) for r in records])


def get(plugin: str, app: str | None, prop: str, default: str = "") -> str:
    """A single-value property (stripped of its trailing newline)."""
    value = read_text(plugin, app, prop, None)
    return default if value is None else value.rstrip("\n")


def put(plugin: str, app: str | None, prop: str, value: str) -> None:
    write_text(plugin, app, prop, value + "\n")


@contextlib.contextmanager
def lock(name: str):
    """An exclusive flock on `$DOKKU_LIB_ROOT/config/.locks/<name>`: wrap every
    read-modify-write of an app's state in `lock(app)`."""
    lock_dir = paths.lib_root() / "config" / ".locks"
    _makedirs(lock_dir)
    # Read-only is enough for flock: a lock file root created (mode 0644) must still work for
    # the dokku user arriving over SSH, or `apps:create` as root locks out the first push.
    fd = os.open(lock_dir / name, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def app_lock(app: str | None):
    return lock("app-" + (app or "--global"))


def remove_app(app: str) -> None:
    """Delete every plugin's state for an app (never its host data)."""
    config = paths.lib_root() / "config"
    if not config.is_dir():
        return
    for plugin_dir in config.iterdir():
        if plugin_dir.name.startswith("."):
            continue
        import shutil
        shutil.rmtree(plugin_dir / app, ignore_errors=True)
    # The app's lock file stays: deleting it while another process waits on it would let a
    # third process lock a fresh file and run at the same time.
