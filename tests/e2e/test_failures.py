"""A failed build or deploy rejects the push and keeps the running release; two pushes at once
serialize and leave one consistent release (the branch, the labels and the one web container
agree, and the app answers)."""
import shutil
import subprocess
import time

import pytest

from tests.e2e.conftest import PUSH_TIMEOUT, SAMPLES, Result


@pytest.fixture(scope="module")
def app(platform):
    name = platform.new_app("fail")
    repo = platform.repo("stdlib-web")
    platform.pushed(name, repo)
    return name, repo


def replace_tree(repo, sample: str) -> None:
    """Make the working tree exactly samples/<sample> (what a user's broken commit would be)."""
    for child in repo.path.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(SAMPLES / sample, repo.path, dirs_exist_ok=True)


def assert_old_release_serves(platform, app: str, before: dict, good: str) -> None:
    web = platform.web(app)
    assert web["Id"] == before["Id"], "the running release was replaced"
    assert web["Name"] == f"/{app}.web.1", "the old container keeps (or gets back) its name"
    assert web["State"]["StartedAt"] == before["State"]["StartedAt"], "the running release was restarted"
    assert platform.get(app, "/") == (200, f"stdlib-web ok {good}")
    assert platform.deployed_ref(app) == good, "the rejected push must not move the branch"
    assert len(platform.containers(app)) == 1, [c["Name"] for c in platform.containers(app)]
    assert platform.container_ids(app, role="build") == [], "the build container is removed"


def test_failing_compile_rejects_push_and_keeps_old_release(platform, app):
    name, repo = app
    good = repo.head()
    before = platform.web(name)
    try:
        replace_tree(repo, "failing-build")
        repo.commit("broken build")
        r = platform.push(name, repo)
        assert r.code != 0, str(r)
        assert "-----> " in r.err, "the build log streams back even when it fails"
        assert "Failed to compile" in r.err, str(r)
        assert_old_release_serves(platform, name, before, good)
    finally:
        repo.git("reset", "-q", "--hard", good)


def test_crashing_web_process_rejects_push_and_keeps_old_release(platform, app):
    name, repo = app
    good = repo.head()
    before = platform.web(name)
    try:
        repo.write("Procfile", "web: exit 1\n")
        repo.commit("web crashes at start")
        started = time.monotonic()
        r = platform.push(name, repo)
        assert r.code != 0, str(r)
        assert time.monotonic() - started < 120, "a crash should be noticed without waiting out the checks"
        assert f"{name}.web.1" in r.err, str(r)
        assert_old_release_serves(platform, name, before, good)
    finally:
        repo.git("reset", "-q", "--hard", good)


def test_two_pushes_at_once_end_consistent(platform, app, tmp_path):
    name, repo = app
    clones = []
    for label in ("a", "b"):
        clone = repo.clone_to(tmp_path / label)
        clone.write("VERSION", label + "\n")
        # a web process that takes 2s to answer keeps the first deploy busy long enough that the
        # second push surely arrives while it runs, even on a loaded machine
        clone.write("Procfile", "web: sleep 2 && exec python3 app.py\n")
        clone.commit(f"release {label}")
        clones.append(clone)
    procs = []
    for clone in clones:
        procs.append(subprocess.Popen(
            ["git", "push", "--force", str(platform.app_repo_path(name)), "HEAD:refs/heads/main"],
            cwd=clone.path, env=platform.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=PUSH_TIMEOUT)
        results.append(Result(proc.returncode, out, err))
    assert any(r.code == 0 for r in results), "\n\n".join(map(str, results))
    losers = [r for r in results if r.code != 0]
    for loser in losers:
        # it waited for the first deploy, then saw the branch had moved: rejected, nothing deployed
        assert "Waiting for another deploy" in loser.err, str(loser)
        assert "pull and push again" in loser.err, str(loser)
        assert "Releasing" not in loser.err, str(loser)

    ref = platform.deployed_ref(name)
    heads = {clone.head(): r for clone, r in zip(clones, results, strict=True)}
    assert ref in heads, f"main is {ref}, neither push's commit"
    assert heads[ref].code == 0, "main points at a push that reported failure"

    webs = platform.containers(name, "web")
    assert len(webs) == 1, f"exactly one web container, got {[c['Name'] for c in webs]}"
    assert webs[0]["State"]["Running"]
    assert webs[0]["Config"]["Labels"]["com.dokku.release"] == ref, "the running release is not main's commit"
    assert platform.get(name, "/") == (200, f"stdlib-web ok {ref}")
    assert len(platform.containers(name)) == 1
    releases = {c["Config"]["Labels"]["com.dokku.release"] for c in platform.containers(name)}
    assert releases == {ref}
    repo.git("fetch", "-q", str(platform.app_repo_path(name)), "main")
    repo.git("reset", "-q", "--hard", ref)


def test_push_with_missing_mount_source_fails_before_touching_the_release(platform, app):
    name, repo = app
    good = repo.head()
    before = platform.web(name)
    missing = platform.storage(f"{name}-missing")
    platform.ok("storage:mount", name, f"{missing}:/storage")
    try:
        repo.commit("a release that cannot mount its storage")
        r = platform.push(name, repo)
        assert r.code != 0, str(r)
        assert str(missing) in r.err and "storage:ensure-directory" in r.err, str(r)
        assert not missing.exists()
        assert_old_release_serves(platform, name, before, good)
    finally:
        platform.ok("storage:unmount", name, f"{missing}:/storage")
        repo.git("reset", "-q", "--hard", good)
