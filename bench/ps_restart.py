"""Bench: `dokku ps:restart` of a one-web-process app against the raw docker work it replaces.

    python3 bench/ps_restart.py [--runs 15] [--no-fail] [--keep] [--dokku PATH]

Needs the Docker engine, the stack image and git. Builds a throwaway DOKKU_ROOT / DOKKU_LIB_ROOT
under /tmp, deploys samples/stdlib-web to one app with a local-path `git push` (as the e2e tier
does), sets `checks:set <app> wait-to-retire 0` (when the installed dokku has that setting), then
alternates, after one untimed warm-up round of each:

    dokku ps:restart <app>                             timed end to end (a subprocess)
    the raw work it replaces, with the docker CLI:     the baseline
        docker run -d -p 127.0.0.1::5000 -e PORT=5000 --user 32767:32767 \\
            dokku/<app>:latest /buildpacks/start web
        docker port <new> 5000/tcp, then HTTP GET the port until it answers
        docker rm -f <the previous raw container>

Target (issue 3): ps:restart <= 1.5x the raw work, medians. Exit status 1 when missed, unless
--no-fail. Everything is removed at the end (the app, its images and cache volume, the raw
containers, the throwaway root), unless --keep.

`Throwaway` (a deployed app on a throwaway root) and `wait_http` are reused by bench/ownership.py.
"""
from __future__ import annotations

import argparse
import secrets
import socket
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

TARGET = 1.5
REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "samples" / "stdlib-web"
STACK_IMAGE = "dokku/stack:latest"
APP_UID = 32767
WEB_PORT = 5000
GIT_IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]


def sh(*argv: str, env: dict | None = None, cwd=None, check: bool = True, timeout: float = 600
       ) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return sh("docker", *args, check=check, timeout=timeout)


def http_answers(port: int, timeout: float = 1.0) -> bool:
    """Does GET http://127.0.0.1:<port>/ get any HTTP answer?"""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as resp:
            resp.read()
        return True
    except urllib.error.HTTPError:
        return True  # an HTTP status is an answer
    except (OSError, urllib.error.URLError):
        return False


def wait_http(port: int, within: float = 60.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + within
    while not http_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {within:.0f}s")
        time.sleep(interval)


def parse_port(docker_port_output: str) -> int:
    """`docker port <c> 5000/tcp` prints `127.0.0.1:32768` (one line per binding)."""
    for line in docker_port_output.splitlines():
        if line.strip():
            return int(line.strip().rsplit(":", 1)[1])
    raise RuntimeError(f"no published port in {docker_port_output!r}")


def add_engine_bench_flags(parser) -> None:
    """The flags every engine bench takes."""
    parser.add_argument("--no-fail", action="store_true", help="print the figures, exit 0 even if the target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway root (the app is destroyed anyway)")
    parser.add_argument("--dokku", help="the dokku script to use (default: the first on PATH)")


def throwaway_for(args, prefix: str) -> "Throwaway":
    """Exit with the reason when no engine answers; else a throwaway root for the bench."""
    return Throwaway(benchlib.find_dokku(args.dokku), prefix)


class Throwaway:
    """A throwaway dokku installation (its own DOKKU_ROOT and DOKKU_LIB_ROOT under /tmp, as the
    e2e tier makes them) driven through the installed `dokku`; `close()` removes every app it
    deployed (apps:destroy, then whatever that left on the engine) and the folder."""

    def __init__(self, dokku: Path, prefix: str):
        self.dokku_path = dokku
        self.base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.base.chmod(0o755)
        self.root, self.lib, self.work = self.base / "home", self.base / "lib", self.base / "work"
        for d in (self.root, self.lib, self.storage_root, self.work):
            d.mkdir(parents=True, exist_ok=True)
        self.env = {**benchlib.bench_env(self.root, self.lib), "GIT_TERMINAL_PROMPT": "0"}
        self.env.pop("DOKKU_TRACE", None)
        self.apps: list[str] = []

    @property
    def storage_root(self) -> Path:
        return self.lib / "data" / "storage"

    def argv(self, *args: str) -> list[str]:
        return [str(self.dokku_path), *args]

    def dokku(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        return sh(*self.argv(*args), env=self.env, check=check, timeout=timeout)

    def behind_nginx(self) -> tuple[int, str]:
        """Route this root's apps through the host's nginx on a free loopback port; returns
        (port, global domain)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        domain = f"bench-{secrets.token_hex(3)}.test"
        self.dokku("proxy:set", "--global", "port", str(port))
        self.dokku("proxy:set", "--global", "bind-address", "127.0.0.1")
        self.dokku("domains:set-global", domain)
        return port, domain

    def new_app(self, prefix: str) -> str:
        name = f"{prefix}-{secrets.token_hex(3)}"
        self.apps.append(name)
        return name

    def deploy_sample(self, app: str, sample: Path = SAMPLE) -> float:
        """A working repo of `sample` pushed to the app's local-path remote; returns the seconds
        the push took. The app must answer afterwards."""
        if not sample.is_dir():
            raise RuntimeError(f"{sample} is missing from the checkout")
        work = self.work / app
        shutil.copytree(sample, work, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc"))
        sh("git", "init", "-q", "-b", "main", str(work))
        sh("git", *GIT_IDENTITY, "add", "-A", cwd=work)
        sh("git", *GIT_IDENTITY, "commit", "-q", "-m", "bench", cwd=work)
        self.dokku("apps:create", app)
        self.dokku("git:initialize", app)  # a local-path remote needs the bare repo and its hook first
        start = time.perf_counter()
        sh("git", *GIT_IDENTITY, "push", str(self.root / app), "HEAD:refs/heads/main",
           env=self.env, cwd=work, timeout=900)
        took = time.perf_counter() - start
        wait_http(self.web_port(app), within=30)
        return took

    def web_containers(self, app: str) -> list[str]:
        return docker("ps", "-q", "--no-trunc", "--filter", f"label=com.dokku.app={app}",
                      "--filter", "label=com.dokku.role=process",
                      "--filter", "label=com.dokku.process-type=web").stdout.split()

    def web_port(self, app: str) -> int:
        webs = self.web_containers(app)
        if len(webs) != 1:
            raise RuntimeError(f"expected one running web container for {app}, found {len(webs)}")
        return parse_port(docker("port", webs[0], f"{WEB_PORT}/tcp").stdout)

    def no_wait_to_retire(self, app: str) -> str:
        """`checks:set <app> wait-to-retire 0` when this dokku knows the setting; says what it did."""
        helptext = self.dokku("checks:help", check=False)
        if helptext.returncode != 0 or "wait-to-retire" not in helptext.stdout + helptext.stderr:
            return "not set (this dokku has no checks:set wait-to-retire)"
        self.dokku("checks:set", app, "wait-to-retire", "0")
        return "0 (checks:set)"

    def close(self, keep: bool = False) -> None:
        try:
            for app in self.apps:
                if (self.root / app).exists():
                    self.dokku("--force", "apps:destroy", app, check=False, timeout=300)
                # Belt and braces: nothing of the app may outlive the bench.
                left = docker("ps", "-aq", "--filter", f"label=com.dokku.app={app}", check=False).stdout.split()
                if left:
                    docker("rm", "-f", *left, check=False)
                images = docker("images", "-q", f"dokku/{app}", check=False).stdout.split()
                images += docker("images", "-q", "--filter", f"label=com.dokku.app={app}", check=False).stdout.split()
                if images:
                    docker("rmi", "-f", *sorted(set(images)), check=False)
                docker("volume", "rm", "-f", f"dokku-cache-{app}", check=False)
        finally:
            if keep:
                print(f"throwaway root kept in {self.base}")
            else:
                shutil.rmtree(self.base, ignore_errors=True)


class RawReplacer:
    """What `ps:restart` replaces, done by hand with the docker CLI: start a new container of the
    app image, wait until its published port answers, remove the previous one."""

    STEPS = ("docker run -d", "docker port + wait for HTTP", "docker rm -f old")

    def __init__(self, image: str):
        self.image = image
        self.label = f"bench.ps-restart={secrets.token_hex(4)}"  # only for the final clean-up
        # The image's labels (com.dokku.app, com.dokku.role=build) pass to its containers: mark
        # these as nothing of dokku's, so that no dokku command takes them for its own.
        self.labels = ["--label", self.label, "--label", "com.dokku.role=bench-raw"]
        self.previous: str | None = None
        self.steps: dict[str, list[float]] = {step: [] for step in self.STEPS}

    def round(self) -> tuple[float, list[float]]:
        t0 = time.perf_counter()
        new = docker("run", "-d", *self.labels, "-p", f"127.0.0.1::{WEB_PORT}",
                     "-e", f"PORT={WEB_PORT}", "--user", f"{APP_UID}:{APP_UID}",
                     self.image, "/buildpacks/start", "web").stdout.strip()
        t1 = time.perf_counter()
        wait_http(parse_port(docker("port", new, f"{WEB_PORT}/tcp").stdout))
        t2 = time.perf_counter()
        if self.previous:
            docker("rm", "-f", self.previous)
        t3 = time.perf_counter()
        self.previous = new
        return t3 - t0, [t1 - t0, t2 - t1, t3 - t2]

    def timed_round(self) -> float:
        total, parts = self.round()
        for step, seconds in zip(self.STEPS, parts, strict=True):
            self.steps[step].append(seconds)
        return total

    def close(self) -> None:
        left = docker("ps", "-aq", "--filter", f"label={self.label}", check=False).stdout.split()
        if left:
            docker("rm", "-f", *left, check=False)


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    info = docker("info", check=False, timeout=60)
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip()[:300]}"
    if docker("image", "inspect", STACK_IMAGE, check=False).returncode != 0:
        return f"the stack image {STACK_IMAGE} is missing (scripts/install or scripts/build-stack-image)"
    return None


def check_restarted(plat: Throwaway, app: str, before: str | None) -> str:
    """After a ps:restart (untimed): exactly one web container, a new one, and it answers."""
    webs = plat.web_containers(app)
    if len(webs) != 1:
        raise RuntimeError(f"after ps:restart {app} has {len(webs)} running web containers, expected 1")
    if webs[0] == before:
        raise RuntimeError(f"ps:restart {app} left the same web container running")
    if not http_answers(parse_port(docker("port", webs[0], f"{WEB_PORT}/tcp").stdout), timeout=5):
        raise RuntimeError(f"{app}'s web container does not answer after ps:restart")
    return webs[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds of each (at least 7)")
    add_engine_bench_flags(parser)
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("--runs must be at least 7")
    problem = engine_problem()
    if problem:
        sys.exit(f"bench: needs a Docker engine: {problem}")

    plat = throwaway_for(args, "bench-ps-restart-")
    raw = None
    try:
        app = plat.new_app("bench")
        pushed = plat.deploy_sample(app)
        retire = plat.no_wait_to_retire(app)
        image = f"dokku/{app}:latest"
        docker("image", "inspect", image)  # the release's tag must exist: it is the raw run's image
        raw = RawReplacer(image)
        print(f"dokku: {plat.dokku_path}\nroot: {plat.base}\napp: {app} (samples/stdlib-web, web=1), "
              f"pushed in {pushed:.1f}s; wait-to-retire: {retire}\n"
              f"raw: docker run -d -p 127.0.0.1::{WEB_PORT} -e PORT={WEB_PORT} --user {APP_UID}:{APP_UID} "
              f"{image} /buildpacks/start web; wait for HTTP; docker rm -f <previous>\n"
              f"runs: {args.runs} alternating rounds after one warm-up, medians\n", flush=True)

        restart = plat.argv("ps:restart", app)
        current = plat.web_containers(app)[0]
        benchlib.run_once(restart, plat.env)  # warm-up
        current = check_restarted(plat, app, current)
        raw.round()  # warm-up: from here on every raw round has a previous container to remove
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(benchlib.run_once(restart, plat.env))
            current = check_restarted(plat, app, current)
            theirs.append(raw.timed_round())

        baseline = benchlib.Figure("raw: docker run -d + wait for port + docker rm -f old", theirs)
        figure = benchlib.Figure(f"dokku ps:restart {app}", ours, target=TARGET)
        figures = benchlib.compare(baseline, [figure])
        benchlib.print_table(baseline, figures)
        print("raw steps (medians): " + ", ".join(
            f"{step} {statistics.median(s) * 1000:.0f}ms" for step, s in raw.steps.items()))
        print(f"ps:restart / raw = {figure.ratio:.2f}x (target <= {TARGET:g}x)")
        return benchlib.verdict(figures, args.no_fail)
    finally:
        if raw is not None:
            raw.close()
        plat.close(keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
