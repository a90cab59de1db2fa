"""Bench: `dokku ps:restart` with a correctly owned mount of 100,000 files against the same with an
empty mount (the mount-ownership preflight must not walk a tree that is already right).

    python3 bench/ownership.py [--files 100000] [--runs 15] [--no-fail] [--keep] [--dokku PATH]

Needs the Docker engine, the stack image and git. Builds a throwaway DOKKU_ROOT / DOKKU_LIB_ROOT
under /tmp (bench/ps_restart.py's `Throwaway`), deploys samples/stdlib-web to one app, sets
`checks:set <app> wait-to-retire 0` when that setting exists, and makes two storage folders
under $DOKKU_LIB_ROOT/data/storage, both owned 32767:32767 (herokuishuser, the app user):

    full    --files small files in folders of 1,000, every file and folder owned 32767:32767
    empty   nothing in it

The two configurations are the same app, image and scale, differing only in which folder is
mounted at /storage: before each round the mount is switched (storage:unmount + storage:mount,
untimed), then `dokku ps:restart <app>` is timed end to end; the rounds alternate empty, full,
empty, full ... after one untimed warm-up of each. After every round (untimed) the running web
container must be new, answer, and have the expected folder at /storage; at the end every file
must still be owned 32767:32767.

Target: ps:restart with the full mount <= 1.1x ps:restart with the empty one, medians. Exit
status 1 when missed, unless --no-fail. Everything is removed at the end, unless --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from ps_restart import (APP_UID, STACK_IMAGE, add_engine_bench_flags, check_restarted,  # noqa: E402
                        docker, throwaway_for)

TARGET = 1.1
TARGET_PATH = "/storage"
PER_FOLDER = 1000


def make_full(path: Path, files: int) -> float:
    """`files` small files in folders of PER_FOLDER, all owned APP_UID:APP_UID; returns seconds."""
    start = time.perf_counter()
    as_root = os.geteuid() == 0
    path.mkdir()
    for i in range(files):
        folder = path / f"d{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir()
            if as_root:
                os.chown(folder, APP_UID, APP_UID)
        fd = os.open(folder / f"f{i:06d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, b"x%d\n" % i)
            if as_root:
                os.fchown(fd, APP_UID, APP_UID)
        finally:
            os.close(fd)
    if as_root:
        os.chown(path, APP_UID, APP_UID)
    else:  # as the dokku user: the docker group may do what the user may not
        docker("run", "--rm", "--user", "root", "-v", f"{path}:/mnt", STACK_IMAGE,
               "chown", "-R", f"{APP_UID}:{APP_UID}", "/mnt", timeout=600)
    return time.perf_counter() - start


def make_empty(path: Path) -> None:
    path.mkdir()
    if os.geteuid() == 0:
        os.chown(path, APP_UID, APP_UID)
    else:
        docker("run", "--rm", "--user", "root", "-v", f"{path}:/mnt", STACK_IMAGE,
               "chown", f"{APP_UID}:{APP_UID}", "/mnt")


def wrongly_owned(path: Path) -> list[str]:
    """Every entry of the tree (the root included) not owned APP_UID:APP_UID."""
    wrong = []
    for root, dirs, files in os.walk(path):
        for name in [None, *dirs, *files]:
            full = root if name is None else os.path.join(root, name)
            st = os.lstat(full)
            if (st.st_uid, st.st_gid) != (APP_UID, APP_UID):
                wrong.append(full)
    return wrong


def count_files(path: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def mount_sources(container: str) -> list[str]:
    mounts = json.loads(docker("inspect", "--format", "{{json .Mounts}}", container).stdout)
    return [m["Source"] for m in mounts if m.get("Destination") == TARGET_PATH]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000, help="files in the full mount")
    parser.add_argument("--runs", type=int, default=15, help="timed restarts of each configuration (at least 7)")
    add_engine_bench_flags(parser)
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("--runs must be at least 7")
    if args.files < 1:
        parser.error("--files must be at least 1")

    plat = throwaway_for(args, "bench-ownership-")
    try:
        app = plat.new_app("bench")
        pushed = plat.deploy_sample(app)
        retire = plat.no_wait_to_retire(app)
        full, empty = plat.storage_root / f"{app}-full", plat.storage_root / f"{app}-empty"
        made = make_full(full, args.files)
        make_empty(empty)
        for folder in (full, empty):
            wrong = wrongly_owned(folder)
            if wrong:
                raise RuntimeError(f"{len(wrong)} entries of {folder} are not owned {APP_UID}:{APP_UID}, e.g. {wrong[0]}")
        print(f"dokku: {plat.dokku_path}\nroot: {plat.base}\napp: {app} (samples/stdlib-web, web=1), "
              f"pushed in {pushed:.1f}s; wait-to-retire: {retire}\n"
              f"full mount: {full} -> {TARGET_PATH}, {args.files:,} files in folders of {PER_FOLDER:,}, "
              f"owned {APP_UID}:{APP_UID} ({made:.1f}s to make)\n"
              f"empty mount: {empty} -> {TARGET_PATH}, owned {APP_UID}:{APP_UID}\n"
              f"runs: {args.runs} alternating restarts of each after one warm-up each "
              f"(mount switched before every restart, untimed), medians\n", flush=True)

        mounted: list[Path] = []

        def switch_to(folder: Path) -> None:
            for old in mounted:
                plat.dokku("storage:unmount", app, f"{old}:{TARGET_PATH}")
            mounted.clear()
            plat.dokku("storage:mount", app, f"{folder}:{TARGET_PATH}")
            mounted.append(folder)

        restart = plat.argv("ps:restart", app)
        current = plat.web_containers(app)[0]

        def timed_restart(folder: Path) -> float:
            nonlocal current
            switch_to(folder)
            seconds = benchlib.run_once(restart, plat.env)
            current = check_restarted(plat, app, current)
            sources = mount_sources(current)
            if sources != [str(folder)]:
                raise RuntimeError(f"after ps:restart {app} mounts {sources} at {TARGET_PATH}, expected [{folder}]")
            return seconds

        timed_restart(empty)  # warm-ups
        timed_restart(full)
        samples = {"empty": [], "full": []}
        for _ in range(args.runs):
            samples["empty"].append(timed_restart(empty))
            samples["full"].append(timed_restart(full))

        wrong = wrongly_owned(full)
        if wrong:
            raise RuntimeError(f"after the restarts {len(wrong)} entries of {full} are not owned "
                               f"{APP_UID}:{APP_UID}, e.g. {wrong[0]}")
        if count_files(full) != args.files:
            raise RuntimeError(f"{full} holds {count_files(full)} files after the restarts, not {args.files}")

        baseline = benchlib.Figure(f"dokku ps:restart {app} (empty mount)", samples["empty"])
        figure = benchlib.Figure(f"dokku ps:restart {app} ({args.files:,}-file mount)", samples["full"], target=TARGET)
        figures = benchlib.compare(baseline, [figure])
        benchlib.print_table(baseline, figures)
        print(f"{args.files:,}-file mount / empty mount = {figure.ratio:.2f}x (target <= {TARGET:g}x)")
        return benchlib.verdict(figures, args.no_fail)
    finally:
        plat.close(keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
