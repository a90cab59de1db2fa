"""git: pushes with the real git client into the app's bare repo (local path, git's ext:: transport
and a stand-in for sshd's forced command), the deploy-branch rules, git:set/report, and the
source export the builder reads. No Docker: DOCKER_HOST points at a socket that does not exist,
so a push that reaches the deploy fails there (and a pre-receive failure rejects the push).
"""
import io
import os
import shlex
import shutil
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from pipeline import errors
from pipeline import git as pgit
from tests.cli.conftest import Result
from tests.conftest import DOKKU_CMD

WARN = " !     "
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}
REPO_HOOKS = Path(__file__).resolve().parents[2] / "hooks"


@pytest.fixture
def git_env(dokku, tmp_path):
    """The pusher's environment: dokku's test roots, no engine, a fixed identity."""
    return {**dokku.env, **IDENTITY, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
            "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}


@pytest.fixture
def src(tmp_path, git_env) -> Path:
    """A work tree with one commit on main: a Procfile, a nested file and a symlink."""
    work = tmp_path / "src"
    run_git(git_env, "init", "-q", "-b", "main", str(work), cwd=tmp_path)
    (work / "Procfile").write_text("web: python -m http.server $PORT\n")
    (work / "lib").mkdir()
    (work / "lib" / "app.py").write_text("print('hi')\n")
    os.symlink("lib/app.py", work / "main.py")
    commit(git_env, work, "first")
    return work


def run_git(env: dict, *args: str, cwd: Path, input: str | None = None) -> Result:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          input=input, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def commit(env: dict, work: Path, message: str) -> str:
    assert run_git(env, "add", "-A", cwd=work).code == 0
    assert run_git(env, "commit", "-q", "--allow-empty", "-m", message, cwd=work).code == 0
    return run_git(env, "rev-parse", "HEAD", cwd=work).out.strip()


def push(env: dict, work: Path, remote: str, *refspecs: str, options: tuple = ()) -> Result:
    return run_git(env, *options, "push", remote, *refspecs, cwd=work)


def bare_sha(dokku, app: str, ref: str) -> str | None:
    proc = subprocess.run(["git", f"--git-dir={dokku.root / app}", "rev-parse", "--verify", "-q", ref],
                          capture_output=True, text=True)
    return proc.stdout.strip() or None


@pytest.fixture
def repo(dokku, app) -> str:
    """The app with its bare repo, reachable as a local path."""
    dokku.ok("git:initialize", app)
    return str(dokku.root / app)


# ---------------------------------------------------------------- hooks and git:initialize

@pytest.mark.parametrize("name", ["pre-receive", "post-receive"])
def test_shipped_hooks_are_executable_and_found(name):
    assert os.access(REPO_HOOKS / name, os.X_OK)
    assert pgit.hook_source(name) == (REPO_HOOKS / name).read_text()


def test_hooks_are_shims(dokku):
    for name in pgit.HOOKS:
        code = [line for line in (REPO_HOOKS / name).read_text().splitlines() if line and not line.startswith("#")]
        assert code[-1].startswith('exec "$DOKKU_BIN" git-hook ')
        assert len(code) <= 8


def test_initialize_makes_a_bare_repo_with_hooks(dokku, app):
    r = dokku.ok("git:initialize", app)
    assert f"-----> Initializing git repository for {app}" in r.out
    repo = dokku.root / app
    assert (repo / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert subprocess.run(["git", f"--git-dir={repo}", "rev-parse", "--is-bare-repository"],
                          capture_output=True, text=True).stdout.strip() == "true"
    for name in pgit.HOOKS:
        hook = repo / "hooks" / name
        assert os.access(hook, os.X_OK)
        values = dict(line.split("=", 1) for line in hook.read_text().splitlines()
                      if line.startswith(("DOKKU_BIN=", "DEFAULT_DOKKU_LIB_ROOT=")))
        dokku_bin = shlex.split(values["DOKKU_BIN"])[0]
        assert os.path.isabs(dokku_bin) and os.access(dokku_bin, os.X_OK)
        assert shlex.split(values["DEFAULT_DOKKU_LIB_ROOT"])[0] == str(dokku.lib)


def test_initialize_again_changes_nothing(dokku, repo, app):
    before = dokku.snapshot()
    dokku.ok("git:initialize", app)
    assert dokku.snapshot() == before


def test_initialize_needs_an_existing_app(dokku):
    dokku.refuses("git:initialize", "missing-app", code=20, message="App missing-app does not exist")
    dokku.refuses("git:initialize", message="Please specify an app to run the command on")


# ---------------------------------------------------------------- local-path pushes and the deploy branch

def test_first_push_sets_the_deploy_branch_and_a_failed_deploy_rejects_it(dokku, app, repo, src, git_env):
    r = push(git_env, src, repo, "main")
    assert r.code != 0
    assert "remote: -----> Set main as deploy-branch" in r.err
    assert f"remote: {WARN}" in r.err                      # the deploy's error, relayed as it happened
    assert "pre-receive hook declined" in r.err
    assert bare_sha(dokku, app, "refs/heads/main") is None  # the push was rejected
    assert dokku.ok("git:report", app, "--git-deploy-branch").out.strip() == "main"


def test_push_to_another_branch_is_accepted_and_not_deployed(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "deploy-branch", "production")
    r = push(git_env, src, repo, "main")
    assert r.code == 0, r.err
    assert "remote: -----> WARNING: deploy did not complete, you must push to production." in r.err
    assert "Set main as deploy-branch" not in r.err
    assert bare_sha(dokku, app, "refs/heads/main") == run_git(git_env, "rev-parse", "HEAD", cwd=src).out.strip()


def test_global_deploy_branch_applies_until_the_app_sets_its_own(dokku, app, repo, src, git_env):
    dokku.ok("git:set", "--global", "deploy-branch", "release")
    r = push(git_env, src, repo, "main")
    assert r.code == 0, r.err
    assert "you must push to release." in r.err
    report = dokku.ok_json("git:report", app, "--format", "json")
    assert report["git-deploy-branch"] == "release"
    assert report["git-global-deploy-branch"] == "release"
    dokku.ok("git:set", app, "deploy-branch", "staging")
    assert dokku.ok("git:report", app, "--git-deploy-branch").out.strip() == "staging"
    assert (dokku.root / app / "HEAD").read_text() == "ref: refs/heads/staging\n"


def test_pushing_several_branches_warns_for_each_other_branch(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "deploy-branch", "production")
    run_git(git_env, "branch", "feature", cwd=src)
    r = push(git_env, src, repo, "main", "feature")
    assert r.code == 0, r.err
    assert r.err.count("you must push to production.") == 2


def test_deleting_a_branch_deploys_nothing(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "deploy-branch", "production")
    assert push(git_env, src, repo, "main:feature").code == 0
    dokku.ok("git:set", app, "deploy-branch", "feature")
    r = push(git_env, src, repo, ":feature")
    assert r.code == 0, r.err          # a deploy would have failed (no engine) and rejected this
    assert WARN not in r.err
    assert bare_sha(dokku, app, "refs/heads/feature") is None


def test_tags_deploy_nothing(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "deploy-branch", "main")
    run_git(git_env, "tag", "v1", cwd=src)
    r = push(git_env, src, repo, "v1")
    assert r.code == 0, r.err
    assert bare_sha(dokku, app, "refs/tags/v1")


def test_the_hook_needs_none_of_dokkus_environment(dokku, app, repo, src, git_env):
    """A local-path push from a shell that has neither dokku on PATH nor DOKKU_*: the hook finds
    dokku, the app and its settings by itself."""
    dokku.ok("git:set", app, "deploy-branch", "production")
    bare = {k: v for k, v in git_env.items() if not k.startswith("DOKKU_")}
    bare["PATH"] = os.pathsep.join(str(Path(shutil.which(w)).parent) for w in ("git", "env"))
    r = push(bare, src, repo, "main")
    assert r.code == 0, r.err
    assert "you must push to production." in r.err


def test_post_receive_mode_accepts_the_push_whatever_the_deploy_does(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "receive-mode", "post-receive")
    dokku.ok("git:set", app, "deploy-branch", "main")
    r = push({**git_env, "DOKKU_RECEIVE_STREAM_SECONDS": "60"}, src, repo, "main")
    assert r.code == 0, r.err
    assert f"remote: {WARN}" in r.err                      # the deploy ran after the update, and failed
    assert bare_sha(dokku, app, "refs/heads/main")


# ---------------------------------------------------------------- the hook itself

def test_hook_refuses_a_push_that_lost_the_race(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "deploy-branch", "production")
    assert push(git_env, src, repo, "main").code == 0
    dokku.ok("git:set", app, "deploy-branch", "main")
    stale = "1" * 40
    r = dokku("git-hook", app, input=f"{stale} {'2' * 40} refs/heads/main\n", env={"DOCKER_HOST": git_env["DOCKER_HOST"]})
    assert r.code == 1
    assert f"{WARN}another push updated main first: pull and push again" in r.err


def test_hook_waits_for_the_previous_push_to_move_the_branch(dokku, app, repo, src, git_env):
    """The previous push deployed and left its hook, and git has not moved the ref yet: the next
    push must not deploy over it."""
    dokku.ok("git:set", app, "deploy-branch", "production")
    assert push(git_env, src, repo, "main").code == 0
    dokku.ok("git:set", app, "deploy-branch", "main")
    old = bare_sha(dokku, app, "refs/heads/main")
    newer = commit(git_env, src, "second")
    assert push(git_env, src, repo, "main:scratch").code == 0        # its objects, not its ref
    from pipeline import store
    store.put("git", app, "last-push", f'{{"ref": "refs/heads/main", "old": "{old}", "new": "{newer}", "at": {time.time()}}}')

    def git_moves_the_ref():
        time.sleep(1)
        subprocess.run(["git", f"--git-dir={repo}", "update-ref", "refs/heads/main", newer, old], check=True)
    mover = threading.Thread(target=git_moves_the_ref)
    mover.start()
    started = time.monotonic()
    r = dokku("git-hook", app, input=f"{old} {'3' * 40} refs/heads/main\n", env={"DOCKER_HOST": git_env["DOCKER_HOST"]})
    mover.join()
    assert r.code == 1
    assert "another push updated main first" in r.err
    assert 0.9 < time.monotonic() - started < pgit.CLAIM_SECONDS


def test_hook_refuses_garbage_input(dokku, app, repo):
    r = dokku("git-hook", app, input="not a ref update\n")
    assert r.code == 1
    assert f"{WARN}Unexpected hook input" in r.err


# ---------------------------------------------------------------- git-receive-pack / git-upload-pack, as sshd calls them

def ssh_stand_in(tmp_path: Path) -> Path:
    """A GIT_SSH program that does what sshd + the authorized_keys forced command do: run dokku
    with no arguments and the remote command in SSH_ORIGINAL_COMMAND."""
    script = tmp_path / "fake-ssh"
    script.write_text('#!/usr/bin/env bash\nfor last; do :; done\n'
                      f'SSH_ORIGINAL_COMMAND="$last" exec {shlex.join(DOKKU_CMD)}\n')
    script.chmod(0o755)
    return script


@pytest.fixture
def ssh_env(git_env, tmp_path) -> dict:
    return {**git_env, "GIT_SSH": str(ssh_stand_in(tmp_path)), "GIT_SSH_VARIANT": "simple"}


@pytest.mark.parametrize("remote", ["dokku@dokku.test:node-js-app", "ssh://dokku@dokku.test/node-js-app.git",
                                    "dokku@dokku.test:/node-js-app"])
def test_first_push_over_ssh_creates_the_app(dokku, src, ssh_env, remote):
    dokku.ok("git:set", "--global", "deploy-branch", "production")
    r = push(ssh_env, src, remote, "main")
    assert r.code == 0, r.err
    assert "-----> Creating node-js-app..." in r.err
    assert "remote: -----> WARNING: deploy did not complete, you must push to production." in r.err
    dokku.ok("apps:exists", "node-js-app")
    assert bare_sha(dokku, "node-js-app", "refs/heads/main")
    again = push(ssh_env, src, remote, "main:other")
    assert again.code == 0 and "Creating" not in again.err


def test_push_over_git_ext_transport(dokku, src, git_env):
    """`git-receive-pack <app>` on stdin/stdout, the way sshd runs it."""
    dokku.ok("git:set", "--global", "deploy-branch", "production")
    remote = "ext::" + " ".join(DOKKU_CMD) + " %S ext-app"
    r = push(git_env, src, remote, "main", options=("-c", "protocol.ext.allow=always"))
    assert r.code == 0, r.err
    assert bare_sha(dokku, "ext-app", "refs/heads/main")


def test_clone_over_ssh_gets_the_pushed_tree(dokku, src, ssh_env, tmp_path):
    dokku.ok("git:set", "--global", "deploy-branch", "production")
    assert push(ssh_env, src, "dokku@dokku.test:node-js-app", "main").code == 0
    r = run_git(ssh_env, "clone", "-b", "main", "dokku@dokku.test:node-js-app", str(tmp_path / "copy"), cwd=tmp_path)
    assert r.code == 0, r.err
    assert (tmp_path / "copy" / "Procfile").read_text() == (src / "Procfile").read_text()


def test_clone_of_an_unknown_app_says_so(dokku, ssh_env, tmp_path):
    r = run_git(ssh_env, "clone", "dokku@dokku.test:missing-app", str(tmp_path / "copy"), cwd=tmp_path)
    assert r.code != 0
    assert f"{WARN}App missing-app does not exist" in r.err


@pytest.mark.parametrize("name", ["Bad_App", "a:b", "../etc"])
def test_receive_pack_refuses_bad_app_names(dokku, src, ssh_env, name):
    r = push(ssh_env, src, f"dokku@dokku.test:{name}", "main")
    assert r.code != 0
    assert WARN in r.err
    assert [p.name for p in dokku.root.iterdir()] == []


# ---------------------------------------------------------------- git:set and git:report

def test_set_and_unset(dokku, app):
    dokku.ok("git:set", app, "deploy-branch", "main")
    dokku.ok("git:set", app, "receive-mode", "post-receive")
    report = dokku.ok_json("git:report", app, "--format", "json")
    assert report["git-deploy-branch"] == "main"
    assert report["git-receive-mode"] == "post-receive"
    r = dokku.ok("git:set", app, "receive-mode")
    assert "=====> Unsetting receive-mode" in r.out
    dokku.ok("git:set", app, "deploy-branch")
    report = dokku.ok_json("git:report", app, "--format", "json")
    assert report["git-deploy-branch"] == ""
    assert report["git-receive-mode"] == "pre-receive"


def test_global_receive_mode(dokku, app):
    dokku.ok("git:set", "--global", "receive-mode", "post-receive")
    assert dokku.ok("git:report", app, "--git-receive-mode").out.strip() == "post-receive"
    assert dokku.ok("git:report", app, "--git-global-receive-mode").out.strip() == "post-receive"


@pytest.mark.parametrize("args,message", [
    (["receive-mode", "sometimes"], 'Invalid receive-mode "sometimes": use pre-receive or post-receive'),
    (["deploy-branch", "bad..name"], 'Invalid branch name "bad..name"'),
    (["deploy-branch", "has space"], 'Invalid branch name "has space"'),
    (["colour", "red"], "Invalid key: valid keys are deploy-branch, receive-mode"),
])
def test_set_refuses_bad_values(dokku, app, args, message):
    dokku.refuses("git:set", app, *args, message=message)
    dokku.refuses("git:set", "--global", *args, message=message)


def test_set_on_a_missing_app(dokku):
    dokku.refuses("git:set", "missing-app", "deploy-branch", "main", code=20)


def test_report_text_and_sha(dokku, app, repo, src, git_env):
    dokku.ok("git:set", app, "deploy-branch", "production")
    assert push(git_env, src, repo, "main:production").code != 0      # deploy fails: nothing stored
    assert dokku.ok("git:report", app, "--git-sha").out.strip() == ""
    dokku.ok("git:set", app, "deploy-branch", "main")
    dokku.ok("git:set", app, "receive-mode", "post-receive")
    assert push(git_env, src, repo, "main").code == 0
    sha = run_git(git_env, "rev-parse", "HEAD", cwd=src).out.strip()
    assert dokku.ok("git:report", app, "--git-sha").out.strip() == sha
    lines = dokku.ok("git:report", app).out.splitlines()
    assert lines[0] == f"=====> {app} git information"
    assert f"       {'Git sha:':<31}{sha}" in lines
    assert f"       {'Git deploy branch:':<31}main" in lines


def test_report_flags(dokku, app):
    r = dokku.refuses("git:report", app, "--git-nope")
    assert "--git-deploy-branch, --git-global-deploy-branch" in r.err


def test_help_lists_the_commands(dokku):
    out = dokku.ok("git:help").out
    for command in ("git:initialize", "git:set", "git:report"):
        assert f"dokku {command}" in out


# ---------------------------------------------------------------- the source the builder reads

@pytest.fixture
def pushed(dokku, app, repo, src, git_env) -> str:
    """The app's repo holding src's main (accepted on a non-deploy branch)."""
    dokku.ok("git:set", app, "deploy-branch", "production")
    run_git(git_env, "tag", "-a", "v1", "-m", "v1", cwd=src)
    assert push(git_env, src, repo, "main", "v1").code == 0
    return run_git(git_env, "rev-parse", "HEAD", cwd=src).out.strip()


def test_export_tar_is_the_commit_tree(app, pushed):
    with tarfile.open(fileobj=io.BytesIO(pgit.export_tar(app, pushed))) as tar:
        names = tar.getnames()
        assert sorted(n for n in names if tar.getmember(n).isfile()) == ["Procfile", "lib/app.py"]
        assert tar.getmember("main.py").issym()
        assert tar.extractfile("Procfile").read() == b"web: python -m http.server $PORT\n"


@pytest.mark.parametrize("rev", ["main", "refs/heads/main", "v1"])
def test_revisions_resolve_to_the_commit(app, pushed, rev):
    assert pgit.resolve(app, rev) == pushed


def test_read_file(app, pushed):
    assert pgit.read_file(app, pushed, "Procfile") == b"web: python -m http.server $PORT\n"
    assert pgit.read_file(app, pushed, "lib/app.py") == b"print('hi')\n"
    assert pgit.read_file(app, pushed, "main.py") == b"print('hi')\n"          # symlink, followed
    for absent in ("Dockerfile", "lib", "lib/missing", "Procfile/x", "../etc/passwd"):
        assert pgit.read_file(app, pushed, absent) is None


def test_unknown_revision(app, pushed):
    with pytest.raises(errors.DokkuError, match="No commit 'nope'"):
        pgit.export_tar(app, "nope")
    with pytest.raises(errors.DokkuError, match="No commit"):
        pgit.read_file(app, "f" * 40, "Procfile")


def test_the_pushed_commit_is_readable_inside_pre_receive(dokku, app, repo, src, git_env, tmp_path):
    """In pre-receive the pushed objects are still in git's quarantine: the deploy that runs there
    must read them. This repo's hook (a test stand-in for the deploy) exports and reads them."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import io, sys, tarfile\n"
        "from pipeline import git\n"
        "old, new, ref = sys.stdin.read().split()\n"
        f"names = tarfile.open(fileobj=io.BytesIO(git.export_tar({app!r}, new))).getnames()\n"
        f"print('PROBE', sorted(names), git.read_file({app!r}, new, 'Procfile'))\n")
    hook = Path(repo) / "hooks" / "pre-receive"
    python = _python_of(DOKKU_CMD[0]) if DOKKU_CMD[0].endswith("dokku") else DOKKU_CMD[0]
    hook.write_text(f"#!/usr/bin/env bash\nexec {shlex.quote(python)} {probe}\n")
    r = push(git_env, src, repo, "main")
    assert r.code == 0, r.err
    assert "PROBE ['Procfile', 'lib', 'lib/app.py', 'main.py'] b'web: python -m http.server $PORT\\n'" in r.err


def _python_of(script: str) -> str:
    """The interpreter a console script runs on (its shebang)."""
    first = Path(script).read_text().splitlines()[0]
    return first[2:].split()[0]
