"""Pushing turns source into running containers: over a local path remote and over SSH (a real
sshd on a loopback port, keys from `dokku ssh-keys:add`, every session forced through `dokku`);
the web process answers on its published 127.0.0.1 port and runs as herokuishuser (32767);
`dokku run` gives a one-off container, interactive with a TTY, returning the command's code."""
import json

import pexpect
import pytest

from tests.conftest import DOKKU_CMD
from tests.e2e.conftest import HEROKUISH_UID, docker, free_port, run


@pytest.fixture(scope="module")
def web_app(platform):
    """stdlib-web pushed over a local path remote (builds in seconds)."""
    app = platform.new_app("web")
    repo = platform.repo("stdlib-web")
    push = platform.pushed(app, repo)
    return app, repo, push


@pytest.fixture(scope="module")
def ssh_platform(platform):
    platform.start_sshd()
    key = platform.client_key.with_suffix(".pub")
    platform.ok("ssh-keys:add", "admin", str(key))
    return platform


# ---------------------------------------------------------------- local path push


def test_local_push_builds_deploys_and_answers(platform, web_app):
    app, repo, push = web_app
    assert "-----> " in push.err, f"the build log should stream back to the pusher: {push}"
    # every deploy ends by saying how long build, deploy and checks took
    assert "-----> Build took" in push.err and "deploy took" in push.err and "checks" in push.err, push.err
    assert platform.answers(app, "/") == (200, f"stdlib-web ok {repo.head()}")
    web = platform.web(app)
    assert web["Name"] == f"/{app}.web.1"
    labels = web["Config"]["Labels"]
    assert labels["com.dokku.app"] == app
    assert labels["com.dokku.process-type"] == "web"
    assert labels["com.dokku.release"] == repo.head()
    assert platform.deployed_ref(app) == repo.head()


def test_web_process_gets_port_5000(platform, web_app):
    app, _, _ = web_app
    env = platform.env_of(platform.web(app))
    assert env.get("PORT") == "5000"
    assert platform.get(app, "/env/PORT") == (200, "5000")


def test_processes_run_as_herokuishuser(platform, web_app):
    app, _, _ = web_app
    status, body = platform.get(app, "/whoami")
    assert status == 200
    assert body == f"{HEROKUISH_UID} {HEROKUISH_UID}"
    web = platform.web(app)
    assert platform.top_uids(web["Id"]) == {HEROKUISH_UID}
    assert web["Config"]["User"] == f"{HEROKUISH_UID}:{HEROKUISH_UID}"


def test_run_returns_the_command_exit_code(platform, web_app):
    app, _, _ = web_app
    assert platform(*["run", app, "sh", "-c", "exit 3"]).code == 3
    assert platform("run", app, "true").code == 0


def test_run_output_and_user(platform, web_app):
    app, _, _ = web_app
    r = platform.ok("run", app, "python3", "-c", "import os; print(6*7, os.getuid())")
    assert r.out.split() == ["42", str(HEROKUISH_UID)], str(r)
    # one-off containers are removed when they end
    assert platform.container_ids(app, role="run") == []


def test_logs_and_report(platform, web_app):
    app, _, _ = web_app
    assert platform.get(app, "/env/PORT")[0] == 200
    r = platform.ok("logs", app, "-n", "50")
    assert f"{app}[web.1]:" in r.out and "GET /env/PORT" in r.out, str(r)
    report = json.loads(platform.ok("ps:report", app, "--format", "json").out)
    assert report["deployed"] == "true"
    assert report["running"] == "true"
    assert report["processes"] == "1"
    assert report["ps-web-urls"] == f"http://127.0.0.1:{platform.web_port(app)}"


def test_run_interactive_python_with_a_tty(platform, web_app):
    app, _, _ = web_app
    child = pexpect.spawn(DOKKU_CMD[0], [*DOKKU_CMD[1:], "run", app, "python3"], env=platform.env,
                          timeout=90, encoding="utf-8")
    try:
        child.expect(">>> ")
        child.sendline("print(6*7)")
        child.expect(r"\r?\n42\r?\n")
        child.expect(">>> ")
        child.sendline("import sys; sys.exit(5)")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 5, child.before


# ---------------------------------------------------------------- over SSH


def test_ssh_keys_list_names_the_key(ssh_platform):
    r = ssh_platform.ok("ssh-keys:list")
    assert "admin" in r.out + r.err


def test_ssh_session_is_forced_through_dokku(ssh_platform):
    r = ssh_platform.ssh("version")
    assert r.code == 0, f"{r}\nsshd log:\n{ssh_platform.sshd_log()[-3000:]}"
    assert "dokku" in r.out
    # no shell: the words go to dokku, which knows no `sh` command
    r = ssh_platform.ssh("sh", "-c", "'echo pwned'")
    assert r.code != 0
    assert "pwned" not in r.out


def test_ssh_refuses_port_forwarding(ssh_platform, web_app):
    app, _, _ = web_app
    target = ssh_platform.web_port(app)
    listen = free_port()
    r = run([*ssh_platform.ssh_command().split(), "-o", "ExitOnForwardFailure=yes",
             "-R", f"127.0.0.1:{listen}:127.0.0.1:{target}", f"{ssh_platform.ssh_user}@127.0.0.1", "version"],
            env=ssh_platform.env, timeout=60)
    assert r.code != 0, f"a remote forwarding should be refused: {r}"
    assert "forwarding" in r.err.lower(), str(r)


def test_interactive_run_over_ssh(ssh_platform, web_app):
    """`ssh -t dokku@host run <app> python3`: the forced command gets a terminal (no no-pty)."""
    app, _, _ = web_app
    plat = ssh_platform
    child = pexpect.spawn("ssh", [*plat.ssh_command().split()[1:], "-tt", f"{plat.ssh_user}@127.0.0.1",
                                  "run", app, "python3"], env=plat.env, timeout=90, encoding="utf-8")
    try:
        child.expect(">>> ")
        child.sendline("print(6*7)")
        child.expect(r"\r?\n42\r?\n")
        child.sendline("exit()")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_python_sample_over_ssh(ssh_platform):
    """The Flask + gunicorn sample, its dependencies from PyPI inside the build container."""
    plat = ssh_platform
    app = plat.new_app("py")
    repo = plat.repo("python-sample")
    push = plat.push(app, repo, ssh=True)
    assert push.code == 0, f"{push}\nsshd log:\n{plat.sshd_log()[-3000:]}"
    assert "-----> " in push.err
    assert plat.deployed_ref(app) == repo.head()
    assert plat.answers(app, "/") == (200, f"python-sample ok {repo.head()}")
    assert plat.get(app, "/whoami") == (200, f"{HEROKUISH_UID} {HEROKUISH_UID}")
    web = plat.web(app)
    assert plat.top_uids(web["Id"]) == {HEROKUISH_UID}
    # gunicorn serves it (a master and at least one worker, all herokuishuser)
    top = docker("top", web["Id"], "-eo", "pid,uid,args").out
    assert "gunicorn" in top, top
