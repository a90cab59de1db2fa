"""Helpers shared by the benches: find the installed `dokku` and its interpreter, time commands
(median of N runs), and print each figure as a ratio against a baseline measured in the same run.

Figures are ratios, not absolute times, so that they mean the same on a slow CI machine and on a
fast laptop: the baseline is `<the interpreter dokku runs on> -c pass`, the floor that any
Python command pays.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


def find_dokku(explicit: str | None = None) -> Path:
    """The `dokku` console script users run: `explicit`, else the first on PATH."""
    found = explicit or shutil.which("dokku")
    if not found:
        sys.exit("bench: no `dokku` on PATH (install the package, or pass --dokku PATH)")
    return Path(found).resolve()


def interpreter_of(script: Path) -> list[str]:
    """The interpreter named by the script's shebang (`#!/venv/bin/python3`, or
    `#!/usr/bin/env python3`), as an argv prefix."""
    with open(script, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if not first.startswith("#!"):
        sys.exit(f"bench: {script} has no shebang line")
    words = first[2:].split()
    if Path(words[0]).name == "env":
        words = words[1:]
        words[0] = shutil.which(words[0]) or words[0]
    return words


def run_once(argv: Sequence[str], env: dict | None = None, check: bool = True) -> float:
    """Seconds of wall time for one run of `argv` (output discarded)."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return elapsed


def time_runs(argv_for: Callable[[int], Sequence[str]] | Sequence[str], runs: int, env: dict | None = None,
              warmup: int = 1) -> list[float]:
    """Time `runs` runs (after `warmup` untimed ones). `argv_for` is an argv, or a function of the
    run number giving one (for commands that must differ per run, like a fresh mount)."""
    make = argv_for if callable(argv_for) else (lambda i: argv_for)
    for i in range(warmup):
        run_once(make(-1 - i), env)
    return [run_once(make(i), env) for i in range(runs)]


def time_interleaved(commands: dict[str, Callable[[int], Sequence[str]] | Sequence[str]], runs: int,
                     env: dict | None = None, warmup: int = 1) -> dict[str, list[float]]:
    """Time several commands round-robin (run i of each, then run i+1 of each ...), so a load
    change on the machine during the bench hits the baseline and the commands alike and the
    ratios stay fair. `commands` maps a name to an argv or a function of the run number."""
    makers = {name: (c if callable(c) else (lambda i, c=c: c)) for name, c in commands.items()}
    for i in range(warmup):
        for make in makers.values():
            run_once(make(-1 - i), env)
    samples: dict[str, list[float]] = {name: [] for name in makers}
    for i in range(runs):
        for name, make in makers.items():
            samples[name].append(run_once(make(i), env))
    return samples


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0


@dataclass
class Figure:
    name: str
    samples: list[float]
    target: float | None = None  # the highest acceptable ratio against the baseline
    ratio: float = field(default=0.0, init=False)

    @property
    def median(self) -> float:
        return median_ms(self.samples)

    @property
    def ok(self) -> bool:
        return self.target is None or self.ratio <= self.target


def compare(baseline: Figure, figures: list[Figure]) -> list[Figure]:
    base = baseline.median
    for fig in [baseline, *figures]:
        fig.ratio = fig.median / base if base else float("inf")
    return figures


def print_table(baseline: Figure, figures: list[Figure], out=sys.stdout) -> None:
    width = max(len(f.name) for f in [baseline, *figures])
    out.write(f"{'command':<{width}}  {'median':>10}  {'min':>9}  {'ratio':>7}  {'target':>7}  result\n")
    for fig in [baseline, *figures]:
        target = f"<={fig.target:g}x" if fig.target is not None else ""
        verdict = "" if fig is baseline else ("ok" if fig.ok else "MISSED")
        out.write(f"{fig.name:<{width}}  {fig.median:>8.1f}ms  {min(fig.samples) * 1000:>7.1f}ms  "
                  f"{fig.ratio:>6.2f}x  {target:>7}  {verdict}\n")
    out.flush()


def verdict(figures: list[Figure], no_fail: bool) -> int:
    """The exit status: 1 when a target was missed (unless --no-fail)."""
    missed = [f.name for f in figures if not f.ok]
    if missed:
        print(f"missed: {', '.join(missed)}", file=sys.stderr)
    return 0 if (no_fail or not missed) else 1


def bench_env(root: Path, lib: Path) -> dict:
    return {**os.environ, "DOKKU_ROOT": str(root), "DOKKU_LIB_ROOT": str(lib)}
