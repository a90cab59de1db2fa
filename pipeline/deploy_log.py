"""Kept deploy logs and the record of an app's last deploy.

Every deploy that git starts (a push in either receive mode, `git:sync --build`) writes its
output to a file that stays once the deploy has ended, and to the record of the last deploy:

    $DOKKU_LIB_ROOT/data/deploy-logs/<app>/<UTC time>-<sha7>.log   the newest KEEP logs per app
    $DOKKU_LIB_ROOT/config/git/<app>/last-deploy                  one JSON object:

    {"id": "20250101T120000.123456Z-abc1234", "sha": "<40 hex>", "status": "running",
     "started": "2025-01-01T12:00:00Z", "finished": "", "log": "<path>", "pid": 4242}

`status` is running, success or failed. Only the deploy that the record names may update it:
a deploy that ends after a newer one was recorded leaves the record to the newer one (its own
log still ends with how it went). A record that says running while its process is gone (killed,
host rebooted) reads as failed.

Shown by `dokku logs:deploy <app> [-t]` and the `--git-last-deploy-*` rows of `git:report`.
"""
import contextlib
import json
import os
import re
import select
import shutil
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from pipeline import paths, store

PLUGIN = "git"
RECORD = "last-deploy"
KEEP = 20  # logs kept per app (the one the record names is never removed)
RUNNING, SUCCESS, FAILED = "running", "success", "failed"
ID = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{7}(?:-\d+)?$")
POLL_SECONDS = 0.2


def logs_dir(app: str) -> Path:
    return paths.lib_root() / "data" / "deploy-logs" / app


def log_path(app: str, deploy_id: str) -> Path:
    if not ID.fullmatch(deploy_id):
        raise ValueError(f"not a deploy id: {deploy_id!r}")
    return logs_dir(app) / f"{deploy_id}.log"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the record


def _read(app: str) -> dict | None:
    try:
        record = json.loads(store.get(PLUGIN, app, RECORD) or "null")
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _record_lock(app: str):
    return store.lock("deploy-record-" + app)


def begin(app: str, sha: str, pid: int | None = None) -> dict:
    """Create the deploy's log file and make it the last deploy (status running)."""
    folder = logs_dir(app)
    store._makedirs(folder)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    base = f"{stamp}-{sha[:7]}"
    for attempt in range(100):
        deploy_id = base if attempt == 0 else f"{base}-{attempt}"
        path = folder / f"{deploy_id}.log"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            continue
        owner = store._owner_ids()
        if owner:
            with contextlib.suppress(OSError):
                os.fchown(fd, *owner)
        os.close(fd)
        break
    else:
        raise RuntimeError(f"could not create a log file in {folder}")
    record = {"id": deploy_id, "sha": sha, "status": RUNNING, "started": _now(), "finished": "",
              "log": str(path), "pid": pid}
    with _record_lock(app):
        store.put(PLUGIN, app, RECORD, json.dumps(record, sort_keys=True))
    _prune(app, keep_path=path)
    return record


def update(app: str, deploy_id: str, **fields) -> bool:
    """Change the record of deploy `deploy_id`; False (and nothing written) when the record
    names another deploy by now."""
    with _record_lock(app):
        record = _read(app)
        if record is None or record.get("id") != deploy_id:
            return False
        record.update(fields)
        store.put(PLUGIN, app, RECORD, json.dumps(record, sort_keys=True))
        return True


def finish(app: str, deploy_id: str, status: str) -> bool:
    return update(app, deploy_id, status=status, finished=_now())


def _alive(pid) -> bool:
    """Whether process `pid` still runs (a zombie counts as gone)."""
    if not isinstance(pid, int) or pid <= 0:
        return True  # not started yet: trust the record
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def last(app: str) -> dict | None:
    """The last deploy's record, with a running deploy whose process is gone read as failed."""
    record = _read(app)
    if record and record.get("status") == RUNNING and not _alive(record.get("pid")):
        record = {**record, "status": FAILED, "interrupted": True}
    return record


def is_running(app: str, deploy_id: str, pid: int | None = None) -> bool:
    """Whether the deploy `deploy_id` is still going: its record says so, or (once the record
    names a newer deploy) its process `pid` still runs."""
    record = last(app)
    if record and record.get("id") == deploy_id:
        return record.get("status") == RUNNING
    return pid is not None and _alive(pid)


def _prune(app: str, keep_path: Path) -> None:
    """Keep the newest KEEP logs (names sort by time); never the one just created or the one
    the record names."""
    record = _read(app) or {}
    keep = {str(keep_path), record.get("log")}
    with contextlib.suppress(OSError):
        logs = sorted(p for p in logs_dir(app).iterdir() if p.suffix == ".log")
        for old in logs[:-KEEP]:
            if str(old) not in keep:
                with contextlib.suppress(OSError):
                    old.unlink()


def remove_app(app: str) -> None:
    """The app's kept logs go with the app (its record goes with config/git/<app>)."""
    shutil.rmtree(logs_dir(app), ignore_errors=True)


# ---------------------------------------------------------------- a deploy in the foreground


class _Tee:
    """A text stream that writes to the console stream and to the kept log."""

    def __init__(self, stream, file, lock: threading.Lock):
        self._stream, self._file, self._lock = stream, file, lock

    def write(self, text: str) -> int:
        with self._lock:
            with contextlib.suppress(ValueError, OSError):
                self._file.write(text)
                self._file.flush()
            return self._stream.write(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def recording(app: str, sha: str):
    """Run a foreground deploy with its output shown as usual and kept in a new log, and its
    result in the record. An error is written to the log (the caller still prints it)."""
    record = begin(app, sha, pid=os.getpid())
    lock = threading.Lock()
    with open(record["log"], "a", encoding="utf-8", errors="replace") as file:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(sys.stdout, file, lock), _Tee(sys.stderr, file, lock)
        try:
            yield record
        except BaseException as err:
            sys.stdout, sys.stderr = saved
            file.write(failure_text(err))
            file.flush()
            finish(app, record["id"], FAILED)
            raise
        else:
            sys.stdout, sys.stderr = saved
            finish(app, record["id"], SUCCESS)
        finally:
            sys.stdout, sys.stderr = saved


def failure_text(err: BaseException) -> str:
    """How an error that ended a deploy reads in its log (as `pipeline.cli` prints it)."""
    from pipeline import errors
    if isinstance(err, errors.Quiet):
        return ""
    if isinstance(err, errors.DokkuError):
        message = str(err)
    elif isinstance(err, KeyboardInterrupt):
        message = "Interrupted"
    elif isinstance(err, SystemExit):
        message = f"Stopped (exit {err.code})"
    else:
        message = f"{type(err).__name__}: {err}"
    return "".join(" !     " + line.removeprefix(" !     ") + "\n" for line in message.split("\n"))


# ---------------------------------------------------------------- following a log


class Gone(Exception):
    """The reader went away (closed pipe, hung-up connection)."""


def _writable(fd: int, timeout: float) -> bool:
    """Wait until `fd` takes a write; Gone when its reader has closed it."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    events = poller.poll(timeout * 1000)
    for _, mask in events:
        if mask & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
            raise Gone()
        if mask & select.POLLOUT:
            return True
    return False


def _emit(fd: int, data: bytes, stall_seconds: float) -> None:
    """Write all of `data` to `fd` in pipe-sized pieces, never blocking for more than
    `stall_seconds` on a reader that stopped reading."""
    view = memoryview(data)
    while view:
        if not _writable(fd, stall_seconds):
            raise Gone()
        try:
            written = os.write(fd, view[:4096])
        except BlockingIOError:
            continue
        except OSError as err:  # EPIPE, ECONNRESET, EIO: the reader is gone
            raise Gone() from err
        view = view[written:]


def reader_gone(fd: int) -> bool:
    """Whether the reader of `fd` (a pipe or socket) has gone away, without writing to it."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(mask & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, mask in poller.poll(0))
    except (OSError, ValueError):
        return True


def follow(path: str | Path, fd: int, still_running, max_seconds: float | None = None,
           stall_seconds: float = 30.0) -> str:
    """Copy the log at `path` to `fd` from its start, then as it grows, until `still_running()`
    is false (returns "done", after copying what the log holds by then), `max_seconds` have
    passed ("timeout") or the reader of `fd` has gone ("gone")."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    with contextlib.suppress(BrokenPipeError, ValueError, OSError):
        sys.stdout.flush()
    try:
        with open(path, "rb") as f:
            while True:
                running = still_running()  # asked before reading, so nothing written before the end is missed
                while chunk := f.read(65536):
                    _emit(fd, chunk, stall_seconds)
                if not running:
                    return "done"
                if deadline is not None and time.monotonic() >= deadline:
                    return "timeout"
                if reader_gone(fd):
                    return "gone"
                wait = POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
                time.sleep(wait)
    except Gone:
        return "gone"
