"""State survives concurrency and crashes: concurrent writers on one app never lose an update,
and a writer killed at any moment leaves state that the next command reads."""
import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from tests.conftest import DOKKU_CMD

N = 20
KILL_ROUNDS = 30


def spawn(dokku, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*DOKKU_CMD, *args], env=dokku.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_all(dokku, commands: list[list[str]]) -> None:
    """Start every command at once; all must succeed."""
    procs = [spawn(dokku, *args) for args in commands]
    failures = []
    for args, p in zip(commands, procs, strict=True):
        out, err = p.communicate(timeout=120)
        if p.returncode != 0:
            failures.append(f"dokku {' '.join(args)} exited {p.returncode}: {err}")
    assert not failures, "\n".join(failures)


def stray_files(folder) -> list[str]:
    """Files in a state folder that are not state (temp files a killed writer left)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- concurrent writers

def test_concurrent_storage_mounts_are_all_recorded(dokku, app):
    run_all(dokku, [["storage:mount", app, f"/var/lib/dokku/data/storage/m{i}:/m{i}"] for i in range(N)])
    mounts = dokku.ok_json("storage:list", app, "--format", "json")
    assert len(mounts) == N
    assert sorted(m["container_path"] for m in mounts) == sorted(f"/m{i}" for i in range(N))
    assert sorted(m["host_path"] for m in mounts) == sorted(f"/var/lib/dokku/data/storage/m{i}" for i in range(N))
    assert stray_files(dokku.lib / "config" / "storage" / app) == []


def test_concurrent_docker_options_are_all_recorded(dokku, app):
    run_all(dokku, [["docker-options:add", app, "deploy", f"--label k{i}=v"] for i in range(N)])
    lines = dokku.ok("docker-options:list", app, "--phase", "deploy").out.splitlines()
    assert len(lines) == N, lines
    for i in range(N):
        assert sum(f"k{i}=v" in line.split() or f"--label=k{i}=v" == line for line in lines) == 1, lines
    report = dokku.ok_json("docker-options:report", app, "--format", "json")
    assert len(report["deploy-list"]) == N
    assert stray_files(dokku.lib / "config" / "docker-options" / app) == []


def test_concurrent_config_sets_are_all_recorded(dokku, app):
    run_all(dokku, [["config:set", "--no-restart", app, f"K{i}=v"] for i in range(N)])
    env = dokku.ok_json("config:show", app, "--format", "json")
    assert env == {f"K{i}": "v" for i in range(N)}
    assert stray_files(dokku.lib / "config" / "config" / app) == []


def test_concurrent_writers_of_different_plugins_on_one_app(dokku, app):
    commands = []
    for i in range(8):
        commands.append(["config:set", "--no-restart", app, f"K{i}=v"])
        commands.append(["storage:mount", app, f"/srv/m{i}:/m{i}"])
        commands.append(["docker-options:add", app, "deploy", f"--label k{i}=v"])
    run_all(dokku, commands)
    assert len(dokku.ok_json("config:show", app, "--format", "json")) == 8
    assert len(dokku.ok_json("storage:list", app, "--format", "json")) == 8
    assert len(dokku.ok("docker-options:list", app, "--phase", "deploy").out.splitlines()) == 8


def test_concurrent_global_config_sets(dokku):
    run_all(dokku, [["config:set", "--global", f"G{i}=v"] for i in range(N)])
    assert len(dokku.ok_json("config:show", "--global", "--format", "json")) == N


# ---------------------------------------------------------------- killed writers

def kill_after(proc: subprocess.Popen, delay: float) -> None:
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


@pytest.fixture
def rng(request):
    seed = int(os.environ.get("KILL_SEED", time.time_ns() % 100_000))
    request.node.user_properties.append(("kill_seed", seed))
    print(f"KILL_SEED={seed}")
    return random.Random(seed)


def test_killed_config_writer_never_leaves_half_a_value(dokku, app, rng):
    size = 100_000  # one argv word can hold 128 KiB
    current = None
    killed = 0
    for i in range(KILL_ROUNDS):
        value = chr(ord("a") + i % 26) * (size + i)
        proc = spawn(dokku, "config:set", "--no-restart", app, f"BIG={value}", f"ROUND={i}")
        kill_after(proc, rng.uniform(0.0, 0.05))
        killed += proc.returncode == -signal.SIGKILL
        env = dokku.ok_json("config:show", app, "--format", "json")
        big = env.get("BIG")
        assert big in (current, value), f"round {i}: BIG is {len(big or '')} bytes, neither old nor new"
        if big == value:
            assert env["ROUND"] == str(i)  # both keys of one command land together
        current = big
        r = dokku("config:get", app, "BIG")
        assert r.code == (0 if big is not None else 1)
        assert set(dokku.ok("config:keys", app).out.split()) <= {"BIG", "ROUND"}
    # the lock a killed writer held is free again
    dokku.ok("config:set", "--no-restart", app, "AFTER=1")
    assert dokku.ok("config:get", app, "AFTER").out == "1\n"
    assert killed > 0, "no writer was killed: the delays are too long for this machine"


def test_killed_storage_writer_leaves_readable_mounts(dokku, app, rng):
    attempted = set()
    for i in range(KILL_ROUNDS):
        attempted.add(f"/c{i}")
        proc = spawn(dokku, "storage:mount", app, f"/var/lib/dokku/data/storage/h{i}:/c{i}")
        kill_after(proc, rng.uniform(0.0, 0.05))
        mounts = dokku.ok_json("storage:list", app, "--format", "json")
        paths = [m["container_path"] for m in mounts]
        assert len(paths) == len(set(paths))
        assert set(paths) <= attempted
        for m in mounts:
            assert set(m) >= {"host_path", "container_path", "readonly", "volume_options", "phases", "process_type"}
        dokku.ok("storage:report", app, "--format", "json")
    dokku.ok("storage:mount", app, "/srv/after:/after")
    assert "/after" in [m["container_path"] for m in dokku.ok_json("storage:list", app, "--format", "json")]


def test_killed_docker_options_writer_leaves_readable_options(dokku, app, rng):
    for i in range(KILL_ROUNDS // 2):
        proc = spawn(dokku, "docker-options:add", app, "deploy", f"--label round{i}=v")
        kill_after(proc, rng.uniform(0.0, 0.05))
        report = dokku.ok_json("docker-options:report", app, "--format", "json")
        lines = dokku.ok("docker-options:list", app, "--phase", "deploy").out.splitlines()
        assert len(report["deploy-list"]) == len(lines)
        assert all("--label" in line for line in lines)
        assert report["build-list"] == [] and report["run-list"] == []


# ---------------------------------------------------------------- temp files are not state

def plant(folder, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_leftover_temp_files_are_not_state(dokku, app):
    """What a writer killed between its temp file and the rename leaves behind."""
    dokku.ok("config:set", "--no-restart", app, "A=1")
    dokku.ok("storage:mount", app, "/srv/real:/real")
    dokku.ok("docker-options:add", app, "deploy", "--label real=1")
    plant(dokku.lib / "config" / "config" / app, ".env.k1ll3d.tmp", '{"key": "GHOST", "value": "x"}\n{"tru')
    plant(dokku.lib / "config" / "storage" / app, ".mounts.k1ll3d.tmp",
          '{"host_path": "/srv/ghost", "container_path": "/ghost"')
    plant(dokku.lib / "config" / "docker-options" / app, ".deploy.k1ll3d.tmp", "--label ghost=1\n--lab")
    plant(dokku.lib / "config" / "docker-options" / app, ".run.k1ll3d.tmp", "--label ghost=1\n")
    plant(dokku.lib / "config" / "docker-options" / app, ".build.k1ll3d.tmp", "-v /x:/y\n")

    assert dokku.ok_json("config:show", app, "--format", "json") == {"A": "1"}
    assert [m["container_path"] for m in dokku.ok_json("storage:list", app, "--format", "json")] == ["/real"]
    report = dokku.ok_json("docker-options:report", app, "--format", "json")
    assert report["deploy-list"] == ["--label real=1"]
    assert report["build-list"] == [] and report["run-list"] == []
    assert "ghost" not in json.dumps(dokku.ok_json("storage:report", app, "--format", "json"))
    # and writing again works around them
    dokku.ok("config:set", "--no-restart", app, "B=2")
    dokku.ok("storage:mount", app, "/srv/more:/more")
    dokku.ok("docker-options:add", app, "deploy", "--label more=1")
    assert len(dokku.ok_json("storage:list", app, "--format", "json")) == 2


def test_a_stale_lock_file_does_not_block(dokku, app):
    locks = dokku.lib / "config" / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / f"app-{app}").write_text("pid 999999\n")
    dokku.ok("config:set", "--no-restart", app, "A=1")
    dokku.ok("storage:mount", app, "/srv/x:/x")


# ---------------------------------------------------------------- writers racing a destroy

def test_writers_racing_a_destroy_leave_no_orphan_state(dokku, rng):
    """A write that loses the race against `apps:destroy` must not leave state behind for an
    app that no longer exists (a later `apps:create` of the same name would inherit it)."""
    app = "doomed"
    orphans = []
    for i in range(10):
        dokku.ok("apps:create", app)
        destroy = spawn(dokku, "apps:destroy", app, "--force")
        time.sleep(rng.uniform(0.0, 0.02))
        writers = [spawn(dokku, "config:set", "--no-restart", app, f"K{k}=v") for k in range(6)]
        destroy.communicate(timeout=60)
        for w in writers:
            w.communicate(timeout=60)
            assert w.returncode in (0, 20), w.returncode
        assert destroy.returncode == 0
        leftovers = [str(p.relative_to(dokku.lib)) for p in (dokku.lib / "config").glob(f"*/{app}")]
        if leftovers:
            orphans.append((i, leftovers))
            for p in (dokku.lib / "config").glob(f"*/{app}"):
                shutil.rmtree(p)
    assert orphans == [], f"state left for a destroyed app: {orphans}"
    dokku.ok("apps:create", app)
    assert dokku.ok_json("config:show", app, "--format", "json") == {}
