"""The property store: atomic writes, per-app locks, defaults for missing files, app removal."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline import paths, store


@pytest.fixture
def lib(dokku_env) -> Path:
    return dokku_env["lib"]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- paths

def test_prop_path_per_app_and_global(lib):
    assert store.prop_path("storage", "my-app", "mounts") == lib / "config" / "storage" / "my-app" / "mounts"
    assert store.prop_path("config", None, "env") == lib / "config" / "config" / "--global" / "env"


def test_paths_follow_the_environment_on_every_call(tmp_path, monkeypatch):
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path / "one"))
    store.put("p", "a", "k", "1")
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path / "two"))
    assert store.get("p", "a", "k") == ""
    store.put("p", "a", "k", "2")
    assert (tmp_path / "one" / "config" / "p" / "a" / "k").read_text() == "1\n"
    assert (tmp_path / "two" / "config" / "p" / "a" / "k").read_text() == "2\n"
    assert paths.lib_root() == tmp_path / "two"


# ---------------------------------------------------------------- missing files

def test_reading_a_missing_file_gives_the_default(lib):
    assert store.read_text("p", "a", "nope") == ""
    assert store.read_text("p", "a", "nope", "dflt") == "dflt"
    assert store.read_text("p", "a", "nope", None) is None
    assert store.get("p", "a", "nope") == ""
    assert store.get("p", "a", "nope", "dflt") == "dflt"
    assert store.read_lines("p", "a", "nope") == []
    assert store.read_json_lines("p", "a", "nope") == []
    assert not (lib / "config").exists(), "reading must not create folders"


def test_delete_missing_is_harmless(lib):
    store.delete("p", "a", "nope")
    store.put("p", "a", "k", "v")
    store.delete("p", "a", "k")
    assert store.get("p", "a", "k", "gone") == "gone"


# ---------------------------------------------------------------- round trips

def test_put_get(lib):
    store.put("p", "a", "k", "value")
    assert store.prop_path("p", "a", "k").read_text() == "value\n"
    assert store.get("p", "a", "k") == "value"
    store.put("p", "a", "k", "")
    assert store.get("p", "a", "k", "dflt") == ""


def test_lines_round_trip(lib):
    store.write_lines("p", "a", "k", ["-v /a:/b", "--label x=$(id)", "c d"])
    assert store.read_lines("p", "a", "k") == ["-v /a:/b", "--label x=$(id)", "c d"]
    assert store.read_text("p", "a", "k") == "-v /a:/b\n--label x=$(id)\nc d\n"
    store.write_lines("p", "a", "k", [])
    assert store.read_lines("p", "a", "k") == []


def test_json_lines_round_trip(lib):
    records = [{"value": "multi\nline", "b": [1, 2]}, {"value": "é ✓", "b": True}]
    store.write_json_lines("p", "a", "k", records)
    assert store.read_json_lines("p", "a", "k") == records
    lines = store.read_text("p", "a", "k").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == records[0]


# ---------------------------------------------------------------- atomic writes

def test_write_leaves_no_temp_files(lib):
    for i in range(20):
        store.write_text("p", "a", "k", f"v{i}" * 1000)
    folder = store.prop_path("p", "a", "k").parent
    assert files_in(folder) == ["k"]
    assert store.read_text("p", "a", "k") == "v19" * 1000


def test_written_file_is_readable_by_others(lib):
    store.write_text("p", "a", "k", "v")
    assert store.prop_path("p", "a", "k").stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_the_old_file_and_no_temp(lib, monkeypatch):
    store.write_text("p", "a", "k", "old")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write_text("p", "a", "k", "new")
    assert store.read_text("p", "a", "k") == "old"
    assert files_in(store.prop_path("p", "a", "k").parent) == ["k"]


def test_interrupted_write_keeps_the_old_file_and_no_temp(lib, monkeypatch):
    store.write_text("p", "a", "k", "old")
    real_replace = os.replace

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_text("p", "a", "k", "new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert store.read_text("p", "a", "k") == "old"
    assert files_in(store.prop_path("p", "a", "k").parent) == ["k"]


def test_readers_never_see_half_a_file(lib):
    """A reader racing many writers sees one whole version or another, never a mix."""
    versions = [(chr(ord("a") + i) * 200_000) for i in range(6)]
    store.write_text("p", "a", "k", versions[0])
    stop = threading.Event()
    bad = []

    def reader():
        while not stop.is_set():
            text = store.read_text("p", "a", "k")
            if text not in versions:
                bad.append(len(text))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(10):
            for v in versions:
                store.write_text("p", "a", "k", v)
    finally:
        stop.set()
        t.join()
    assert bad == []


# ---------------------------------------------------------------- locks

def test_lock_is_exclusive_between_holders(lib):
    order = []
    held = threading.Event()

    def first():
        with store.app_lock("a"):
            held.set()
            time.sleep(0.3)
            order.append("first-done")

    def second():
        held.wait()
        with store.app_lock("a"):
            order.append("second-in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first-done", "second-in"]


def test_locks_of_different_apps_do_not_block_each_other(lib):
    got = threading.Event()

    def other():
        with store.app_lock("b"):
            got.set()

    with store.app_lock("a"):
        t = threading.Thread(target=other)
        t.start()
        assert got.wait(5), "app b waited for app a's lock"
        t.join()


def test_lock_is_released_on_error(lib):
    with pytest.raises(RuntimeError), store.app_lock("a"):
        raise RuntimeError
    done = threading.Event()

    def again():
        with store.app_lock("a"):
            done.set()

    t = threading.Thread(target=again)
    t.start()
    assert done.wait(5)
    t.join()


COUNTER = """
import sys
from pipeline import store
for _ in range(int(sys.argv[1])):
    with store.app_lock("a"):
        n = int(store.get("p", "a", "n", "0"))
        store.put("p", "a", "n", str(n + 1))
"""


def test_lock_serializes_read_modify_write_across_processes(lib):
    procs = [subprocess.Popen([sys.executable, "-c", COUNTER, "40"], env=os.environ.copy())
             for _ in range(8)]
    for p in procs:
        assert p.wait(120) == 0
    assert store.get("p", "a", "n") == "320"
    assert files_in(store.prop_path("p", "a", "n").parent) == ["n"]


def test_global_lock_name(lib):
    with store.app_lock(None):
        pass
    assert (lib / "config" / ".locks" / "app---global").exists()


# ---------------------------------------------------------------- remove_app

def test_remove_app_keeps_other_apps_and_host_data(lib):
    for app in ("gone", "kept", "gone-too"):
        store.put("storage", app, "mounts", app)
        store.put("config", app, "env", app)
    store.put("config", None, "env", "global")
    with store.app_lock("gone"):
        pass
    data = lib / "data" / "storage" / "gone"
    data.mkdir(parents=True)
    (data / "db").write_text("precious")

    store.remove_app("gone")

    assert not (lib / "config" / "storage" / "gone").exists()
    assert not (lib / "config" / "config" / "gone").exists()
    assert store.get("storage", "kept", "mounts") == "kept"
    assert store.get("config", "gone-too", "env") == "gone-too"
    assert store.get("config", None, "env") == "global"
    assert (data / "db").read_text() == "precious"


def test_remove_app_without_any_state(lib):
    store.remove_app("never-was")
    store.put("p", "x", "k", "v")
    store.remove_app("never-was")
    assert store.get("p", "x", "k") == "v"
