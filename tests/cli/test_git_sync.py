"""git:sync, post-receive mode and the kept deploy logs, without an engine.

`git:sync` fetches a ref from another repository (a local path here, or a URL nothing answers) into
the app's repo and moves its deploy branch; clear errors for a missing ref, an unreachable
repository and a bad app name, and no state left behind by a sync that failed. DOCKER_HOST points
at a socket that does not exist, so every deploy fails at the engine: enough to see that a
post-receive push returns at once, that the detached deploy runs anyway, and that its log and
result are kept (`git:report --git-last-deploy-*`, `logs:deploy`).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import deploy_log
from pipeline import git as pgit
from tests.cli.conftest import Result
from tests.conftest import DOKKU_CMD

WARN = " !     "
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}


@pytest.fixture
def git_env(dokku, tmp_path):
    return {**dokku.env, **IDENTITY, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
            "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}


@pytest.fixture
def offline(dokku, git_env):
    """dokku with the pusher's environment (no engine reachable)."""
    def call(*args: str, env: dict | None = None) -> Result:
        return dokku(*args, env={"DOCKER_HOST": git_env["DOCKER_HOST"], **(env or {})})
    return call


def git(env: dict, *args: str, cwd: Path) -> Result:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def commit(env: dict, work: Path, name: str, content: str) -> str:
    (work / name).write_text(content)
    assert git(env, "add", "-A", cwd=work).code == 0
    assert git(env, "commit", "-q", "-m", f"{name}={content}", cwd=work).code == 0
    return git(env, "rev-parse", "HEAD", cwd=work).out.strip()


@pytest.fixture
def upstream(tmp_path, git_env) -> Path:
    """Another repository: main (HEAD) with two commits, a branch `next`, an annotated tag v1
    on main's first commit."""
    work = tmp_path / "upstream"
    assert git(git_env, "init", "-q", "-b", "main", str(work), cwd=tmp_path).code == 0
    commit(git_env, work, "Procfile", "web: python3 -m http.server $PORT\n")
    assert git(git_env, "tag", "-a", "v1", "-m", "v1", cwd=work).code == 0
    commit(git_env, work, "VERSION", "2\n")
    assert git(git_env, "checkout", "-q", "-b", "next", cwd=work).code == 0
    commit(git_env, work, "VERSION", "next\n")
    assert git(git_env, "checkout", "-q", "main", cwd=work).code == 0
    return work


def sha_of(repo: Path, rev: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", rev + "^{commit}"], capture_output=True, text=True)
    return proc.stdout.strip()


def app_sha(dokku, app: str, ref: str) -> str | None:
    proc = subprocess.run(["git", f"--git-dir={dokku.root / app}", "rev-parse", "--verify", "-q", ref],
                          capture_output=True, text=True)
    return proc.stdout.strip() or None


# ---------------------------------------------------------------- git:sync


def test_sync_creates_the_app_and_moves_its_deploy_branch(dokku, offline, upstream):
    r = offline("git:sync", "synced", str(upstream))
    assert r.code == 0, r.err
    head = sha_of(upstream, "main")
    assert r.out.splitlines() == [
        f"-----> Syncing {upstream} (main) into synced",
        "-----> Creating synced...",
        "-----> Set main as deploy-branch",
        f"-----> Updated main to {head[:7]}",
    ]
    assert app_sha(dokku, "synced", "refs/heads/main") == head
    assert dokku.ok("git:report", "synced", "--git-sha").out.strip() == head
    assert dokku.ok("git:report", "synced", "--git-deploy-branch").out.strip() == "main"
    # the app's repo is a working dokku repo: hooks installed, HEAD names the deploy branch
    assert os.access(dokku.root / "synced" / "hooks" / "pre-receive", os.X_OK)
    assert (dokku.root / "synced" / "HEAD").read_text() == "ref: refs/heads/main\n"
    # without --build nothing deploys
    assert dokku.ok("git:report", "synced", "--git-last-deploy-status").out.strip() == ""


@pytest.mark.parametrize("ref,rev", [("next", "next"), ("v1", "v1"), ("refs/heads/next", "next"),
                                     ("refs/tags/v1", "v1")])
def test_sync_a_branch_or_tag_into_the_deploy_branch(dokku, offline, app, upstream, ref, rev):
    dokku.ok("git:set", app, "deploy-branch", "production")
    r = offline("git:sync", app, str(upstream), ref)
    assert r.code == 0, r.err
    want = sha_of(upstream, rev)
    assert f"-----> Syncing {upstream} ({ref}) into {app}" in r.out
    assert f"-----> Updated production to {want[:7]}" in r.out
    assert app_sha(dokku, app, "refs/heads/production") == want
    assert app_sha(dokku, app, "refs/heads/main") is None


def test_sync_head_names_the_remotes_default_branch(dokku, offline, app, upstream, git_env):
    assert git(git_env, "symbolic-ref", "HEAD", "refs/heads/next", cwd=upstream).code == 0
    r = offline("git:sync", app, str(upstream), "HEAD")
    assert r.code == 0, r.err
    assert f"-----> Syncing {upstream} (next) into {app}" in r.out
    assert app_sha(dokku, app, "refs/heads/next") == sha_of(upstream, "next")


def test_sync_a_full_sha_then_the_same_again(dokku, offline, app, upstream):
    want = sha_of(upstream, "main~1")
    r = offline("git:sync", app, str(upstream), want)
    assert r.code == 0, r.err
    assert app_sha(dokku, app, "refs/heads/main") == want
    again = offline("git:sync", app, str(upstream), want)
    assert again.code == 0, again.err
    assert f"-----> main is at {want[:7]} already" in again.out


def test_sync_moves_the_branch_backwards_too(dokku, offline, app, upstream):
    """The other repository is the source of truth: a sync is a forced update."""
    dokku.ok("git:set", app, "deploy-branch", "main")
    assert offline("git:sync", app, str(upstream), "next").code == 0
    r = offline("git:sync", app, str(upstream), "v1")
    assert r.code == 0, r.err
    assert app_sha(dokku, app, "refs/heads/main") == sha_of(upstream, "v1")


def test_sync_from_a_relative_path(dokku, upstream, git_env):
    proc = subprocess.run([*DOKKU_CMD, "git:sync", "rel", "upstream"], cwd=upstream.parent, env=git_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert app_sha(dokku, "rel", "refs/heads/main") == sha_of(upstream, "main")


def test_sync_from_a_bare_repository(dokku, offline, tmp_path, upstream, git_env):
    bare = tmp_path / "bare.git"
    assert git(git_env, "clone", "-q", "--bare", str(upstream), str(bare), cwd=tmp_path).code == 0
    r = offline("git:sync", "from-bare", str(bare), "next")
    assert r.code == 0, r.err
    assert app_sha(dokku, "from-bare", "refs/heads/next") == sha_of(upstream, "next")
    # a named branch becomes the deploy branch of a new app, as a first push would make it
    assert dokku.ok("git:report", "from-bare", "--git-deploy-branch").out.strip() == "next"


@pytest.mark.parametrize("ref", ["nope", "refs/heads/nope", "f" * 40])
def test_missing_ref_fails_clearly_and_creates_nothing(dokku, upstream, ref):
    r = dokku.refuses("git:sync", "fresh", str(upstream), ref,
                      message=f"Ref {ref} not found in {upstream}")
    assert not (dokku.root / "fresh").exists()
    assert "Traceback" not in r.err


def test_missing_ref_leaves_an_existing_app_alone(dokku, offline, app, upstream):
    assert offline("git:sync", app, str(upstream)).code == 0
    dokku.refuses("git:sync", app, str(upstream), "nope", message=f"Ref nope not found in {upstream}")
    assert app_sha(dokku, app, "refs/heads/main") == sha_of(upstream, "main")


def test_sync_from_an_empty_repository_names_the_problem(dokku, tmp_path, git_env):
    empty = tmp_path / "empty"
    assert git(git_env, "init", "-q", str(empty), cwd=tmp_path).code == 0
    dokku.refuses("git:sync", "fresh", str(empty), message=f"Ref HEAD not found in {empty}")


@pytest.mark.parametrize("where", ["missing-dir", "not-a-repo"])
def test_unreachable_path_fails_clearly(dokku, tmp_path, where):
    repository = tmp_path / where
    if where == "not-a-repo":
        repository.mkdir()
    dokku.refuses("git:sync", "fresh", str(repository),
                  message=f"Could not read from {repository}: no git repository there")
    assert not (dokku.root / "fresh").exists()


def test_unreachable_url_fails_clearly(dokku):
    started = time.monotonic()
    r = dokku.refuses("git:sync", "fresh", "http://127.0.0.1:9/x.git",
                      message="Could not read from http://127.0.0.1:9/x.git: ")
    assert "Connection refused" in r.err, r.err
    assert r.err.count("\n") == 1, f"one line, no traceback: {r.err}"
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("name", ["Bad_App", "UPPER", "-dash", "a:b"])
def test_bad_app_name(dokku, upstream, name):
    dokku.refuses("git:sync", name, str(upstream), message=pgit.cliargs.APP_NAME_ERROR)


def test_usage(dokku, upstream):
    dokku.refuses("git:sync", message="Please specify an app to run the command on")
    dokku.refuses("git:sync", "app", code=2, message="Please specify a repository to sync from")
    dokku.refuses("git:sync", "app", str(upstream), "main", "extra", code=2, message="Too many arguments: extra")
    dokku.refuses("git:sync", "--nope", "app", str(upstream), code=2)


def test_help_lists_sync(dokku):
    assert "dokku git:sync [--build] <app> <repository> [<ref>]" in dokku.ok("git:help").out


def test_sync_build_that_fails_keeps_the_branch_and_the_log(dokku, offline, app, upstream):
    """--build deploys before it moves the branch: a failed deploy leaves the branch where it was
    (as a rejected pre-receive push), and its output and result are kept."""
    first = sha_of(upstream, "v1")
    assert offline("git:sync", app, str(upstream), "v1").code == 0
    r = offline("git:sync", "--build", app, str(upstream), "main")
    assert r.code == 1, r.out + r.err
    assert f"-----> Deploying {app} at {sha_of(upstream, 'main')[:7]}" in r.out
    assert app_sha(dokku, app, "refs/heads/main") == first
    record = json.loads((dokku.lib / "config" / "git" / app / "last-deploy").read_text())
    assert record["status"] == "failed"
    assert record["sha"] == sha_of(upstream, "main")
    kept = Path(record["log"]).read_text()
    assert f"-----> Deploying {app} at" in kept
    assert WARN in kept, "the error that ended the deploy is in its log"
    assert dokku.ok("git:report", app, "--git-last-deploy-status").out.strip() == "failed"


# ---------------------------------------------------------------- post-receive mode and kept logs


@pytest.fixture
def post_receive_app(dokku, app, tmp_path, git_env):
    dokku.ok("git:initialize", app)
    dokku.ok("git:set", app, "receive-mode", "post-receive")
    work = tmp_path / "src"
    assert git(git_env, "init", "-q", "-b", "main", str(work), cwd=tmp_path).code == 0
    commit(git_env, work, "Procfile", "web: python3 -m http.server $PORT\n")
    return app, work


def wait_for_status(dokku, app: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = dokku.ok("git:report", app, "--git-last-deploy-status").out.strip()
        if status != "running":
            return status
        time.sleep(0.1)
    return status


def test_post_receive_push_returns_and_the_detached_deploy_keeps_its_log(dokku, post_receive_app, git_env):
    app, work = post_receive_app
    r = git(git_env, "push", str(dokku.root / app), "main", cwd=work)
    assert r.code == 0, r.err
    head = git(git_env, "rev-parse", "HEAD", cwd=work).out.strip()
    assert f"Deploying {app} at {head[:7]} in the background; follow it with: dokku logs:deploy {app} -t" in r.err
    assert app_sha(dokku, app, "refs/heads/main") == head
    assert wait_for_status(dokku, app) == "failed"
    assert dokku.ok("git:report", app, "--git-last-deploy-sha").out.strip() == head
    path = Path(dokku.ok("git:report", app, "--git-last-deploy-log").out.strip())
    assert path.parent == dokku.lib / "data" / "deploy-logs" / app
    assert path.name.endswith(f"-{head[:7]}.log")
    kept = path.read_text()
    assert f"-----> Deploying {app} at {head[:7]}" in kept
    assert WARN in kept
    record = json.loads((dokku.lib / "config" / "git" / app / "last-deploy").read_text())
    assert record["finished"] and record["started"]


def test_post_receive_streams_for_the_configured_seconds(dokku, post_receive_app, git_env):
    app, work = post_receive_app
    r = git({**git_env, "DOKKU_RECEIVE_STREAM_SECONDS": "60"}, "push", str(dokku.root / app), "main", cwd=work)
    assert r.code == 0, r.err
    assert f"remote: -----> Deploying {app} at" in r.err
    assert f"remote: {WARN}" in r.err, "the deploy's failure reaches the connected pusher"
    assert "Deploy failed (the push was accepted" in r.err


def test_stream_seconds_from_the_app_config(dokku, post_receive_app, git_env):
    app, work = post_receive_app
    dokku.ok("config:set", "--no-restart", app, "DOKKU_RECEIVE_STREAM_SECONDS=60")
    r = git(git_env, "push", str(dokku.root / app), "main", cwd=work)
    assert r.code == 0, r.err
    assert "Deploy failed (the push was accepted" in r.err


def test_a_bad_stream_seconds_value_is_ignored_with_a_warning(dokku, post_receive_app, git_env):
    app, work = post_receive_app
    r = git({**git_env, "DOKKU_RECEIVE_STREAM_SECONDS": "soon"}, "push", str(dokku.root / app), "main", cwd=work)
    assert r.code == 0, r.err
    assert "Ignoring DOKKU_RECEIVE_STREAM_SECONDS='soon'" in r.err
    assert "in the background; follow it with" in r.err


def test_pre_receive_failure_is_kept_too(dokku, app, tmp_path, git_env):
    dokku.ok("git:initialize", app)
    work = tmp_path / "src"
    assert git(git_env, "init", "-q", "-b", "main", str(work), cwd=tmp_path).code == 0
    head = commit(git_env, work, "Procfile", "web: x\n")
    r = git(git_env, "push", str(dokku.root / app), "main", cwd=work)
    assert r.code != 0
    record = json.loads((dokku.lib / "config" / "git" / app / "last-deploy").read_text())
    assert (record["status"], record["sha"]) == ("failed", head)
    assert "-----> Deploying" in Path(record["log"]).read_text()


def test_old_logs_are_pruned(dokku, app, monkeypatch, dokku_env):
    monkeypatch.setattr(deploy_log, "KEEP", 3)
    made = [deploy_log.begin(app, f"{i:040x}")["log"] for i in range(6)]
    left = sorted(str(p) for p in deploy_log.logs_dir(app).iterdir())
    assert left == sorted(made[-3:])


def test_a_running_record_whose_process_is_gone_reads_as_failed(dokku, app, dokku_env):
    record = deploy_log.begin(app, "a" * 40)
    proc = subprocess.Popen(["true"])
    proc.wait()
    deploy_log.update(app, record["id"], pid=proc.pid)
    assert deploy_log.last(app)["status"] == "failed"
    assert dokku.ok("git:report", app, "--git-last-deploy-status").out.strip() == "failed"


def test_only_the_recorded_deploy_updates_the_record(dokku, app, dokku_env):
    older = deploy_log.begin(app, "a" * 40, pid=os.getpid())
    newer = deploy_log.begin(app, "b" * 40, pid=os.getpid())
    assert not deploy_log.finish(app, older["id"], "success")
    assert deploy_log.last(app)["id"] == newer["id"]
    assert deploy_log.last(app)["status"] == "running"


def test_deploy_detached_refuses_a_bad_id(dokku, app):
    dokku.refuses("git:deploy-detached", app, "../../etc/passwd", message="Invalid deploy id")


def _python_of(script: str) -> str:
    first = Path(script).read_text().splitlines()[0]
    return first[2:].strip() if first.startswith("#!") and "python" in first else sys.executable


# Until the lead routes `logs:deploy` to pipeline.git (the "logs" namespace belongs to pipeline.ps),
# call the installed package's CLI with that one routing added, so the handler is tested the same.
ROUTED = ("import sys\nfrom pipeline import cli, registry\n"
          "registry.PLUGINS['logs'] = 'pipeline.git'\nsys.exit(cli.main(sys.argv[1:]))\n")


def _logs_deploy(dokku, *args: str) -> Result:
    r = dokku("logs:deploy", *args)
    if "is not a dokku command" not in r.err:
        return r
    python = _python_of(DOKKU_CMD[0]) if DOKKU_CMD[0].endswith("dokku") else DOKKU_CMD[0]
    proc = subprocess.run([python, "-c", ROUTED, "logs:deploy", *args], capture_output=True, text=True,
                          env=dokku.env, timeout=60)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_logs_deploy_prints_the_last_log(dokku, post_receive_app, git_env):
    app, work = post_receive_app
    assert git(git_env, "push", str(dokku.root / app), "main", cwd=work).code == 0
    r = _logs_deploy(dokku, app, "-t")       # follows until the deploy ends
    assert r.code == 0, r.err
    assert f"-----> Deploying {app} at" in r.out
    assert WARN in r.out
    assert dokku.ok("git:report", app, "--git-last-deploy-status").out.strip() == "failed"
    again = _logs_deploy(dokku, app)
    assert again.out == r.out


def test_logs_deploy_without_a_deploy(dokku, app):
    r = _logs_deploy(dokku, app)
    assert r.code == 1
    assert f"{WARN}No deploy of {app} has been recorded yet" in r.err
    assert _logs_deploy(dokku, "missing-app").code == 20


def test_logs_deploy_usage(dokku, app):
    assert _logs_deploy(dokku, app, "-x").code == 2
    assert _logs_deploy(dokku).code == 1
