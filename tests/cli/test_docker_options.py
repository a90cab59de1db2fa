"""docker-options: add, remove, clear, list, report per phase (and per process type for the
deploy phase), exactly as the contract words them; the hook answers the build, deploy and run
steps merge."""
import pytest

from tests.cli.conftest import BAD_APP_NAMES

WARN = " !     "
PHASE_ERROR = "Phase(s) must be one of [build deploy run]"


def stored(dokku, app, prop):
    path = dokku.lib / "config" / "docker-options" / app / prop
    return path.read_text() if path.exists() else None


def listed(dokku, app, phase, *extra):
    return dokku.ok("docker-options:list", app, "--phase", phase, *extra).out.splitlines()


# ---------------------------------------------------------------- help

@pytest.mark.parametrize("command", ["docker-options", "docker-options:help"])
def test_help_lists_every_command(dokku, command):
    out = dokku.ok(command).out
    assert out.startswith("Usage: dokku docker-options[:COMMAND]\n\n")
    for sub in ("add", "remove", "clear", "list", "report"):
        assert f"dokku docker-options:{sub} " in out


# ---------------------------------------------------------------- add

def test_add_stores_one_option_per_line_sorted(dokku, app):
    r = dokku.ok("docker-options:add", app, "deploy", "--memory 512m", "-e B=2 -e A=1")
    assert r.err == ""
    assert stored(dokku, app, "deploy") == "--memory 512m\n-e A=1\n-e B=2\n"
    assert listed(dokku, app, "deploy") == ["--memory 512m", "-e A=1", "-e B=2"]
    assert stored(dokku, app, "build") is None and stored(dokku, app, "run") is None


def test_add_groups_words_per_flag(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "--link a --link b")
    assert listed(dokku, app, "deploy") == ["--link a", "--link b"]


def test_add_never_evaluates(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "'--label=x=$(id)'")
    [line] = listed(dokku, app, "deploy")
    assert "$(id)" in line
    assert dokku.ok_json("docker-options:report", app, "--format", "json")["deploy-list"] == [line]


def test_add_the_same_option_again_changes_nothing(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    before = dokku.snapshot()
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    dokku.ok("docker-options:add", app, "deploy", "-e  A=1")
    assert dokku.snapshot() == before


def test_add_to_several_phases(dokku, app):
    dokku.ok("docker-options:add", app, "build,deploy,run", "--label team=web")
    for phase in ("build", "deploy", "run"):
        assert stored(dokku, app, phase) == "--label team=web\n"


def test_add_for_a_process(dokku, app):
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e ONLY_WORKER=1")
    dokku.ok("docker-options:add", app, "deploy", "--process=web", "-e ONLY_WEB=1")
    assert stored(dokku, app, "deploy.worker") == "-e ONLY_WORKER=1\n"
    assert stored(dokku, app, "deploy.web") == "-e ONLY_WEB=1\n"
    assert stored(dokku, app, "deploy") is None
    assert listed(dokku, app, "deploy", "--process", "worker") == ["-e ONLY_WORKER=1"]
    assert listed(dokku, app, "deploy") == []


ADD_ERRORS = [
    (["deploy", "--bogus"], "Unsupported docker option for the deploy phase: --bogus"),
    (["deploy", "--privileged"], "Unsupported docker option for the deploy phase: --privileged"),
    (["build", "--link db"], "Unsupported docker option for the build phase: --link db"),
    (["run", "--build-arg A=1"], "Unsupported docker option for the run phase: --build-arg A=1"),
    (["deploy", "--memory"], "Option --memory needs a value"),
    (["deploy", "-e"], "Option -e needs a value"),
    (["deploy", "--label 'x"], "Unbalanced quote in docker options"),
    (["deploy", "--memory lots"], "Invalid docker option --memory lots"),
    (["deploy", "value-without-flag"], "Unexpected value 'value-without-flag' without a flag"),
    (["bogus", "-e A=1"], PHASE_ERROR),
    (["deploy,bogus", "-e A=1"], PHASE_ERROR),
    (["deploy,", "-e A=1"], PHASE_ERROR),
    ([""], PHASE_ERROR),
    ([], PHASE_ERROR),
    (["deploy"], "Please specify docker options to add to the phase"),
    (["deploy", ""], "Please specify docker options to add to the phase"),
    (["deploy", "  "], "Please specify docker options to add to the phase"),
    (["deploy,build", "-e A=1 --link db"], "Unsupported docker option for the build phase: --link db"),
    (["--process", "web", "build", "-e A=1"], "--process applies to the deploy phase only"),
    (["--process", "web", "deploy,run", "-e A=1"], "--process applies to the deploy phase only"),
    (["--process", "we b", "deploy", "-e A=1"], "Invalid process type"),
    (["--process", "../x", "deploy", "-e A=1"], "Invalid process type"),
]


@pytest.mark.parametrize(("words", "message"), ADD_ERRORS, ids=[repr(w) for w, _ in ADD_ERRORS])
def test_add_refusals(dokku, app, words, message):
    dokku.ok("docker-options:add", app, "deploy", "-e KEEP=1")
    r = dokku.refuses("docker-options:add", app, *words, message=message)
    assert len(r.err.splitlines()) == 1, r.err
    assert listed(dokku, app, "deploy") == ["-e KEEP=1"]


def test_add_process_flag_without_value_is_a_usage_error(dokku, app):
    dokku.refuses("docker-options:add", app, "deploy", "--process", code=2)


def test_add_on_a_missing_app(dokku):
    dokku.refuses("docker-options:add", "missing", "deploy", "-e A=1", code=20, message="App missing does not exist")


@pytest.mark.parametrize("name", list(BAD_APP_NAMES), ids=repr)
@pytest.mark.parametrize("command", [
    ["docker-options:add", "{app}", "deploy", "-e A=1"],
    ["docker-options:remove", "{app}", "deploy", "-e A=1"],
    ["docker-options:clear", "{app}"],
    ["docker-options:list", "{app}", "--phase", "deploy"],
    ["docker-options:report", "{app}"],
])
def test_bad_app_names_are_refused(dokku, app, command, name):
    dokku.refuses(*[w.replace("{app}", name) for w in command], message=BAD_APP_NAMES[name])


# ---------------------------------------------------------------- remove

def test_remove(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "-e A=1 -e B=2 -v /x:/y")
    r = dokku.ok("docker-options:remove", app, "deploy", "-e A=1", "-v /x:/y")
    assert r.err == ""
    assert stored(dokku, app, "deploy") == "-e B=2\n"


def test_remove_from_several_phases(dokku, app):
    dokku.ok("docker-options:add", app, "deploy,run", "-e A=1 -e B=2")
    dokku.ok("docker-options:remove", app, "deploy,run", "-e A=1")
    assert listed(dokku, app, "deploy") == listed(dokku, app, "run") == ["-e B=2"]


def test_remove_what_is_not_there_warns_and_exits_0(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    before = dokku.snapshot()
    r = dokku.ok("docker-options:remove", app, "deploy", "-e MISSING=1")
    assert r.err.startswith(WARN) and "-e MISSING=1" in r.err
    assert dokku.snapshot() == before


def test_remove_an_unparseable_option_warns(dokku, app):
    r = dokku.ok("docker-options:remove", app, "deploy", "--bogus")
    assert r.err.startswith(WARN) and "--bogus" in r.err


def test_remove_for_a_process(dokku, app):
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e A=1 -e B=2")
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    dokku.ok("docker-options:remove", "--process", "worker", app, "deploy", "-e A=1")
    assert listed(dokku, app, "deploy", "--process", "worker") == ["-e B=2"]
    assert listed(dokku, app, "deploy") == ["-e A=1"]


@pytest.mark.parametrize(("words", "message"), [
    (["deploy"], "Please specify docker options to remove from the phase"),
    (["bogus", "-e A=1"], PHASE_ERROR),
    (["--process", "web", "run", "-e A=1"], "--process applies to the deploy phase only"),
])
def test_remove_refusals(dokku, app, words, message):
    dokku.ok("docker-options:add", app, "deploy,run", "-e A=1")
    dokku.refuses("docker-options:remove", app, *words, message=message)


# ---------------------------------------------------------------- clear

def test_clear_all_phases(dokku, app):
    dokku.ok("docker-options:add", app, "build,deploy,run", "--label a=1")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    r = dokku.ok("docker-options:clear", app)
    assert r.out == f"-----> Clearing docker-options for {app} on all phases\n"
    for phase in ("build", "deploy", "run"):
        assert listed(dokku, app, phase) == []
    assert listed(dokku, app, "deploy", "--process", "worker") == []


def test_clear_named_phases(dokku, app):
    dokku.ok("docker-options:add", app, "build,deploy,run", "--label a=1")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    r = dokku.ok("docker-options:clear", app, "deploy,run")
    assert r.out == (f"-----> Clearing docker-options for {app} on phase deploy\n"
                     f"-----> Clearing docker-options for {app} on phase run\n")
    assert listed(dokku, app, "build") == ["--label a=1"]
    assert listed(dokku, app, "deploy") == [] and listed(dokku, app, "run") == []
    assert listed(dokku, app, "deploy", "--process", "worker") == ["-e W=1"]


def test_clear_phases_as_separate_words(dokku, app):
    dokku.ok("docker-options:add", app, "build,run", "--label a=1")
    r = dokku.ok("docker-options:clear", app, "build", "run")
    assert r.out.count("-----> Clearing docker-options for") == 2
    assert listed(dokku, app, "build") == listed(dokku, app, "run") == []


def test_clear_a_process(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    r = dokku.ok("docker-options:clear", "--process", "worker", app)
    assert r.out.startswith(f"-----> Clearing docker-options for {app} on phase deploy")
    assert "worker" in r.out
    assert listed(dokku, app, "deploy") == ["-e A=1"]
    assert listed(dokku, app, "deploy", "--process", "worker") == []


def test_clear_quiet(dokku, app):
    assert dokku.ok("--quiet", "docker-options:clear", app).out == ""


@pytest.mark.parametrize(("words", "message"), [
    (["bogus"], PHASE_ERROR),
    (["deploy,bogus"], PHASE_ERROR),
    (["--process", "web", "build"], "--process applies to the deploy phase only"),
])
def test_clear_refusals(dokku, app, words, message):
    dokku.ok("docker-options:add", app, "build,deploy", "--label a=1")
    dokku.refuses("docker-options:clear", app, *words, message=message)


def test_clear_on_a_missing_app(dokku):
    dokku.refuses("docker-options:clear", "missing", code=20)


# ---------------------------------------------------------------- list

def test_list_one_option_per_line(dokku, app):
    dokku.ok("docker-options:add", app, "run", "-e A=1", "--label b=2")
    r = dokku.ok("docker-options:list", app, "--phase", "run")
    assert r.out == "--label b=2\n-e A=1\n"
    assert dokku.ok("--quiet", "docker-options:list", app, "--phase=run").out == r.out


def test_list_empty(dokku, app):
    r = dokku.ok("docker-options:list", app, "--phase", "build")
    assert r.out == "" and r.err == ""


@pytest.mark.parametrize(("words", "code", "message"), [
    ([], 1, "Please specify a phase"),
    (["--phase", "bogus"], 1, PHASE_ERROR),
    (["--phase", "deploy,run"], 1, PHASE_ERROR),
    (["--phase", "build", "--process", "web"], 1, "--process applies to the deploy phase only"),
    (["--phase"], 2, None),
    (["--phase", "run", "extra"], 2, None),
])
def test_list_refusals(dokku, app, words, code, message):
    dokku.refuses("docker-options:list", app, *words, code=code, message=message)


# ---------------------------------------------------------------- report

def test_report_text(dokku, app):
    dokku.ok("docker-options:add", app, "build", "--build-arg A=1")
    dokku.ok("docker-options:add", app, "deploy", "-e B=2 --memory 512m")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    assert dokku.ok("docker-options:report", app).out == (
        f"=====> {app} docker-options information\n"
        "       Docker options build:          --build-arg A=1\n"
        "       Docker options deploy:         --memory 512m -e B=2\n"
        "       Docker options run:            \n"
        "       Docker options deploy worker:  -e W=1\n")


@pytest.mark.parametrize(("flag", "value"), [
    ("--docker-options-build", "--build-arg A=1"),
    ("--docker-options-deploy", "-e B=2"),
    ("--docker-options-run", ""),
    ("--docker-options-deploy.worker", "-e W=1"),
])
def test_report_info_flags(dokku, app, flag, value):
    dokku.ok("docker-options:add", app, "build", "--build-arg A=1")
    dokku.ok("docker-options:add", app, "deploy", "-e B=2")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    assert dokku.ok("docker-options:report", app, flag).out == value + "\n"


def test_report_invalid_flag(dokku, app):
    dokku.refuses("docker-options:report", app, "--docker-options-bogus", message=(
        "Invalid flag passed, valid flags: --docker-options-build, --docker-options-deploy, --docker-options-run"))


def test_report_json(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "-e B=2 --memory 512m")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    report = dokku.ok_json("docker-options:report", app, "--format", "json")
    assert report == {
        "docker-options-build": "", "docker-options-deploy": "--memory 512m -e B=2", "docker-options-run": "",
        "docker-options-deploy.worker": "-e W=1",
        "build-list": [], "deploy-list": ["--memory 512m", "-e B=2"], "run-list": [],
        "deploy.worker-list": ["-e W=1"],
    }


def test_report_all_apps(dokku, app):
    dokku.ok("apps:create", "other-app")
    dokku.ok("docker-options:add", "other-app", "run", "-e R=1")
    out = dokku.ok("docker-options:report").out
    assert "=====> node-js-app docker-options information\n" in out
    assert "=====> other-app docker-options information\n" in out
    report = dokku.ok_json("docker-options:report", "--format", "json")
    assert report["other-app"]["run-list"] == ["-e R=1"]
    assert report["node-js-app"]["run-list"] == []


def test_report_without_apps(dokku):
    r = dokku.ok("docker-options:report")
    assert r.err == f"{WARN}You haven't deployed any applications yet\n"


def test_report_bad_format(dokku, app):
    dokku.refuses("docker-options:report", app, "--format", "yaml", message='Format must be "stdout" or "json": "yaml"')


# ---------------------------------------------------------------- hook answers

@pytest.fixture
def options(dokku, app):
    from pipeline import docker_options
    return docker_options


def test_options_for(dokku, app, options):
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    assert options.options_for(app, "deploy") == ["-e A=1"]
    assert options.options_for(app, "deploy", "web") == ["-e A=1"]
    assert options.options_for(app, "deploy", "worker") == ["-e A=1", "-e W=1"]
    assert options.options_for(app, "run") == []


def test_deploy_args(dokku, app, options):
    dokku.ok("docker-options:add", app, "deploy", "-e A=1 --memory 512m -v /srv/d:/d:ro")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-e W=1")
    web = options.deploy_args(app, "img", "web", 1)
    assert web["environment"] == {"A": "1"}
    assert web["mem_limit"] == 512 * 1024 ** 2
    assert web["mounts"] == [{"Target": "/d", "Source": "/srv/d", "Type": "bind", "ReadOnly": True}]
    assert options.deploy_args(app, "img", "worker", 1)["environment"] == {"A": "1", "W": "1"}


def test_run_args(dokku, app, options):
    dokku.ok("docker-options:add", app, "run", "--label x=1")
    dokku.ok("docker-options:add", app, "deploy", "-e A=1")
    assert options.run_args(app, "img") == {"labels": {"x": "1"}}


def test_build_args_per_builder(dokku, app, options):
    dokku.ok("docker-options:add", app, "build", "--build-arg A=1 --label x=1 --memory 1g")
    buildpack = options.build_args(app, "buildpack")
    assert buildpack["labels"] == {"x": "1"} and buildpack["mem_limit"] == 1024 ** 3
    assert "buildargs" not in buildpack
    dockerfile = options.build_args(app, "dockerfile")
    assert dockerfile["buildargs"] == {"A": "1"}
    assert dockerfile["labels"] == {"x": "1"}
    assert dockerfile["container_limits"] == {"memory": 1024 ** 3}


def test_build_volumes_are_refused_for_a_dockerfile_build(dokku, app, options):
    from pipeline import docker_args
    dokku.ok("docker-options:add", app, "build", "-v /srv/b:/b")
    assert options.build_args(app, "buildpack")["mounts"][0]["Target"] == "/b"
    with pytest.raises(docker_args.UnsupportedOption) as caught:
        options.build_args(app, "dockerfile")
    assert "dokku docker-options:remove <app> build" in str(caught.value)


def test_empty_answers(dokku, app, options):
    assert options.deploy_args(app, "img", "web", 1) == {}
    assert options.run_args(app, "img") == {}
    assert options.build_args(app, "dockerfile") == {}


@pytest.mark.parametrize(("first", "phase", "option"), [
    (["storage:mount", "{app}", "/srv/s:/data"], "deploy", "-v /srv/other:/data"),
    (["storage:mount", "{app}", "/srv/s:/data"], "run", "-v /srv/s:/data:ro"),
    (["docker-options:add", "{app}", "build", "-v /srv/b:/data"], "build", "--volume=/srv/c:/data"),
    (["docker-options:add", "{app}", "run", "-v /srv/b:/data"], "run", "-v /srv/b:/data:ro"),
])
def test_add_a_volume_onto_a_taken_container_path_is_refused(dokku, app, first, phase, option):
    dokku.ok(*[w.replace("{app}", app) for w in first])
    r = dokku.refuses("docker-options:add", app, phase, option, message="Container path /data is already mounted")
    assert f"dokku storage:report {app}" in r.err


def test_add_two_volumes_onto_one_container_path_at_once_is_refused(dokku, app):
    dokku.refuses("docker-options:add", app, "deploy", "-v /a:/data -v /b:/data",
                  message="Container path /data is already mounted")


def test_volumes_onto_free_container_paths_are_added(dokku, app):
    dokku.ok("storage:mount", app, "/srv/s:/data")
    dokku.ok("docker-options:add", app, "build", "-v /srv/s:/data")  # storage mounts are not build mounts
    dokku.ok("docker-options:add", app, "deploy", "-v /srv/s:/other")
    dokku.ok("docker-options:add", app, "deploy", "-v /srv/s:/other")  # the same option again: no change
    assert listed(dokku, app, "deploy") == ["-v /srv/s:/other"]


def test_process_scoped_options_show_in_reports_until_removed(dokku, app):
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-v /x:/y")
    mounts = dokku.ok_json("storage:report", app, "--format", "json")["mounts"]
    assert [(m["host_path"], m["process_type"]) for m in mounts] == [("/x", "worker")]
    assert "Docker options deploy worker:" in dokku.ok("docker-options:report", app).out
    dokku.ok("docker-options:remove", "--process", "worker", app, "deploy", "-v /x:/y")
    assert dokku.ok_json("storage:report", app, "--format", "json")["mounts"] == []
    assert "worker" not in dokku.ok("docker-options:report", app).out
