"""Persistent storage on a real engine: a host directory mounted into the app's containers,
owned by the app user, written through the app, surviving `ps:rebuild`, gone from the container
(never from the host) after unmount; a missing source fails the deploy before anything running is
touched; `DOKKU_APP_USER` moves processes and mount ownership; `apps:destroy` keeps host data.

One stdlib-web app serves the whole module; the tests run in file order and leave the app as
they found it (deployed, with no mounts), except the last, which destroys it."""
import pytest

from tests.e2e.conftest import HEROKUISH_UID, docker

NOBODY_UID = 65534


@pytest.fixture(scope="module")
def app(platform):
    name = platform.new_app("st")
    platform.pushed(name, platform.repo("stdlib-web"))
    return name


def mounts_at(container: dict, target: str) -> list[dict]:
    return [m for m in container["Mounts"] if m["Destination"] == target]


def test_mount_write_rebuild_read_unmount(platform, app):
    out = platform.ok("storage:ensure-directory", app)
    host = platform.storage(app)
    assert f"Ensuring {host} exists" in out.out, str(out)
    assert host.is_dir()
    assert (host.stat().st_uid, host.stat().st_gid) == (HEROKUISH_UID, HEROKUISH_UID)

    platform.ok("storage:mount", app, f"{host}:/storage", "--restart")
    web = platform.web(app)
    assert [m["Source"] for m in mounts_at(web, "/storage")] == [str(host)]

    assert platform.get(app, "/write?name=hello.txt&data=persisted")[0] == 200
    written = host / "hello.txt"
    assert written.read_text() == "persisted"
    assert (written.stat().st_uid, written.stat().st_gid) == (HEROKUISH_UID, HEROKUISH_UID)

    # run-phase containers get the same mount, with the same owner
    r = platform.ok("run", app, "ls", "-ln", "/storage")
    assert f"{HEROKUISH_UID} {HEROKUISH_UID}" in " ".join(r.out.split()), r.out

    platform.ok("ps:rebuild", app)
    rebuilt = platform.web(app)
    assert rebuilt["Id"] != web["Id"]
    assert platform.get(app, "/read?name=hello.txt") == (200, "persisted")

    platform.ok("storage:unmount", app, f"{host}:/storage", "--restart")
    after = platform.web(app)
    assert mounts_at(after, "/storage") == []
    assert platform.get(app, "/read?name=hello.txt")[0] != 200
    assert written.read_text() == "persisted", "unmount must never delete host data"


def test_missing_mount_source_fails_before_touching_the_running_release(platform, app):
    before = platform.web(app)
    missing = platform.storage("never-created")
    r = platform("storage:mount", app, f"{missing}:/data")
    assert r.code == 0, str(r)  # accepted with a warning: the directory is never created implicitly
    assert not missing.exists()
    try:
        r = platform.fails("ps:restart", app)
        assert str(missing) in r.err, str(r)
        assert "storage:ensure-directory" in r.err, str(r)
        assert not missing.exists()
        after = platform.web(app)
        assert after["Id"] == before["Id"]
        assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
        assert len(platform.containers(app)) == 1, "no new container may be left behind"
        assert platform.get(app, "/")[0] == 200
        # the run phase refuses it the same way, before creating a container
        r = platform.fails("run", app, "true")
        assert str(missing) in r.err and "storage:ensure-directory" in r.err, str(r)
    finally:
        platform.ok("storage:unmount", app, f"{missing}:/data")


def test_app_user_moves_processes_and_mount_owner(platform, app):
    host = platform.storage(app)
    platform.ok("storage:mount", app, f"{host}:/storage")
    try:
        platform.ok("config:set", app, "DOKKU_APP_USER=nobody")  # restarts the deployed app
        web = platform.web(app)
        assert platform.top_uids(web["Id"]) == {NOBODY_UID}
        assert platform.get(app, "/whoami") == (200, f"{NOBODY_UID} {NOBODY_UID}")
        assert host.stat().st_uid == NOBODY_UID
        assert platform.get(app, "/write?name=by-nobody.txt&data=x")[0] == 200
        assert (host / "by-nobody.txt").stat().st_uid == NOBODY_UID
        # dokku run follows the same user
        r = platform.ok("run", app, "id", "-u")
        assert r.out.strip() == str(NOBODY_UID)

        platform.ok("config:unset", app, "DOKKU_APP_USER")
        web = platform.web(app)
        assert platform.top_uids(web["Id"]) == {HEROKUISH_UID}
        assert host.stat().st_uid == HEROKUISH_UID
        assert (host / "by-nobody.txt").stat().st_uid == HEROKUISH_UID
    finally:
        platform("config:unset", "--no-restart", app, "DOKKU_APP_USER")
        platform.ok("storage:unmount", app, f"{host}:/storage", "--restart")


def test_app_user_that_the_image_lacks_is_refused(platform, app):
    before = platform.web(app)["Id"]
    r = platform("config:set", app, "DOKKU_APP_USER=no-such-user")
    try:
        assert r.code != 0, str(r)
        assert "no-such-user" in r.err
        assert platform.web(app)["Id"] == before
    finally:
        platform("config:unset", "--no-restart", app, "DOKKU_APP_USER")


def test_destroy_removes_containers_and_images_and_keeps_host_data(platform, app):
    host = platform.storage(app)
    keep = host / "hello.txt"
    assert keep.exists()
    assert platform.container_ids(app)
    assert docker("images", "-q", f"dokku/{app}").out.strip()

    platform.ok("--force", "apps:destroy", app)

    assert platform.container_ids(app) == []
    for role in ("run", "build"):
        assert platform.container_ids(app, role=role) == []
    assert docker("images", "-q", f"dokku/{app}").out.strip() == ""
    assert docker("volume", "inspect", f"dokku-cache-{app}").code != 0, "the build cache volume should go too"
    assert not (platform.root / app).exists()
    assert keep.read_text() == "persisted"
    assert platform("apps:exists", app).code != 0
