"""docker-options reach exactly the containers of their phase (and process type): a run-phase
option only `dokku run` containers, a deploy-phase one only process containers, a
`--process worker` one only the worker."""
import pytest

WORKER = "worker: sleep infinity\n"


@pytest.fixture(scope="module")
def app(platform):
    """stdlib-web with a worker process type added to its Procfile, web=1 worker=1, and one
    option of each kind."""
    name = platform.new_app("opt")
    repo = platform.repo("stdlib-web")
    procfile = repo.path / "Procfile"
    text = procfile.read_text() if procfile.exists() else "web: python3 app.py\n"
    repo.write("Procfile", text.rstrip("\n") + "\n" + WORKER)
    repo.commit("add a worker")
    platform.ok("apps:create", name)
    platform.ok("docker-options:add", name, "run", "-e ONLY_RUN=1")
    platform.ok("docker-options:add", name, "deploy", "-e ONLY_DEPLOY=1 --label com.example.phase=deploy")
    platform.ok("docker-options:add", "--process", "worker", name, "deploy", "-e ONLY_WORKER=1")
    platform.ok("ps:scale", name, "worker=1")  # not deployed yet: stored for the first release
    platform.pushed(name, repo)
    return name


def run_env(platform, app: str, key: str) -> str:
    r = platform.ok("run", app, "sh", "-c", f'echo "${{{key}:-unset}}"')
    return r.out.strip()


def test_both_process_types_run(platform, app):
    assert len(platform.containers(app, "web", running_only=True)) == 1
    workers = platform.containers(app, "worker", running_only=True)
    assert [w["Name"] for w in workers] == [f"/{app}.worker.1"]


def test_run_phase_option_reaches_run_containers_only(platform, app):
    assert run_env(platform, app, "ONLY_RUN") == "1"
    for container in platform.containers(app):
        assert "ONLY_RUN" not in platform.env_of(container), container["Name"]
    assert platform.get(app, "/env/ONLY_RUN")[0] == 404


def test_deploy_phase_option_reaches_process_containers_only(platform, app):
    for container in platform.containers(app):
        assert platform.env_of(container).get("ONLY_DEPLOY") == "1", container["Name"]
        assert container["Config"]["Labels"].get("com.example.phase") == "deploy"
    assert platform.get(app, "/env/ONLY_DEPLOY") == (200, "1")
    assert run_env(platform, app, "ONLY_DEPLOY") == "unset"


def test_process_scoped_option_reaches_that_process_only(platform, app):
    (worker,) = platform.containers(app, "worker")
    assert platform.env_of(worker).get("ONLY_WORKER") == "1"
    assert "ONLY_WORKER" not in platform.env_of(platform.web(app))
    assert run_env(platform, app, "ONLY_WORKER") == "unset"


def test_option_change_applies_on_restart(platform, app):
    platform.ok("docker-options:remove", app, "deploy", "-e ONLY_DEPLOY=1")
    before = platform.web(app)["Id"]
    platform.ok("ps:restart", app)
    web = platform.web(app)
    assert web["Id"] != before
    assert "ONLY_DEPLOY" not in platform.env_of(web)
    assert platform.get(app, "/env/ONLY_DEPLOY")[0] == 404
    assert len(platform.containers(app)) == 2, "the old containers are retired"


def test_scale_down_removes_the_worker(platform, app):
    platform.ok("ps:scale", app, "worker=0")
    assert platform.containers(app, "worker") == []
    assert len(platform.containers(app, "web", running_only=True)) == 1


def test_config_set_restarts_unless_no_restart(platform, app):
    before = platform.web(app)["Id"]
    platform.ok("config:set", "--no-restart", app, "GREETING=later")
    assert platform.web(app)["Id"] == before
    assert platform.get(app, "/env/GREETING")[0] == 404
    platform.ok("config:set", app, "GREETING=now")
    assert platform.web(app)["Id"] != before
    assert platform.get(app, "/env/GREETING") == (200, "now")


def test_stop_and_start(platform, app):
    port = platform.web_port(app)
    platform.ok("ps:stop", app)
    assert platform.containers(app, running_only=True) == []
    assert platform.get_port(port, "/")[0] == 0
    report = platform.ok("ps:report", app, "--running").out.strip()
    assert report == "false"
    platform.ok("ps:start", app)
    assert platform.get(app, "/")[0] == 200
    assert len(platform.containers(app)) == 1, "the stopped containers are replaced, not kept"
