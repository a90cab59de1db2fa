"""End-to-end fixtures: the installed `dokku`, the real Docker engine, real git and a real sshd.

Each test module gets one `Platform`: a throwaway DOKKU_ROOT and DOKKU_LIB_ROOT under /tmp, so
the apps a module pushes are reused by its tests and never meet another module's (or the host's)
apps. Everything is observed from outside, as a user would: exit codes and output of `dokku` and
`git push`, files and owners on the host, `docker inspect`/`docker top`, and HTTP answers on the
127.0.0.1 port a web process publishes.

The tier is skipped when no Docker engine answers (`docker info` fails); under CI (`CI` set) it
runs regardless, so that a missing engine fails loudly instead of hiding behind a skip.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DOKKU_CMD

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "samples"
STACK_IMAGE = "dokku/stack:latest"
HEROKUISH_UID = 32767
PUSH_TIMEOUT = 900
GIT_IDENTITY = ["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "-c", "commit.gpgsign=false"]


def _engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (run scripts/install)"
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 60s"
    if proc.returncode != 0:
        return f"`docker info` failed, no Docker engine answers: {proc.stderr.strip()[:300]}"
    return None


def pytest_collection_modifyitems(config, items):
    e2e = [item for item in items if "/e2e/" in str(item.fspath)]
    if not e2e or os.environ.get("CI"):
        return
    problem = _engine_problem()
    if problem:
        marker = pytest.mark.skip(reason=f"end-to-end tier needs a Docker engine: {problem} "
                                         f"(start one with scripts/start-services)")
        for item in e2e:
            item.add_marker(marker)


# ---------------------------------------------------------------- small helpers


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run(cmd: list[str], *, env: dict | None = None, cwd=None, input: str | None = None,
        timeout: float = 600) -> Result:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, input=input,
                          timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def docker(*args: str, timeout: float = 120) -> Result:
    return run(["docker", *args], timeout=timeout)


def inspect(*names: str) -> list[dict]:
    if not names:
        return []
    r = docker("inspect", *names)
    return json.loads(r.out) if r.code == 0 else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, str]:
    """(status, body) of GET http://127.0.0.1:<port><path>; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return 0, ""


class Repo:
    """A working git repository (the user's side of `git push`)."""

    def __init__(self, path: Path):
        self.path = path

    def git(self, *args: str, env: dict | None = None, timeout: float = 120) -> Result:
        r = run(["git", *GIT_IDENTITY, *args], cwd=self.path, env=env, timeout=timeout)
        return r

    def write(self, relpath: str, content: str | bytes, mode: int | None = None) -> "Repo":
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        if mode is not None:
            target.chmod(mode)
        return self

    def remove(self, relpath: str) -> "Repo":
        target = self.path / relpath
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
        return self

    def commit(self, message: str = "change") -> str:
        add = self.git("add", "-A")
        assert add.code == 0, str(add)
        done = self.git("commit", "-q", "--allow-empty", "-m", message)
        assert done.code == 0, str(done)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").out.strip()

    def clone_to(self, path: Path) -> "Repo":
        r = run(["git", "clone", "-q", str(self.path), str(path)])
        assert r.code == 0, str(r)
        return Repo(path)


# ---------------------------------------------------------------- the platform


class Platform:
    """One throwaway dokku installation: its own DOKKU_ROOT and DOKKU_LIB_ROOT, the installed
    `dokku` command, and (on demand) an sshd on a loopback port whose sessions land in it."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "home"
        self.lib = base / "lib"
        for d in (self.root, self.lib, self.lib / "data" / "storage", base / "work"):
            d.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "DOKKU_ROOT": str(self.root), "DOKKU_LIB_ROOT": str(self.lib),
                    "GIT_TERMINAL_PROMPT": "0"}
        self.env.pop("DOKKU_TRACE", None)
        self.apps: list[str] = []
        self.sshd: subprocess.Popen | None = None
        self.ssh_port: int | None = None
        self.ssh_user = "root"
        self.client_key: Path | None = None
        # Old containers go at once after a release here, so tests can count containers; the
        # proxy tests set wait-to-retire themselves.
        self.ok("checks:set", "--global", "wait-to-retire", "0")

    # ------------------------------------------------------------ dokku

    def __call__(self, *args: str, input: str | None = None, timeout: float = 600,
                 env: dict | None = None) -> Result:
        return run([*DOKKU_CMD, *args], env={**self.env, **(env or {})}, input=input, timeout=timeout)

    def ok(self, *args: str, **kw) -> Result:
        r = self(*args, **kw)
        assert r.code == 0, f"dokku {' '.join(args)}: {r}"
        return r

    def fails(self, *args: str, **kw) -> Result:
        r = self(*args, **kw)
        assert r.code != 0, f"dokku {' '.join(args)} should have failed: {r}"
        return r

    def new_app(self, prefix: str = "t") -> str:
        """A unique app name, destroyed (containers, images, cache) when the module ends."""
        name = f"{prefix}-{secrets.token_hex(3)}"
        self.apps.append(name)
        return name

    def storage(self, name: str) -> Path:
        return self.lib / "data" / "storage" / name

    # ------------------------------------------------------------ git

    def repo(self, sample: str | None = None, files: dict | None = None) -> Repo:
        """A fresh working repo on branch main from samples/<sample> plus `files`, committed."""
        path = Path(tempfile.mkdtemp(prefix="repo-", dir=self.base / "work"))
        if sample is not None:
            source = SAMPLES / sample
            assert source.is_dir(), f"samples/{sample} is missing from the checkout"
            shutil.copytree(source, path, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc"))
        repo = Repo(path)
        r = run(["git", "init", "-q", "-b", "main", str(path)])
        assert r.code == 0, str(r)
        for relpath, content in (files or {}).items():
            repo.write(relpath, content)
        repo.commit("initial")
        return repo

    def app_repo_path(self, app: str) -> Path:
        return self.root / app

    def push(self, app: str, repo: Repo, *, ssh: bool = False, branch: str = "main",
             force: bool = False, timeout: float = PUSH_TIMEOUT) -> Result:
        """`git push` HEAD to the app's `branch`, over a local path remote or over SSH."""
        env = dict(self.env)
        if ssh:
            url = f"{self.ssh_user}@127.0.0.1:{app}"
            env["GIT_SSH_COMMAND"] = self.ssh_command()
        else:
            url = str(self.app_repo_path(app))
            if not (self.app_repo_path(app) / "HEAD").exists():
                # A local-path remote needs the bare repo (and its hooks) first, as in Dokku.
                if self("apps:exists", app).code != 0:
                    self.ok("apps:create", app)
                self.ok("git:initialize", app)
        args = ["push", url, f"HEAD:refs/heads/{branch}"]
        if force:
            args.insert(1, "--force")
        return repo.git(*args, env=env, timeout=timeout)

    def pushed(self, app: str, repo: Repo, **kw) -> Result:
        r = self.push(app, repo, **kw)
        assert r.code == 0, f"git push to {app} failed: {r}"
        return r

    def deployed_ref(self, app: str, branch: str = "main") -> str | None:
        r = run(["git", "--git-dir", str(self.app_repo_path(app)), "rev-parse", "--verify", "-q",
                 f"refs/heads/{branch}"])
        return r.out.strip() if r.code == 0 else None

    # ------------------------------------------------------------ ssh

    def ssh_command(self) -> str:
        assert self.ssh_port and self.client_key, "start_sshd() first"
        return (f"ssh -p {self.ssh_port} -i {self.client_key} -o IdentitiesOnly=yes "
                f"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
                f"-o BatchMode=yes")

    def ssh(self, *words: str, timeout: float = 600) -> Result:
        """Run `ssh user@127.0.0.1 <words>`: what the forced command makes of it."""
        return run([*self.ssh_command().split(), f"{self.ssh_user}@127.0.0.1", *words],
                   env=self.env, timeout=timeout)

    def start_sshd(self) -> None:
        """A real sshd on a free loopback port, its own host key and config: keys come from this
        platform's $DOKKU_ROOT/.ssh/authorized_keys (what `dokku ssh-keys:add` writes) and every
        session gets this platform's DOKKU_ROOT/DOKKU_LIB_ROOT through SetEnv."""
        if self.sshd is not None:
            return
        d = self.base / "sshd"
        d.mkdir(exist_ok=True)
        for key in ("host_key", "client_key"):
            r = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"e2e-{key}", "-f", str(d / key)])
            assert r.code == 0, str(r)
        self.client_key = d / "client_key"
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        # The session's PATH: the one these tests run with, so that a development checkout's
        # `dokku` (first on PATH) is what the pre-receive hook finds, as in the local-path pushes.
        path = self.env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        config = d / "sshd_config"
        for _ in range(5):
            self.ssh_port = free_port()
            config.write_text(
                f"Port {self.ssh_port}\n"
                "ListenAddress 127.0.0.1\n"
                f"HostKey {d / 'host_key'}\n"
                f"PidFile {d / 'sshd.pid'}\n"
                f"AuthorizedKeysFile {self.root / '.ssh' / 'authorized_keys'}\n"
                f"AllowUsers {self.ssh_user}\n"
                "PermitRootLogin prohibit-password\n"
                "PubkeyAuthentication yes\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "UsePAM no\n"
                "StrictModes no\n"
                "PrintMotd no\n"
                "LogLevel VERBOSE\n"
                f"SetEnv DOKKU_ROOT={self.root} DOKKU_LIB_ROOT={self.lib} PATH={path}\n")
            check = run(["/usr/sbin/sshd", "-t", "-f", str(config)])
            assert check.code == 0, f"sshd rejects the test config: {check}"
            log = open(d / "sshd.log", "ab")
            self.sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.sshd.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.ssh_port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.1)
            self.stop_sshd()  # lost the port to someone else, or sshd died: try another port
        raise AssertionError(f"sshd did not start: {(d / 'sshd.log').read_text()[-2000:]}")

    def sshd_log(self) -> str:
        path = self.base / "sshd" / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_sshd(self) -> None:
        if self.sshd is None:
            return
        self.sshd.terminate()
        try:
            self.sshd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.sshd.kill()
            self.sshd.wait()
        self.sshd = None

    # ------------------------------------------------------------ containers, from outside

    def container_ids(self, app: str, role: str = "process", running_only: bool = False) -> list[str]:
        args = ["ps", "-q", "--no-trunc", "--filter", f"label=com.dokku.app={app}",
                "--filter", f"label=com.dokku.role={role}"]
        if not running_only:
            args.insert(1, "-a")
        return docker(*args).out.split()

    def containers(self, app: str, proc: str | None = None, running_only: bool = False) -> list[dict]:
        found = inspect(*self.container_ids(app, running_only=running_only))
        if proc is not None:
            found = [c for c in found if c["Config"]["Labels"].get("com.dokku.process-type") == proc]
        return sorted(found, key=lambda c: c["Name"])

    def web(self, app: str) -> dict:
        """The one running web container (asserts there is exactly one)."""
        webs = self.containers(app, "web", running_only=True)
        assert len(webs) == 1, f"expected one running web container for {app}, got {[c['Name'] for c in webs]}"
        return webs[0]

    def web_port(self, app: str) -> int:
        bindings = self.web(app)["NetworkSettings"]["Ports"].get("5000/tcp") or []
        assert bindings, f"{app}'s web container publishes no port"
        assert bindings[0]["HostIp"] == "127.0.0.1", f"published on {bindings[0]['HostIp']}, not loopback"
        return int(bindings[0]["HostPort"])

    def get(self, app: str, path: str, timeout: float = 10) -> tuple[int, str]:
        return http_get(self.web_port(app), path, timeout=timeout)

    def get_port(self, port: int, path: str, timeout: float = 3) -> tuple[int, str]:
        return http_get(port, path, timeout=timeout)

    def answers(self, app: str, path: str = "/", within: float = 20) -> tuple[int, str]:
        """GET until a 2xx/3xx/4xx answer comes (web processes may take a moment after a push)."""
        deadline = time.monotonic() + within
        status, body = 0, ""
        while time.monotonic() < deadline:
            status, body = self.get(app, path)
            if status:
                return status, body
            time.sleep(0.3)
        return status, body

    def top_uids(self, container: str) -> set[int]:
        """The uids of every process in a running container (`docker top`)."""
        r = docker("top", container, "-eo", "pid,uid,args")
        assert r.code == 0, str(r)
        return {int(line.split()[1]) for line in r.out.splitlines()[1:] if line.strip()}

    def env_of(self, container: dict) -> dict:
        return dict(item.split("=", 1) for item in container["Config"]["Env"] or [])

    # ------------------------------------------------------------ teardown

    def destroy_apps(self) -> None:
        for app in self.apps:
            if (self.root / app).exists():
                self("--force", "apps:destroy", app, timeout=300)
            # Belt and braces: whatever apps:destroy left behind must not leak into other tests.
            for role in ("process", "run", "build"):
                ids = self.container_ids(app, role=role)
                if ids:
                    docker("rm", "-f", *ids)
            images = docker("images", "-q", f"dokku/{app}").out.split()
            if images:
                docker("rmi", "-f", *sorted(set(images)))
            docker("volume", "rm", "-f", f"dokku-cache-{app}")

    def close(self) -> None:
        try:
            self.destroy_apps()
        finally:
            self.stop_sshd()
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def engine_ready():
    problem = _engine_problem()
    if problem:
        pytest.fail(f"end-to-end tier: {problem}")
    r = docker("image", "inspect", STACK_IMAGE)
    if r.code != 0:
        pytest.fail(f"the stack image {STACK_IMAGE} is missing: run scripts/install (or scripts/build-stack-image)")
    r = docker("run", "--rm", STACK_IMAGE, "test", "-x", "/buildpacks/build")
    if r.code != 0:
        pytest.fail(f"the stack image {STACK_IMAGE} has no /buildpacks/build: rerun scripts/build-stack-image")


@pytest.fixture(scope="module")
def platform(engine_ready):
    base = Path(tempfile.mkdtemp(prefix="dokku-e2e-", dir="/tmp"))
    base.chmod(0o755)
    plat = Platform(base)
    try:
        yield plat
    finally:
        plat.close()


def wait_for(predicate, timeout: float = 20, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
