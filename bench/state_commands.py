"""Speed of the state-only storage commands with 1,000 apps, as ratios against `python -c pass`.

    python bench/state_commands.py [--apps 1000] [--runs 15] [--no-fail] [--keep] [--dokku PATH]

Builds a throwaway DOKKU_ROOT / DOKKU_LIB_ROOT holding `--apps` apps, each with 3 storage mounts
and 3 docker-options. The state is made fast and format-agnostic: one template app is set up
through `dokku` itself, then its files under `$DOKKU_LIB_ROOT/config/<plugin>/<app>/` are copied
for every other app (the app name rewritten inside them), so the bench never depends on how a
plugin lays out its files.

Then it times, median of `--runs` runs after one warm-up, with the interpreter the installed
`dokku` runs on, the commands taking turns (round-robin) so that load on the machine hits
the baseline and the commands alike:

    <python> -c pass                              the baseline
    dokku storage:list <app>                      target <= 3x
    dokku storage:mount <app> /x<i>:/y<i>         target <= 3x (a fresh mount every run)
    dokku storage:report --format json            target <= 10x (every app)

Exit status 1 when a target is missed, unless --no-fail.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

TEMPLATE = "app-0000"
TARGETS = {"list": 3.0, "mount": 3.0, "report": 10.0}


def app_name(i: int) -> str:
    return f"app-{i:04d}"


def dokku_ok(dokku: list[str], env: dict, *args: str) -> str:
    proc = subprocess.run([*dokku, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"dokku {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def make_template(dokku: list[str], env: dict) -> None:
    """One app set up the way a user would: 3 mounts, 3 docker-options (one per phase; the build
    one a volume, so `storage:report` has build mounts to find)."""
    app = TEMPLATE
    dokku_ok(dokku, env, "apps:create", app)
    for k in range(3):
        dokku_ok(dokku, env, "storage:mount", app, f"/var/lib/dokku/data/storage/{app}-{k}:/data{k}")
    try:
        dokku_ok(dokku, env, "docker-options:add", app, "build", f"-v /var/lib/dokku/data/storage/{app}-cache:/cache")
    except RuntimeError:
        dokku_ok(dokku, env, "docker-options:add", app, "build", "--label bench-build=1")
    dokku_ok(dokku, env, "docker-options:add", app, "deploy", "--label bench-deploy=1")
    dokku_ok(dokku, env, "docker-options:add", app, "run", "--label bench-run=1")


def clone_template(root: Path, lib: Path, count: int) -> int:
    """Copy the template's state to apps 1..count-1; returns the number of files written."""
    config = lib / "config"
    sources = []  # (plugin folder, relative path, text)
    for plugin_dir in sorted(config.iterdir()):
        if plugin_dir.name.startswith(".") or not (plugin_dir / TEMPLATE).is_dir():
            continue
        for f in sorted((plugin_dir / TEMPLATE).rglob("*")):
            if f.is_file() and not f.name.startswith("."):
                sources.append((plugin_dir, f.relative_to(plugin_dir / TEMPLATE), f.read_text()))
    template_repo = root / TEMPLATE
    written = 0
    for i in range(1, count):
        app = app_name(i)
        shutil.copytree(template_repo, root / app)
        for plugin_dir, rel, text in sources:
            target = plugin_dir / app / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text.replace(TEMPLATE, app))
            written += 1
    return written


def build_state(dokku: list[str], base: Path, count: int) -> tuple[dict, float]:
    root, lib = base / "home", base / "lib"
    root.mkdir()
    lib.mkdir()
    env = benchlib.bench_env(root, lib)
    start = time.perf_counter()
    make_template(dokku, env)
    clone_template(root, lib, count)
    return env, time.perf_counter() - start


def check_state(dokku: list[str], env: dict, count: int) -> None:
    mounts = json.loads(dokku_ok(dokku, env, "storage:list", app_name(count // 2), "--format", "json"))
    if len(mounts) != 3:
        raise RuntimeError(f"expected 3 mounts on {app_name(count // 2)}, got {mounts}")
    report = json.loads(dokku_ok(dokku, env, "storage:report", "--format", "json"))
    if len(report) != count:
        raise RuntimeError(f"storage:report lists {len(report)} apps, expected {count}")
    options = json.loads(dokku_ok(dokku, env, "docker-options:report", app_name(count - 1), "--format", "json"))
    total = sum(len(options.get(f"{phase}-list", [])) for phase in ("build", "deploy", "run"))
    if total != 3:
        raise RuntimeError(f"expected 3 docker-options on {app_name(count - 1)}, got {options}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (at least 10)")
    parser.add_argument("--no-fail", action="store_true", help="print the figures, exit 0 even if a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway state folder")
    parser.add_argument("--dokku", help="the dokku script to time (default: the first on PATH)")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    if args.apps < 2:
        parser.error("--apps must be at least 2")

    script = benchlib.find_dokku(args.dokku)
    python = benchlib.interpreter_of(script)
    dokku = [str(script)]
    base = Path(tempfile.mkdtemp(prefix="bench-state-"))
    try:
        env, took = build_state(dokku, base, args.apps)
        check_state(dokku, env, args.apps)
        print(f"dokku: {script}\npython: {' '.join(python)}\n"
              f"state: {args.apps} apps x (3 mounts, 3 docker-options) in {base} ({took:.1f}s to build)\n"
              f"runs: {args.runs} per command, medians\n")

        list_app, mount_app = app_name(args.apps // 2), app_name(args.apps // 2 + 1)
        names = {
            "list": f"dokku storage:list {list_app}",
            "mount": f"dokku storage:mount {mount_app} /x<i>:/y<i>",
            "report": f"dokku storage:report --format json ({args.apps} apps)",
        }
        # Round-robin, the baseline included, so that load on the machine hits every figure alike.
        samples = benchlib.time_interleaved({
            "baseline": [*python, "-c", "pass"],
            "list": [*dokku, "storage:list", list_app],
            "mount": lambda i: [*dokku, "storage:mount", mount_app, f"/x{i + 100}:/y{i + 100}"],
            "report": [*dokku, "storage:report", "--format", "json"],
        }, args.runs, env)
        baseline = benchlib.Figure("python -c pass", samples["baseline"])
        figures = [benchlib.Figure(names[key], samples[key], TARGETS[key]) for key in ("list", "mount", "report")]
        benchlib.compare(baseline, figures)
        benchlib.print_table(baseline, figures)
        return benchlib.verdict(figures, args.no_fail)
    finally:
        if args.keep:
            print(f"state kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
