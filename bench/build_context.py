"""Bench: the build context export (`pipeline.git.export_tar`) against plain `git archive`.

Creates a repo of 5,000 files, pushes it to a bare repo (which the push leaves packed, as a real
`git push dokku main` does), then times, in this process, `export_tar(app, sha)` and
`git archive --format=tar <sha>` read into memory the same way. Target: export_tar within 2x of
git archive (a dulwich tree walk + tarfile measured ~10x).

    python bench/build_context.py [--files 5000] [--runs 15] [--no-fail]
"""
import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Figure, compare, print_table, verdict  # noqa: E402

TARGET = 2.0
APP = "bench-app"


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def make_source(work: Path, files: int) -> str:
    """`files` files of ~1 KB in folders of 100, committed; returns the commit sha."""
    git("init", "-q", "-b", "main", str(work), cwd=work.parent)
    for i in range(files):
        path = work / f"src/d{i // 100:03d}/f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n" + "".join(f"line {j} of file {i}: {(i * 7919 + j) % 104729}\n" for j in range(30)))
    (work / "Procfile").write_text("web: python -m http.server $PORT\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "bench source", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def timed(func, runs: int) -> list[float]:
    func()  # warm-up: page cache, imports
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when the target is missed")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-build-context-") as tmp:
        tmp = Path(tmp)
        root, lib, work = tmp / "home", tmp / "lib", tmp / "work"
        for d in (root, lib, work):
            d.mkdir()
        os.environ["DOKKU_ROOT"], os.environ["DOKKU_LIB_ROOT"] = str(root), str(lib)
        from pipeline import git as pgit  # reads DOKKU_ROOT on every call

        sha = make_source(work, opts.files)
        repo = root / APP
        git("init", "-q", "--bare", str(repo), cwd=tmp)  # no hooks: this push must not deploy
        git("push", "-q", str(repo), "main", cwd=work)
        packs = list((repo / "objects" / "pack").glob("*.pack"))
        print(f"repo: {opts.files} files + Procfile, pushed to a bare repo ({len(packs)} pack(s)); {opts.runs} runs each")

        def archive() -> bytes:
            return subprocess.run(["git", f"--git-dir={repo}", "archive", "--format=tar", sha],
                                  capture_output=True, check=True).stdout

        ours, theirs = pgit.export_tar(APP, sha), archive()
        names = tarfile.open(fileobj=io.BytesIO(ours)).getnames()
        assert names == tarfile.open(fileobj=io.BytesIO(theirs)).getnames(), "export_tar differs from git archive"
        assert sum(n.endswith(".txt") for n in names) == opts.files, "files missing from the export"

        baseline = Figure("git archive --format=tar", timed(archive, opts.runs))
        figure = Figure("export_tar (dulwich resolve + git archive)",
                        timed(lambda: pgit.export_tar(APP, sha), opts.runs), target=TARGET)
        figures = compare(baseline, [figure])
        print_table(baseline, figures)
        print(f"export_tar / git archive = {figure.ratio:.2f}x (target <= {TARGET:g}x); "
              f"tar size {len(ours) / 1e6:.1f} MB")
        return verdict(figures, opts.no_fail)


if __name__ == "__main__":
    sys.exit(main())
