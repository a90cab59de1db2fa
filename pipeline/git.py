"""git: the app's bare repo at `$DOKKU_ROOT/<app>`, the pushes into it, and the source that the
builder reads from it.

    git push ─► sshd (forced command) ─► dokku git-receive-pack '<app>'
                  creates the app and its repo on first push, then execs `git receive-pack`
                                            │
        receive-mode pre-receive (default)  │  receive-mode post-receive
    <repo>/hooks/pre-receive (a shim)       │  <repo>/hooks/post-receive (a shim)
    dokku git-hook <app>                    │  dokku git-hook --post-receive <app>
      deploy.from_push(app, <pushed sha>)   │    starts `dokku git:deploy-detached <app> <id>` in a
      in the hook: a failure rejects the    │    new session (stdout: the kept log) and returns; the
      push, the output is the pusher's      │    push is accepted whatever the deploy does

Post-receive mode. The detached deploy survives the pusher hanging up (its own session, no
terminal, output to a file). It takes the app's deploy lock, and only then reads the deploy
branch: it deploys the branch's tip *now*, not the commit it was started for, and does nothing
when that tip is already deployed. So two quick pushes end with the later commit deployed (once
or twice), never with an older one last. The hook shows the deploy's output to the pusher for up
to `DOKKU_RECEIVE_STREAM_SECONDS` (the hook's environment, else the app's config; default 0:
return at once), and stops early when the deploy ends or the pusher goes away.

Kept logs (`pipeline.deploy_log`). Every deploy git starts (both modes, `git:sync --build`)
keeps its output in `$DOKKU_LIB_ROOT/data/deploy-logs/<app>/<time>-<sha7>.log` and its result
in `config/git/<app>/last-deploy`; `dokku logs:deploy <app> [-t]` prints (follows) that log and
`git:report` shows `--git-last-deploy-status|sha|log`.

`git:sync <app> <repository> [<ref>] [--build]` fetches a ref (branch, tag, full sha; default:
the remote's HEAD branch) from another repository, a path or a URL, with dulwich, then moves
the deploy branch to it; with `--build` it first deploys that commit in the foreground, under
the deploy lock, and moves the branch only once the deploy succeeded (as a pre-receive push).

The builder reads a commit through `export_tar` (the tree, for the build context) and
`read_file` (Procfile, app.json, Dockerfile). Refs and objects are read with dulwich; the tree
export is `git archive` (see `export_tar`). Settings: `deploy-branch` and `receive-mode`, per
app or `--global`, in `$DOKKU_LIB_ROOT/config/git/`.
"""
import contextlib
import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import cliargs, deploy_log, errors, log, paths, report, store

DESCRIPTION = "Manage the app's git repository and how pushes deploy"

PLUGIN = "git"
ZERO = re.compile(r"^0+$")
SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
RECEIVE_MODES = ("pre-receive", "post-receive")
DEFAULT_RECEIVE_MODE = "pre-receive"
KEYS = ("deploy-branch", "receive-mode")
DEFAULT_DOKKU_BIN = "/usr/local/bin/dokku"
HOOKS = ("pre-receive", "post-receive")
STREAM_SECONDS_VAR = "DOKKU_RECEIVE_STREAM_SECONDS"
NETWORK_TIMEOUT = 60  # seconds git:sync waits on an HTTP remote
# After a push deploys, git moves the branch only once the hook has exited (and released the deploy
# lock). A push waiting on that lock gives git this long to do so before trusting the ref.
CLAIM_SECONDS = 10.0

# ---------------------------------------------------------------- the repo and its hooks


def repo_path(app: str) -> Path:
    """The app's folder is its bare repo, as in Dokku."""
    return paths.app_dir(app)


def is_initialized(app: str) -> bool:
    return (repo_path(app) / "HEAD").is_file()


def dokku_bin() -> str:
    """The absolute path of this dokku, for hooks and authorized_keys (which run without PATH):
    $DOKKU_BIN (set by the authorized_keys entry), else the running `dokku` script, else the
    one on PATH, else /usr/local/bin/dokku. Symlinks are kept, so a reinstall behind
    /usr/local/bin/dokku keeps working."""
    for candidate in (os.environ.get("DOKKU_BIN"), sys.argv[0] if sys.argv else None):
        if candidate and os.path.basename(candidate) == "dokku":
            path = os.path.abspath(candidate)
            if os.access(path, os.X_OK):
                return path
    return shutil.which("dokku") or DEFAULT_DOKKU_BIN


def hook_source(name: str) -> str:
    """hooks/<name> as shipped: the package data (`<prefix>/share/dokku/hooks`, setup.cfg's
    data_files), else the checkout beside the package (an editable install)."""
    for folder in (Path(sys.prefix) / "share" / "dokku" / "hooks", Path(__file__).resolve().parents[1] / "hooks"):
        with contextlib.suppress(OSError):
            return (folder / name).read_text()
    raise errors.DokkuError(f"The {name} hook is missing from this installation: reinstall dokku (scripts/install)")


def render_hook(name: str) -> str:
    """The hook with the path of dokku and the default DOKKU_LIB_ROOT filled in."""
    values = {"DOKKU_BIN": dokku_bin(), "DEFAULT_DOKKU_LIB_ROOT": os.path.abspath(paths.lib_root())}
    text = hook_source(name)
    for var, value in values.items():
        text = re.sub(rf"^{var}=.*$", lambda _m, v=var, x=value: f"{v}={shlex.quote(x)}", text,
                      count=1, flags=re.MULTILINE)
    return text


def _owner() -> tuple[int, int] | None:
    """When root works in a DOKKU_ROOT owned by the dokku user, new repo files go to that user,
    so its pushes over SSH can still write them."""
    if os.geteuid() != 0:
        return None
    try:
        st = paths.dokku_root().stat()
    except OSError:
        return None
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def _write_executable(target: Path, text: str) -> None:
    """Atomically replace `target` (mode 755) unless it already holds `text`."""
    with contextlib.suppress(OSError):
        if target.read_text() == text and os.access(target, os.X_OK):
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o755)
        owner = _owner()
        if owner:
            os.chown(tmp, *owner)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def install_hooks(app: str) -> None:
    for name in HOOKS:
        _write_executable(repo_path(app) / "hooks" / name, render_hook(name))


def initialize(app: str) -> bool:
    """Make the app's folder a bare repo (when it is not one yet) and (re)install its hooks,
    so that they call the dokku installed now. True when the repo was created."""
    repo = repo_path(app)
    created = False
    with store.app_lock(app):
        if not is_initialized(app):
            from dulwich.repo import Repo
            repo.mkdir(parents=True, exist_ok=True)
            bare = Repo.init_bare(str(repo), default_branch=(deploy_branch(app) or "main").encode())
            # HEAD names the deploy branch (so clones check out what runs); deleting it is still
            # a push like any other (it deploys nothing), as in Dokku.
            cfg = bare.get_config()
            cfg.set((b"receive",), b"denyDeleteCurrent", b"ignore")
            cfg.write_to_path()
            owner = _owner()
            if owner:
                for root, dirs, files in os.walk(repo):
                    for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                        os.chown(name, *owner)
            created = True
        install_hooks(app)
    return created


def _point_head(app: str, branch: str) -> None:
    """HEAD names the deploy branch, so a clone checks out what runs."""
    if is_initialized(app):
        from dulwich.repo import Repo
        Repo(str(repo_path(app))).refs.set_symbolic_ref(b"HEAD", b"refs/heads/" + branch.encode())


# ---------------------------------------------------------------- reading commits


def _quarantine(app: str) -> str | None:
    """Inside a pre-receive hook the pushed objects wait in a quarantine folder of the repo
    (git names it in GIT_QUARANTINE_PATH) until the hook accepts them."""
    folder = os.environ.get("GIT_QUARANTINE_PATH")
    if not folder:
        return None
    path = Path(folder).resolve()
    if not path.is_dir() or not path.is_relative_to(repo_path(app).resolve()):
        return None
    return str(path)


def _open(app: str):
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo
    try:
        repo = Repo(str(repo_path(app)))
    except NotGitRepository:
        raise errors.DokkuError(f"App {app} has no git repository: push to it, or run dokku git:initialize {app}") from None
    quarantine = _quarantine(app)
    if quarantine:
        from dulwich.object_store import DiskObjectStore, OverlayObjectStore
        repo.object_store = OverlayObjectStore([DiskObjectStore(quarantine), repo.object_store])
    return repo


def _resolve(repo, app: str, rev: str) -> str:
    """The commit sha that `rev` (a sha, a branch, a tag or a full ref name) names."""
    from dulwich.objects import Commit, Tag
    sha = None
    if SHA.fullmatch(rev):
        sha = rev.encode()
    else:
        for name in (rev, "refs/heads/" + rev, "refs/tags/" + rev):
            with contextlib.suppress(KeyError):
                sha = repo.refs[name.encode()]
                break
    try:
        obj = repo.object_store[sha] if sha else None
        while isinstance(obj, Tag):
            obj = repo.object_store[obj.object[1]]
    except KeyError:
        obj = None
    if not isinstance(obj, Commit):
        raise errors.DokkuError(f"No commit {rev!r} in {app}'s repository: push it first")
    return obj.id.decode()


def resolve(app: str, rev: str) -> str:
    return _resolve(_open(app), app, rev)


def ref_sha(app: str, ref: str) -> str | None:
    """The sha a ref points at now (`refs/heads/main`), None when it does not exist."""
    if not is_initialized(app):
        return None
    from dulwich.repo import Repo
    try:
        return Repo(str(repo_path(app))).refs[ref.encode()].decode()
    except KeyError:
        return None


def export_tar(app: str, rev: str) -> bytes:
    """The commit's tree as an uncompressed tar: the build context.

    dulwich resolves the commit; `git archive` writes the tar. Walking the tree with dulwich and
    packing it with tarfile measured ~10x `git archive` on a 5,000-file packed repo, and this
    sits on every deploy's path (bench/build_context.py keeps it within 2x)."""
    sha = resolve(app, rev)
    repo = repo_path(app)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    quarantine = _quarantine(app)
    if quarantine:
        env["GIT_OBJECT_DIRECTORY"] = quarantine
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = str(repo / "objects")
    proc = subprocess.run(["git", f"--git-dir={repo}", "archive", "--format=tar", sha],
                          capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()
        raise errors.DokkuError(f"Could not export {sha[:7]} of {app}: git archive said: {detail}")
    return proc.stdout


def read_file(app: str, rev: str, path: str) -> bytes | None:
    """One file of the commit (`Procfile`, `app.json`), None when absent or not a file.
    Symlinks inside the tree are followed."""
    repo = _open(app)
    commit = repo.object_store[_resolve(repo, app, rev).encode()]
    return _blob(repo.object_store, commit.tree, path)


def _blob(objects, tree: bytes, path: str, hops: int = 0) -> bytes | None:
    from dulwich.errors import NotTreeError
    from dulwich.object_store import tree_lookup_path
    path = posixpath.normpath(path.lstrip("/"))
    if path in (".", "..") or path.startswith("../") or hops > 8:
        return None
    try:
        mode, sha = tree_lookup_path(objects.__getitem__, tree, path.encode())
    except (KeyError, NotTreeError):
        return None
    if stat.S_ISLNK(mode):
        target = objects[sha].data.decode(errors="surrogateescape")
        if target.startswith("/"):
            return None
        return _blob(objects, tree, posixpath.join(posixpath.dirname(path), target), hops + 1)
    return objects[sha].data if stat.S_ISREG(mode) else None


# ---------------------------------------------------------------- settings


def _setting(app: str | None, key: str) -> str:
    return store.get(PLUGIN, app, key)


def deploy_branch(app: str) -> str:
    """The app's deploy branch, else the global one; "" until the first push sets it."""
    return _setting(app, "deploy-branch") or _setting(None, "deploy-branch")


def receive_mode(app: str) -> str:
    return _setting(app, "receive-mode") or _setting(None, "receive-mode") or DEFAULT_RECEIVE_MODE


def _validate(key: str, value: str) -> None:
    if key == "receive-mode" and value not in RECEIVE_MODES:
        raise errors.DokkuError(f'Invalid receive-mode "{value}": use {" or ".join(RECEIVE_MODES)}')
    if key == "deploy-branch":
        from dulwich.refs import check_ref_format
        if value.startswith("-") or not check_ref_format(b"refs/heads/" + value.encode()):
            raise errors.DokkuError(f'Invalid branch name "{value}": use a git branch name such as main')


# ---------------------------------------------------------------- receiving a push


def _claim_deploy_branch(app: str, branch: str) -> str:
    """The deploy branch; with none set, the branch being pushed becomes it."""
    with store.app_lock(app):
        current = deploy_branch(app)
        if current:
            return current
        store.put(PLUGIN, app, "deploy-branch", branch)
    log.step(f"Set {branch} as deploy-branch")
    _point_head(app, branch)
    return branch


def _expect_tip(app: str, branch: str, ref: str, old: str) -> None:
    """Under the deploy lock: the branch must still be where this push found it, or another push
    got there first (git would refuse this push's ref update after we deployed it)."""
    def tip() -> str:
        return ref_sha(app, ref) or "0" * len(old)

    current = tip()
    claim = _read_claim(app)
    if claim and claim.get("ref") == ref and claim.get("old") == current and claim.get("new") != current:
        # The push before this one deployed and left its hook; git moves the ref a moment later.
        deadline = float(claim.get("at", 0)) + CLAIM_SECONDS
        while current == claim["old"] and time.time() < deadline:
            time.sleep(0.05)
            current = tip()
    if current != old:
        raise errors.DokkuError(f"another push updated {branch} first: pull and push again")


def _read_claim(app: str) -> dict | None:
    try:
        return json.loads(store.get(PLUGIN, app, "last-push") or "null")
    except ValueError:
        return None


def receive(app: str, updates: list[tuple[str, str, str]], phase: str) -> None:
    """Deploy what a push brought, when `phase` (the hook git is running) is the app's
    receive-mode. Only the deploy branch deploys; deleting a branch or pushing tags deploys
    nothing. In pre-receive the deploy runs here and a failure raises, which rejects the push;
    in post-receive it starts in the background (`deploy_in_background`)."""
    if receive_mode(app) != phase:
        return
    for old, new, ref in updates:
        if not ref.startswith("refs/heads/") or ZERO.fullmatch(new):
            continue
        branch = ref.removeprefix("refs/heads/")
        target = _claim_deploy_branch(app, branch)
        if branch != target:
            log.step(f"WARNING: deploy did not complete, you must push to {target}.")
            continue
        if phase == "post-receive":
            if ref_sha(app, ref) != new:
                log.step(f"{branch} has moved on since this push: the push that moved it deploys it")
                continue
            deploy_in_background(app, new)
            continue
        from pipeline import deploy
        with deploy.deploy_lock(app):
            _expect_tip(app, branch, ref, old)
            with deploy_log.recording(app, new):
                deploy.from_push(app, new)
            store.put(PLUGIN, app, "last-push", json.dumps({"ref": ref, "old": old, "new": new, "at": time.time()}))


# ---------------------------------------------------------------- post-receive: the detached deploy


def stream_seconds(app: str) -> float:
    """How long the post-receive hook shows the deploy's output to the pusher:
    $DOKKU_RECEIVE_STREAM_SECONDS, else the app's (or global) config value, else 0."""
    raw = os.environ.get(STREAM_SECONDS_VAR)
    if raw is None:
        from pipeline import config
        raw = config.get(app, STREAM_SECONDS_VAR)
    if raw is None or not raw.strip():
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        log.warn(f"Ignoring {STREAM_SECONDS_VAR}={raw!r}: use a number of seconds (0: return at once)")
        return 0.0
    return seconds


def _child_environment() -> dict:
    """The hook's environment for the detached deploy, minus git's per-repo variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(DOKKU_ROOT=os.path.abspath(paths.dokku_root()), DOKKU_LIB_ROOT=os.path.abspath(paths.lib_root()),
               PYTHONUNBUFFERED="1")
    return env


def deploy_in_background(app: str, sha: str) -> None:
    """Start the deploy of the deploy branch in its own session, its output going to a new kept
    log, then show that log to the pusher for up to `stream_seconds(app)`."""
    record = deploy_log.begin(app, sha)
    with open(record["log"], "ab", buffering=0) as out:
        proc = subprocess.Popen([dokku_bin(), "git:deploy-detached", app, record["id"]],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd="/", env=_child_environment(), start_new_session=True, close_fds=True)
    deploy_log.update(app, record["id"], pid=proc.pid)
    seconds = stream_seconds(app)
    if seconds <= 0:
        log.step(f"Deploying {app} at {sha[:7]} in the background; follow it with: dokku logs:deploy {app} -t")
        log.detail(f"Log: {record['log']}")
        return
    log.step(f"Deploying {app} at {sha[:7]} in the background (showing its output for up to {seconds:g}s)")
    outcome = deploy_log.follow(record["log"], sys.stdout.fileno(), lambda: proc.poll() is None,
                                max_seconds=seconds)
    if outcome == "gone":
        return  # nobody is listening; the deploy carries on
    with contextlib.suppress(OSError):
        if outcome == "timeout":
            log.step(f"The deploy carries on in the background; follow it with: dokku logs:deploy {app} -t")
        elif proc.returncode == 0:
            log.step(f"Deploy finished; log: {record['log']}")
        else:
            log.warn(f"Deploy failed (the push was accepted; the release that was running keeps serving). "
                     f"Log: {record['log']}")


def _stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def cmd_deploy_detached(args: list[str]) -> None:
    """The detached half of a post-receive push: `git:deploy-detached <app> <deploy-id>`, with
    stdout and stderr already going to the deploy's log (`deploy_in_background`)."""
    if len(args) != 2:
        raise errors.UsageError("Usage: dokku git:deploy-detached <app> <deploy-id>")
    app = cliargs.require_app(args[0])
    deploy_id = args[1]
    if not deploy_log.ID.fullmatch(deploy_id):
        raise errors.DokkuError(f"Invalid deploy id {deploy_id!r}: the post-receive hook names it")
    signal.signal(signal.SIGHUP, signal.SIG_IGN)      # no terminal to lose, but never die of one
    signal.signal(signal.SIGTERM, _stop_on_sigterm)   # record the failure, then stop
    deploy_log.update(app, deploy_id, pid=os.getpid())
    try:
        deploy_branch_tip(app, deploy_id)
    except BaseException as err:
        sys.stderr.write(deploy_log.failure_text(err))
        sys.stderr.flush()
        deploy_log.finish(app, deploy_id, deploy_log.FAILED)
        code = err.exit_code if isinstance(err, (errors.DokkuError, errors.Quiet)) else 1
        raise errors.Quiet(code) from None
    deploy_log.finish(app, deploy_id, deploy_log.SUCCESS)


def deploy_branch_tip(app: str, deploy_id: str = "") -> None:
    """Under the deploy lock, deploy the deploy branch's tip as it is now; nothing when that
    commit is the deployed one already (an earlier queued deploy got to it first)."""
    from pipeline import build, deploy, ps
    with deploy.deploy_lock(app):
        branch = deploy_branch(app)
        tip = ref_sha(app, "refs/heads/" + branch) if branch else None
        if tip is None:
            log.step(f"Nothing to deploy: {app} has no deploy branch {branch or '(none set)'}")
            return
        if deploy_id:
            deploy_log.update(app, deploy_id, sha=tip)
        current = build.load(app)
        if current is not None and current.release == tip and ps.is_deployed(app):
            log.step(f"{branch} is at {tip[:7]}, which is deployed already: nothing to do")
            return
        pushed = deploy_id.split("-")[1] if deploy_id else tip[:7]
        if pushed != tip[:7]:
            log.step(f"{branch} has moved on to {tip[:7]} since {pushed} was pushed: deploying {tip[:7]}")
        deploy.from_push(app, tip)


def cmd_logs_deploy(args: list[str]) -> None:
    """`logs:deploy <app> [-t]`: the last deploy's kept log; with -t, follow it until it ends."""
    usage = "logs:deploy <app> [-t|--tail]"
    tail = False
    positional = []
    for word in args:
        if word in ("-t", "--tail"):
            tail = True
        elif word.startswith("-") and len(word) > 1:
            raise errors.UsageError(f"Unknown flag {word}: valid flags are -t, --tail")
        else:
            positional.append(word)
    cliargs.expect_at_most(positional, 1, usage)
    app = cliargs.require_app(positional[0] if positional else "")
    record = deploy_log.last(app)
    if record is None:
        raise errors.DokkuError(f"No deploy of {app} has been recorded yet: push to it, or run "
                                f"dokku git:sync --build {app} <repository>")
    path = record.get("log") or ""
    if not os.path.isfile(path):
        raise errors.DokkuError(f"The log of {app}'s last deploy is gone: {path}")
    if tail:
        deploy_log.follow(path, sys.stdout.fileno(),
                          lambda: deploy_log.is_running(app, record["id"], record.get("pid")))
        return
    sys.stdout.flush()
    with open(path, "rb") as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
    sys.stdout.buffer.flush()


# ---------------------------------------------------------------- git:sync


def _remote_client(repository: str):
    """The dulwich client and path for a repository argument: a local path (relative to the
    current directory) or any URL git understands."""
    from dulwich.client import get_transport_and_path
    from dulwich.config import ConfigDict
    location = repository
    if "://" not in repository and os.path.exists(repository):
        location = os.path.abspath(repository)
    config = ConfigDict()
    config.set((b"http",), b"timeout", str(NETWORK_TIMEOUT).encode())
    try:
        return get_transport_and_path(location, config=config)
    except Exception as err:  # an unparseable URL, an unsupported scheme
        raise errors.DokkuError(f"Could not read from {repository}: {_reason(err)}") from None


def _reason(err: BaseException) -> str:
    """A short why for a failure to reach a repository (dulwich wraps OS errors in prose)."""
    from dulwich.errors import NotGitRepository
    if isinstance(err, NotGitRepository):
        return "no git repository there"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = " ".join(str(err).replace("\r", " ").split())
    found = re.search(r"\[Errno -?\d+\] ([^\"')\]]+)", text)
    if found:
        return found.group(1).strip()
    return text or type(err).__name__


def _remote_refs(client, path: str, repository: str) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    """(refs, symrefs) the repository advertises."""
    try:
        result = client.get_refs(path)
    except Exception as err:
        raise errors.DokkuError(f"Could not read from {repository}: {_reason(err)}") from None
    refs = dict(getattr(result, "refs", result) or {})
    symrefs = dict(getattr(result, "symrefs", {}) or {})
    return {k: v for k, v in refs.items() if v is not None}, symrefs


def _pick_ref(refs: dict, symrefs: dict, ref: str, repository: str) -> tuple[str, str, str | None]:
    """(sha to fetch, the ref as shown, its branch name or None) for `ref`: a full ref name, a
    tag or branch name (tags first, as git), a sha (full, or a unique prefix of an advertised
    one); "" or HEAD: the branch the remote's HEAD names."""
    if ref in ("", "HEAD"):
        head = symrefs.get(b"HEAD")
        if head is None and b"HEAD" in refs:  # an old server that does not name HEAD's target
            heads = sorted(name for name, sha in refs.items() if name.startswith(b"refs/heads/") and sha == refs[b"HEAD"])
            head = heads[0] if heads else None
        if head is None or head not in refs:
            raise errors.DokkuError(f"Ref HEAD not found in {repository}: name the branch, tag or sha to sync")
        branch = head.decode().removeprefix("refs/heads/")
        return refs[head].decode(), branch, branch
    names = [ref] if ref.startswith("refs/") else [f"refs/tags/{ref}", f"refs/heads/{ref}"]  # git's order
    for name in names:
        sha = refs.get((name + "^{}").encode()) or refs.get(name.encode())
        if sha is not None:
            return sha.decode(), ref, name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else None
    if SHA.fullmatch(ref):
        return ref, ref, None
    if re.fullmatch(r"[0-9a-f]{7,39}", ref):
        found = {sha for sha in refs.values() if sha.decode().startswith(ref)}
        if len(found) == 1:
            return found.pop().decode(), ref, None
    raise errors.DokkuError(f"Ref {ref} not found in {repository}")


def _may_hold(client, path: str, sha: str) -> bool:
    """Whether the repository may hold an object it does not advertise: a local one is asked
    directly; a remote one only answers the fetch."""
    from dulwich.client import LocalGitClient
    if not isinstance(client, LocalGitClient):
        return True
    from dulwich.repo import Repo
    try:
        with contextlib.closing(Repo(path)) as repo:
            return sha.encode() in repo.object_store
    except Exception:
        return False


def fetch_commit(app: str, client, path: str, sha: str, ref: str, repository: str) -> str:
    """Fetch `sha` and what it needs into the app's repo; the commit sha (a tag peeled)."""
    from dulwich.repo import Repo
    target = Repo(str(repo_path(app)))
    try:
        if sha.encode() not in target.object_store:
            client.fetch(path, target, determine_wants=lambda refs, depth=None, **_: [sha.encode()])
    except Exception as err:
        if SHA.fullmatch(ref) or isinstance(err, KeyError):
            raise errors.DokkuError(f"Ref {ref} not found in {repository}") from None
        raise errors.DokkuError(f"Could not read from {repository}: {_reason(err)}") from None
    try:
        return _resolve(target, app, sha)
    except errors.DokkuError:
        raise errors.DokkuError(f"Ref {ref} not found in {repository}: it names no commit") from None


def _set_branch(app: str, branch: str, sha: str, expected: str | None) -> bool:
    """Move refs/heads/<branch> to `sha` if it still is at `expected`."""
    from dulwich.repo import Repo
    refs = Repo(str(repo_path(app))).refs
    name = b"refs/heads/" + branch.encode()
    old = expected.encode() if expected else None
    if old is None:
        return refs.add_if_new(name, sha.encode())
    return refs.set_if_equals(name, old, sha.encode())


def cmd_sync(args: list[str]) -> None:
    """`git:sync [--build] <app> <repository> [<ref>]`. Nothing is created or fetched until the
    repository has answered and named the ref; a new app's deploy branch is the synced branch
    (else main), as a first push would set it."""
    usage = "git:sync [--build] <app> <repository> [<ref>]"
    positional, found = cliargs.parse(args, {"--build": False})
    cliargs.expect_at_most(positional, 3, usage)
    app = cliargs.validate_app_name(positional[0] if positional else "")
    if len(positional) < 2:
        raise errors.UsageError(f"Please specify a repository to sync from\n !     Usage: dokku {usage}")
    repository, ref = positional[1], (positional[2] if len(positional) > 2 else "")
    if not repository.strip():
        raise errors.UsageError(f"Please specify a repository to sync from\n !     Usage: dokku {usage}")

    client, path = _remote_client(repository)
    refs, symrefs = _remote_refs(client, path, repository)
    sha, shown, remote_branch = _pick_ref(refs, symrefs, ref, repository)
    if sha not in {v.decode() for v in refs.values()} and not _may_hold(client, path, sha):
        raise errors.DokkuError(f"Ref {ref} not found in {repository}")
    log.step(f"Syncing {repository} ({shown}) into {app}")

    from pipeline import apps
    created = apps.create_app(app, quiet_if_exists=True)
    if created:
        log.step(f"Creating {app}...")
    try:
        initialize(app)
        commit = fetch_commit(app, client, path, sha, ref or shown, repository)
    except BaseException:
        if created:  # a sync that fetched nothing leaves no app behind
            with store.app_lock(app):
                shutil.rmtree(repo_path(app), ignore_errors=True)
        raise
    branch = _claim_deploy_branch(app, deploy_branch(app) or remote_branch or "main")
    ref_name = "refs/heads/" + branch

    if not found.get("--build"):
        before = ref_sha(app, ref_name)
        if before == commit:
            log.step(f"{branch} is at {commit[:7]} already")
        elif _set_branch(app, branch, commit, before):
            log.step(f"Updated {branch} to {commit[:7]}")
        else:
            raise errors.DokkuError(f"{branch} moved while syncing: run the sync again")
        return

    from pipeline import deploy
    with deploy.deploy_lock(app):
        before = ref_sha(app, ref_name)
        with deploy_log.recording(app, commit):
            deploy.from_push(app, commit)
        if before == commit:
            log.step(f"{branch} is at {commit[:7]} already")
        elif _set_branch(app, branch, commit, before):
            log.step(f"Updated {branch} to {commit[:7]}")
        else:
            log.warn(f"{branch} moved during the deploy (a push?): it stays where that push put it, "
                     f"and its own deploy follows")


def _parse_updates(text: str) -> list[tuple[str, str, str]]:
    updates = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) != 3 or not SHA.fullmatch(words[0]) or not SHA.fullmatch(words[1]):
            raise errors.DokkuError(f"Unexpected hook input {line!r}: expected '<old-sha> <new-sha> <ref>' lines")
        updates.append((words[0], words[1], words[2]))
    return updates


# ---------------------------------------------------------------- commands


def _app_from_ssh(word: str) -> str:
    """`'node-js-app'`, `'/node-js-app.git'` (ssh://host/app.git) -> node-js-app."""
    app = word.strip().strip("'\"").strip("/").removesuffix(".git")
    return cliargs.validate_app_name(app)


def _one_arg(args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise errors.UsageError(f"Usage: dokku {usage}")
    return args[0]


def _exec_git(service: str, app: str) -> None:
    """Run git's side of the protocol on our stdin/stdout (the SSH channel): nothing may be
    written to stdout before this."""
    os.environ["DOKKU_ROOT"] = os.path.abspath(paths.dokku_root())
    os.environ["DOKKU_LIB_ROOT"] = os.path.abspath(paths.lib_root())
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"):
        os.environ.pop(var, None)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp("git", ["git", service, str(repo_path(app))])


def cmd_receive_pack(args: list[str]) -> None:
    app = _app_from_ssh(_one_arg(args, "git-receive-pack '<app>'"))
    from pipeline import apps
    if apps.create_app(app, quiet_if_exists=True) and not log.QUIET:
        sys.stderr.write(f"-----> Creating {app}...\n")  # stdout carries git's protocol
    initialize(app)
    _exec_git("receive-pack", app)


def cmd_upload_pack(args: list[str]) -> None:
    app = cliargs.require_app(_app_from_ssh(_one_arg(args, "git-upload-pack '<app>'")))
    if not is_initialized(app):
        initialize(app)
    _exec_git("upload-pack", app)


def cmd_hook(args: list[str]) -> None:
    phase = "pre-receive"
    if args[:1] == ["--post-receive"]:
        phase, args = "post-receive", args[1:]
    app = cliargs.require_app(_one_arg(args, "git-hook [--post-receive] <app>"))
    receive(app, _parse_updates(sys.stdin.read()), phase)


def cmd_initialize(args: list[str]) -> None:
    positional, _ = cliargs.parse(args, {})
    cliargs.expect_at_most(positional, 1, "git:initialize <app>")
    app = cliargs.require_app(positional[0] if positional else "")
    log.step(f"Initializing git repository for {app}")
    initialize(app)


def cmd_set(args: list[str]) -> None:
    app, key, value = cliargs.property_args(args, KEYS, "git:set [--global|<app>] deploy-branch|receive-mode [<value>]")
    if value:
        _validate(key, value)
    with store.app_lock(app):
        if value:
            store.put(PLUGIN, app, key, value)
        else:
            store.delete(PLUGIN, app, key)
    if value:
        log.section(f"Setting {key} to {value}")
    else:
        log.section(f"Unsetting {key}")
    if key == "deploy-branch" and app and value:
        _point_head(app, value)


def rows(app: str) -> dict:
    branch = deploy_branch(app)
    last = deploy_log.last(app) or {}
    return {
        "--git-deploy-branch": branch,
        "--git-global-deploy-branch": _setting(None, "deploy-branch"),
        "--git-receive-mode": receive_mode(app),
        "--git-global-receive-mode": _setting(None, "receive-mode"),
        "--git-sha": (ref_sha(app, "refs/heads/" + branch) or "") if branch else "",
        "--git-last-deploy-status": last.get("status", ""),
        "--git-last-deploy-sha": last.get("sha", ""),
        "--git-last-deploy-log": last.get("log", ""),
    }


def cmd_report(args: list[str]) -> int:
    return report.run(args, "git", rows)


COMMANDS = {
    "git:initialize": (cmd_initialize, "git:initialize <app>", "Create the app's git repository and install its hooks"),
    "git:set": (cmd_set, "git:set [--global|<app>] deploy-branch|receive-mode [<value>]",
                "Set (or with no value, unset) a git property"),
    "git:report": (cmd_report, "git:report [<app>] [<flag>]", "Display the git information"),
    "git-receive-pack": (cmd_receive_pack, "git-receive-pack '<app>'", "Receive a push (called by sshd)"),
    "git-upload-pack": (cmd_upload_pack, "git-upload-pack '<app>'", "Serve a fetch or clone (called by sshd)"),
    "git-hook": (cmd_hook, "git-hook [--post-receive] <app>", "Deploy what a push brought (called by the repo's hooks)"),
    "git:sync": (cmd_sync, "git:sync [--build] <app> <repository> [<ref>]",
                 "Fetch a ref (default: the remote's HEAD branch) into the app's deploy branch; --build deploys it"),
    "git:deploy-detached": (cmd_deploy_detached, "git:deploy-detached <app> <deploy-id>",
                            "Deploy the deploy branch's tip, logging to the kept log (started by the post-receive hook)"),
    "logs:deploy": (cmd_logs_deploy, "logs:deploy <app> [-t|--tail]",
                    "Print the last deploy's kept log; -t follows it until the deploy ends"),
}
