"""The production path: pushes and commands arrive over SSH as the unprivileged `dokku` user (in
the docker group, owner of DOKKU_ROOT and DOKKU_LIB_ROOT), while an admin runs `dokku` as root
on the host against the same state. Mount ownership is then fixed through a container, since the
dokku user may not chown; state that root wrote must stay writable for the dokku user."""
import os
import pwd

import pytest

from tests.e2e.conftest import HEROKUISH_UID

USER = "dokku"


def chown_tree(path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


@pytest.fixture(scope="module")
def plat(platform):
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"no {USER} user on this host: scripts/install creates it")
    if os.geteuid() != 0:
        pytest.skip("needs root, to give the throwaway DOKKU_ROOT to the dokku user")
    chown_tree(platform.root, entry.pw_uid, entry.pw_gid)
    chown_tree(platform.lib, entry.pw_uid, entry.pw_gid)
    platform.ssh_user = USER
    platform.start_sshd()
    platform.ok("ssh-keys:add", "admin", str(platform.client_key.with_suffix(".pub")))
    return platform


@pytest.fixture(scope="module")
def app(plat):
    name = plat.new_app("du")
    repo = plat.repo("stdlib-web")
    r = plat.push(name, repo, ssh=True)
    assert r.code == 0, f"{r}\nsshd log:\n{plat.sshd_log()[-3000:]}"
    return name, repo


def test_push_as_dokku_user_deploys(plat, app):
    name, repo = app
    assert plat.get(name, "/") == (200, f"stdlib-web ok {repo.head()}")
    assert plat.get(name, "/whoami") == (200, f"{HEROKUISH_UID} {HEROKUISH_UID}")
    assert f"Accepted publickey for {USER}" in plat.sshd_log()
    owner = pwd.getpwnam(USER).pw_uid
    assert (plat.root / name).stat().st_uid == owner, "the repo belongs to the dokku user"


def test_mount_owned_by_root_is_handed_to_the_app_user_without_root(plat, app):
    name, _ = app
    host = plat.storage(f"{name}-data")
    host.mkdir()
    (host / "seed.txt").write_text("seed")
    os.chown(host, 0, 0)
    plat.ok("storage:mount", name, f"{host}:/storage")  # as root, the admin
    r = plat.ssh("ps:restart", name)  # as the dokku user, who may not chown
    assert r.code == 0, str(r)
    assert (host.stat().st_uid, host.stat().st_gid) == (HEROKUISH_UID, HEROKUISH_UID)
    assert (host / "seed.txt").stat().st_uid == HEROKUISH_UID
    assert plat.get(name, "/write?name=w.txt&data=hi") == (200, "hi")
    assert (host / "w.txt").stat().st_uid == HEROKUISH_UID


def test_run_over_ssh_as_dokku_user(plat, app):
    name, _ = app
    r = plat.ssh("run", name, "sh", "-c", "'id -u; cat /storage/seed.txt; exit 4'")
    assert r.code == 4, str(r)
    assert r.out.split() == [str(HEROKUISH_UID), "seed"], str(r)


def test_root_and_dokku_user_take_turns(plat, app):
    """State and locks root created (restart, config) must not lock the dokku user out."""
    name, repo = app
    plat.ok("config:set", name, "FROM_ROOT=1")
    plat.ok("ps:restart", name)
    repo.commit("second push as dokku")
    r = plat.push(name, repo, ssh=True)
    assert r.code == 0, str(r)
    assert plat.get(name, "/") == (200, f"stdlib-web ok {repo.head()}")
    assert plat.get(name, "/env/FROM_ROOT") == (200, "1")
    r = plat.ssh("config:set", name, "FROM_DOKKU=1")
    assert r.code == 0, str(r)
    assert plat.get(name, "/env/FROM_DOKKU") == (200, "1")
    plat.ok("ps:rebuild", name)
    assert plat.get(name, "/env/FROM_DOKKU") == (200, "1")


def test_push_as_dokku_user_to_an_app_root_created(plat):
    """The common admin flow: `dokku apps:create` (and its settings) as root on the server, then
    `git push dokku@host:<app>` from a laptop."""
    name = plat.new_app("adm")
    plat.ok("apps:create", name)
    plat.ok("config:set", name, "SET_BY_ROOT=1")
    plat.ok("storage:ensure-directory", name)
    plat.ok("storage:mount", name, f"{plat.storage(name)}:/storage")
    repo = plat.repo("stdlib-web")
    r = plat.push(name, repo, ssh=True)
    assert r.code == 0, str(r)
    assert plat.get(name, "/env/SET_BY_ROOT") == (200, "1")
    assert plat.get(name, "/write?name=x&data=y") == (200, "y")
