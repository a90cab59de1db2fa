"""Automation around the push (issue 5), on the real engine with real git:

- post-receive mode: the push returns before the deploy ends; the deploy finishes on its own, even
  when the pusher hangs up; its output reaches a pusher that stays (DOKKU_RECEIVE_STREAM_SECONDS);
  two quick pushes end with the later commit deployed; a failing build leaves the old release
  serving and the failure in the kept log.
- `git:sync --build` from a second local repository deploys its commit; a missing ref fails
  clearly and touches nothing.
- executable plugins: `docker-args-deploy` adds a label the web container carries; a failing
  `pre-deploy` stops the deploy with its message; a disabled plugin is not called.
- app.json `scripts.dokku.predeploy` writes into a run-phase mount before the new web container
  starts; a failing predeploy leaves the old release answering.

Every app serves stdlib-web (standard library only: a build takes seconds). The apps that check
which commit runs set STORAGE_DIR=/app, so `GET /read?name=VERSION` answers the VERSION file of
the deployed commit. Tests in one section share an app and run in file order.
"""
import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import PUSH_TIMEOUT, SAMPLES, wait_for

DEPLOY_TIMEOUT = 600
SLOW_WEB = "web: sleep 3 && exec python3 app.py\n"


# ---------------------------------------------------------------- helpers


def git_report(platform, app: str) -> dict:
    return json.loads(platform.ok("git:report", app, "--format", "json").out)


def wait_for_deploy(platform, app: str, timeout: float = DEPLOY_TIMEOUT) -> dict:
    """The git report once the last recorded deploy is no longer running."""
    deadline = time.monotonic() + timeout
    report = git_report(platform, app)
    while report["git-last-deploy-status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        report = git_report(platform, app)
    assert report["git-last-deploy-status"] != "running", f"the deploy of {app} did not end: {report}"
    return report


def kept_log(report: dict) -> str:
    return Path(report["git-last-deploy-log"]).read_text(errors="replace")


def version(platform, app: str) -> str:
    """The VERSION file of the commit the web container runs (STORAGE_DIR=/app)."""
    status, body = platform.answers(app, "/read?name=VERSION")
    assert status == 200, (status, body)
    return body.strip()


def release_of(platform, app: str) -> str:
    return platform.web(app)["Config"]["Labels"]["com.dokku.release"]


def new_commit(repo, label: str) -> str:
    repo.write("VERSION", label + "\n")
    return repo.commit(f"version {label}")


def replace_tree(repo, sample: str) -> None:
    for child in repo.path.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(SAMPLES / sample, repo.path, dirs_exist_ok=True)


def docker_time(text: str) -> float:
    """Docker's RFC 3339 time with nanoseconds, as epoch seconds."""
    head, _, rest = text.rstrip("Z").partition(".")
    fraction = float("0." + (rest[:9] or "0"))
    return datetime.fromisoformat(head + "+00:00").timestamp() + fraction


def assert_old_release_serves(platform, app: str, before: dict, label: str) -> None:
    web = platform.web(app)
    assert web["Id"] == before["Id"], "the running release was replaced"
    assert web["State"]["StartedAt"] == before["State"]["StartedAt"], "the running release was restarted"
    assert version(platform, app) == label
    assert len(platform.containers(app)) == 1, [c["Name"] for c in platform.containers(app)]


# ---------------------------------------------------------------- post-receive mode


@pytest.fixture(scope="module")
def pr(platform):
    """An app in post-receive mode, not deployed yet, and its source."""
    app = platform.new_app("pr")
    platform.ok("apps:create", app)
    platform.ok("git:initialize", app)
    platform.ok("git:set", app, "receive-mode", "post-receive")
    platform.ok("config:set", "--no-restart", app, "STORAGE_DIR=/app")
    # The web process takes a few seconds to answer, so every deploy of this app outlasts its push
    # by far: "the push returned while the deploy ran" cannot pass by luck of timing.
    repo = platform.repo("stdlib-web", files={"VERSION": "one\n", "Procfile": SLOW_WEB})
    return app, repo


def test_post_receive_push_returns_before_the_deploy_ends(platform, pr):
    app, repo = pr
    started = time.monotonic()
    push = platform.pushed(app, repo)
    pushed_in = time.monotonic() - started
    report = git_report(platform, app)
    assert report["git-last-deploy-status"] == "running", f"the push waited for the deploy: {report}\n{push}"
    assert platform.container_ids(app) == [], "no process container may exist yet"
    assert report["git-last-deploy-sha"] == repo.head()
    assert f"Deploying {app} at {repo.head()[:7]} in the background" in push.err, str(push)
    assert f"dokku logs:deploy {app} -t" in push.err
    assert platform.deployed_ref(app) == repo.head(), "post-receive: the push is accepted first"

    report = wait_for_deploy(platform, app)
    deployed_in = time.monotonic() - started
    assert report["git-last-deploy-status"] == "success", kept_log(report)
    assert pushed_in + 2 < deployed_in, f"push took {pushed_in:.1f}s, the deploy {deployed_in:.1f}s"
    assert version(platform, app) == "one"
    assert release_of(platform, app) == repo.head()


def test_the_deploy_log_is_kept(platform, pr):
    app, repo = pr
    report = git_report(platform, app)
    path = Path(report["git-last-deploy-log"])
    assert path.parent == platform.lib / "data" / "deploy-logs" / app
    assert path.name.endswith(f"-{repo.head()[:7]}.log")
    text = path.read_text()
    assert f"-----> Deploying {app} at {repo.head()[:7]}" in text
    assert "Releasing" in text and "Application deployed" in text
    record = json.loads((platform.lib / "config" / "git" / app / "last-deploy").read_text())
    assert record["status"] == "success" and record["started"] and record["finished"]
    logs = platform("logs:deploy", app)
    if "is not a dokku command" not in logs.err:   # routed by the registry (the lead's change)
        assert logs.code == 0, str(logs)
        assert logs.out == text


def test_a_connected_pusher_sees_the_deploy(platform, pr):
    app, repo = pr
    head = new_commit(repo, "two")
    env = {**platform.env, "DOKKU_RECEIVE_STREAM_SECONDS": str(DEPLOY_TIMEOUT)}
    push = repo.git("push", str(platform.app_repo_path(app)), "HEAD:refs/heads/main", env=env, timeout=PUSH_TIMEOUT)
    assert push.code == 0, str(push)
    assert f"remote: -----> Deploying {app} at {head[:7]}" in push.err, str(push)
    assert "remote: =====> Application deployed" in push.err, str(push)
    assert "remote: -----> Deploy finished" in push.err, str(push)
    assert git_report(platform, app)["git-last-deploy-status"] == "success"
    assert version(platform, app) == "two"


def test_the_deploy_survives_the_pusher_hanging_up(platform, pr, tmp_path):
    """The pusher streams the deploy, then its whole process group (git push, receive-pack, the
    hook) gets SIGHUP, as when a terminal or an SSH connection goes: the deploy carries on."""
    app, repo = pr
    head = new_commit(repo, "three")
    env = {**platform.env, "DOKKU_RECEIVE_STREAM_SECONDS": str(DEPLOY_TIMEOUT)}
    err_file = tmp_path / "push.err"
    with open(err_file, "wb") as err:
        pusher = subprocess.Popen(["git", "push", str(platform.app_repo_path(app)), "HEAD:refs/heads/main"],
                                  cwd=repo.path, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                  start_new_session=True)
    try:
        streaming = wait_for(lambda: "remote: -----> Building" in err_file.read_text(errors="replace"), timeout=120)
        assert streaming, f"the pusher never saw the build: {err_file.read_text(errors='replace')}"
        os.killpg(pusher.pid, signal.SIGHUP)
        try:
            pusher.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(pusher.pid, signal.SIGKILL)
            pusher.wait()
    finally:
        if pusher.poll() is None:
            os.killpg(pusher.pid, signal.SIGKILL)
            pusher.wait()
    assert pusher.returncode != 0, "the pusher was meant to be cut off mid-deploy"
    assert git_report(platform, app)["git-last-deploy-status"] == "running"

    report = wait_for_deploy(platform, app)
    assert report["git-last-deploy-status"] == "success", kept_log(report)
    assert report["git-last-deploy-sha"] == head
    assert version(platform, app) == "three"
    assert release_of(platform, app) == head
    assert "Application deployed" in kept_log(report)


def test_two_quick_pushes_end_with_the_later_commit(platform, pr):
    app, repo = pr
    logs_before = set((platform.lib / "data" / "deploy-logs" / app).iterdir())
    first = new_commit(repo, "four")
    platform.pushed(app, repo)
    second = new_commit(repo, "five")
    platform.pushed(app, repo)
    report = git_report(platform, app)
    assert report["git-last-deploy-status"] == "running", "the second push came during the first deploy"
    assert release_of(platform, app) not in (first, second), "the first deploy is still under way"

    report = wait_for_deploy(platform, app)
    assert report["git-last-deploy-status"] == "success", kept_log(report)
    assert report["git-last-deploy-sha"] == second
    assert wait_for(lambda: release_of(platform, app) == second, timeout=DEPLOY_TIMEOUT, interval=1)
    # The first push's deploy either deployed `second` already (it reads the branch once it holds
    # the deploy lock) or stands aside: an older commit never ends up deployed last.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert release_of(platform, app) == second
        assert version(platform, app) == "five"
        time.sleep(1)
    assert len(platform.containers(app, "web")) == 1
    assert platform.deployed_ref(app) == second
    new_logs = set((platform.lib / "data" / "deploy-logs" / app).iterdir()) - logs_before
    assert len(new_logs) == 2, f"one kept log per push: {new_logs}"


def test_failing_build_leaves_the_old_release_and_keeps_the_failure(platform, pr):
    app, repo = pr
    good = repo.head()
    before = platform.web(app)
    try:
        replace_tree(repo, "failing-build")
        broken = repo.commit("broken build")
        push = platform.pushed(app, repo)      # post-receive: accepted whatever the build does
        assert "in the background" in push.err
        report = wait_for_deploy(platform, app)
        assert report["git-last-deploy-status"] == "failed"
        assert report["git-last-deploy-sha"] == broken
        text = kept_log(report)
        assert "Build failed" in text, text
        assert " !     " in text
        assert_old_release_serves(platform, app, before, "five")
        assert release_of(platform, app) == good
        assert platform.deployed_ref(app) == broken, "post-receive accepted the push"
        assert platform.container_ids(app, role="build") == [], "the build container is removed"
    finally:
        repo.git("reset", "-q", "--hard", good)
    # Back to the good commit (already the running release): the deploy has nothing to do.
    assert platform.push(app, repo, force=True).code == 0
    report = wait_for_deploy(platform, app)
    assert report["git-last-deploy-status"] == "success"
    assert "deployed already: nothing to do" in kept_log(report)
    assert_old_release_serves(platform, app, before, "five")


def test_post_receive_over_ssh_returns_and_deploys(platform):
    """Over SSH the session ends with the push: sshd neither waits for the deploy nor takes it
    down with the session."""
    platform.start_sshd()
    platform.ok("ssh-keys:add", "automation", str(platform.client_key.with_suffix(".pub")))
    app = platform.new_app("prssh")
    platform.ok("apps:create", app)
    platform.ok("git:set", app, "receive-mode", "post-receive")
    repo = platform.repo("stdlib-web", files={"Procfile": SLOW_WEB})
    push = platform.push(app, repo, ssh=True)
    assert push.code == 0, f"{push}\nsshd log:\n{platform.sshd_log()[-3000:]}"
    assert "in the background" in push.err, str(push)
    assert git_report(platform, app)["git-last-deploy-status"] == "running"
    report = wait_for_deploy(platform, app)
    assert report["git-last-deploy-status"] == "success", kept_log(report)
    assert release_of(platform, app) == repo.head()
    assert platform.answers(app, "/")[0] == 200


# ---------------------------------------------------------------- git:sync


@pytest.fixture(scope="module")
def upstream(platform):
    """A second local repository, as another git server would hold it."""
    return platform.repo("stdlib-web", files={"VERSION": "synced\n"})


@pytest.fixture(scope="module")
def synced(platform, upstream):
    app = platform.new_app("sync")
    r = platform("git:sync", "--build", app, str(upstream.path), timeout=PUSH_TIMEOUT)
    return app, r


def test_sync_build_deploys_the_other_repositorys_commit(platform, upstream, synced):
    app, r = synced
    assert r.code == 0, str(r)
    head = upstream.head()
    assert f"-----> Syncing {upstream.path} (main) into {app}" in r.out
    assert f"-----> Updated main to {head[:7]}" in r.out
    assert platform.deployed_ref(app) == head
    assert release_of(platform, app) == head
    assert platform.answers(app, "/")[0] == 200
    report = git_report(platform, app)
    assert (report["git-last-deploy-status"], report["git-last-deploy-sha"]) == ("success", head)


def test_sync_build_of_a_new_commit_replaces_the_release(platform, upstream, synced):
    app, _ = synced
    platform.ok("config:set", app, "STORAGE_DIR=/app")
    head = new_commit(upstream, "synced-two")
    platform.ok("git:sync", "--build", app, str(upstream.path), "main", timeout=PUSH_TIMEOUT)
    assert release_of(platform, app) == head
    assert version(platform, app) == "synced-two"


def test_sync_of_a_missing_ref_fails_clearly(platform, upstream, synced):
    app, _ = synced
    before = platform.web(app)
    r = platform.fails("git:sync", "--build", app, str(upstream.path), "no-such-branch")
    assert r.code == 1
    assert f" !     Ref no-such-branch not found in {upstream.path}" in r.err, str(r)
    assert "Traceback" not in r.err
    assert_old_release_serves(platform, app, before, "synced-two")
    assert platform.deployed_ref(app) == upstream.head()


# ---------------------------------------------------------------- executable plugins


def write_plugin(platform, name: str, point: str, script: str) -> Path:
    program = platform.lib / "plugins" / "available" / name / point
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text(script)
    program.chmod(0o755)
    return program


@pytest.fixture(scope="module")
def plugged(platform):
    app = platform.new_app("plug")
    platform.ok("apps:create", app)
    platform.ok("config:set", "--no-restart", app, "STORAGE_DIR=/app")
    repo = platform.repo("stdlib-web", files={"VERSION": "plain\n"})
    platform.pushed(app, repo)
    markers = platform.base / "markers"
    markers.mkdir(exist_ok=True)
    return app, repo, markers


def test_docker_args_deploy_plugin_labels_the_web_container(platform, plugged):
    app, _, markers = plugged
    write_plugin(platform, "audit", "docker-args-deploy",
                 f'#!/bin/sh\necho "$@" >> {markers / "audit-args"}\necho "--label audit=yes"\n')
    platform.ok("plugin:enable", "audit")
    try:
        platform.ok("ps:restart", app)
        web = platform.web(app)
        assert web["Config"]["Labels"].get("audit") == "yes", web["Config"]["Labels"]
        args = (markers / "audit-args").read_text().split()
        assert args[0] == app and args[2:] == ["web", "1"], args
    finally:
        platform.ok("plugin:disable", "audit")


def test_a_disabled_plugin_is_not_called(platform, plugged):
    app, _, markers = plugged
    (markers / "audit-args").unlink(missing_ok=True)
    listed = json.loads(platform.ok("plugin:list", "--format", "json").out)
    assert {"name": "audit", "enabled": False, "hooks": ["docker-args-deploy"]} in listed
    platform.ok("ps:restart", app)
    assert "audit" not in platform.web(app)["Config"]["Labels"]
    assert not (markers / "audit-args").exists(), "a disabled plugin was called"


def test_failing_pre_deploy_plugin_stops_the_deploy_with_its_message(platform, plugged):
    app, repo, markers = plugged
    write_plugin(platform, "freeze", "pre-deploy",
                 f'#!/bin/sh\ntouch {markers / "freeze-called"}\n'
                 'echo "deploys are frozen until Monday" >&2\nexit 1\n')
    platform.ok("plugin:enable", "freeze")
    before = platform.web(app)
    good = repo.head()
    try:
        new_commit(repo, "frozen")
        r = platform.push(app, repo)
        assert r.code != 0, str(r)
        assert "deploys are frozen until Monday" in r.err, str(r)
        assert (markers / "freeze-called").exists()
        assert_old_release_serves(platform, app, before, "plain")
        assert platform.deployed_ref(app) == good
    finally:
        platform.ok("plugin:disable", "freeze")
    (markers / "freeze-called").unlink()
    pushed = platform.push(app, repo)
    assert pushed.code == 0, str(pushed)
    assert not (markers / "freeze-called").exists(), "a disabled plugin was called"
    assert version(platform, app) == "frozen"


# ---------------------------------------------------------------- predeploy (app.json scripts)


@pytest.fixture(scope="module")
def scripted(platform):
    app = platform.new_app("pre")
    platform.ok("apps:create", app)
    platform.ok("storage:ensure-directory", app)
    host = platform.storage(app)
    platform.ok("storage:mount", app, f"{host}:/storage")
    repo = platform.repo("stdlib-web")
    platform.pushed(app, repo)
    return app, repo, host


def test_predeploy_writes_into_the_mount_before_the_new_web_container(platform, scripted):
    app, repo, host = scripted
    marker = host / "predeploy.txt"
    marker.unlink(missing_ok=True)
    repo.write("app.json", json.dumps(
        {"scripts": {"dokku": {"predeploy": "echo migrated > /storage/predeploy.txt"}}}))
    head = repo.commit("predeploy")
    r = platform.pushed(app, repo)
    assert "predeploy" in r.err, str(r)
    assert marker.read_text() == "migrated\n"
    web = platform.web(app)
    assert web["Config"]["Labels"]["com.dokku.release"] == head
    assert marker.stat().st_mtime < docker_time(web["Created"]), \
        "the predeploy output must be on the host before the new web container is created"
    assert platform.container_ids(app, role="run") == [], "the predeploy container is removed"


def test_failing_predeploy_leaves_the_old_release_answering(platform, scripted):
    app, repo, _ = scripted
    before = platform.web(app)
    good = repo.head()
    try:
        repo.write("app.json", json.dumps({"scripts": {"dokku": {"predeploy": "exit 3"}}}))
        repo.commit("predeploy fails")
        r = platform.push(app, repo)
        assert r.code != 0, str(r)
        assert "predeploy" in r.err and "3" in r.err, str(r)
        web = platform.web(app)
        assert web["Id"] == before["Id"], "the running release was replaced"
        assert platform.get(app, "/")[0] == 200
        assert platform.deployed_ref(app) == good
        assert len(platform.containers(app)) == 1
    finally:
        repo.git("reset", "-q", "--hard", good)
