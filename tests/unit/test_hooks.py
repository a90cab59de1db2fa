"""hooks.fire and executable hook-point plugins (pipeline.plugins), without an engine."""
import os

import pytest

from pipeline import errors, hooks, plugins

CALLS = []


def first(app, image, process_type, index):
    CALLS.append("first")
    return {"labels": {"from": "first"}}


def second(app, image, process_type, index):
    CALLS.append("second")
    return {"labels": {"from": "second"}}


@pytest.fixture
def lib(dokku_env, monkeypatch):
    """A throwaway DOKKU_LIB_ROOT with no built-in answers: only what a test adds is called."""
    monkeypatch.setattr(hooks, "ANSWERS", {})
    CALLS.clear()
    return dokku_env["lib"]


def write_plugin(lib, plugin: str, point: str, script: str, enabled: bool = True, mode: int = 0o755):
    folder = lib / "plugins" / "available" / plugin
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / point
    program.write_text("#!/bin/sh\n" + script + "\n")
    program.chmod(mode)
    link = lib / "plugins" / "enabled" / plugin
    if enabled and not os.path.lexists(link):
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(folder)
    return program


def deploy_args(**override):
    return {"app": "api", "image": "dokku/api:latest", "process_type": "web", "index": 1, **override}


# ---------------------------------------------------------------------------- hooks.fire

def test_fire_refuses_a_missing_argument(lib):
    with pytest.raises(TypeError, match="pre-deploy takes"):
        hooks.fire("pre-deploy", app="api")


def test_fire_refuses_an_extra_argument(lib):
    with pytest.raises(TypeError, match="post-delete takes"):
        hooks.fire("post-delete", app="api", image="x")


def test_fire_refuses_an_unknown_point(lib):
    with pytest.raises((KeyError, ValueError), match="no-such-point"):
        hooks.fire("no-such-point", app="api")


def test_builtin_answers_come_in_table_order(lib, monkeypatch):
    monkeypatch.setitem(hooks.ANSWERS, "docker-args-deploy",
                        [f"{__name__}:second", f"{__name__}:first"])
    answers = hooks.fire("docker-args-deploy", **deploy_args())
    assert answers == [{"labels": {"from": "second"}}, {"labels": {"from": "first"}}]
    assert CALLS == ["second", "first"]


def test_a_builtin_answer_from_a_missing_module_is_an_error_not_silence(lib, monkeypatch):
    """A broken built-in plugin must not quietly drop its mounts from every container."""
    monkeypatch.setitem(hooks.ANSWERS, "docker-args-deploy",
                        ["pipeline.no_such_plugin:deploy_args", f"{__name__}:first"])
    with pytest.raises(ModuleNotFoundError):
        hooks.fire("docker-args-deploy", **deploy_args())


def test_builtin_answers_come_before_executable_ones(lib, monkeypatch):
    monkeypatch.setitem(hooks.ANSWERS, "docker-args-deploy", [f"{__name__}:first"])
    write_plugin(lib, "audit", "docker-args-deploy", "echo --label from=audit")
    answers = hooks.fire("docker-args-deploy", **deploy_args())
    assert [a["labels"]["from"] for a in answers] == ["first", "audit"]


# ---------------------------------------------------------------------------- finding plugins

def test_no_enabled_folder_means_no_plugins(lib):
    assert not (lib / "plugins").exists()
    assert plugins.fire_executables("post-deploy", {"app": "api", "image": "x"}) == []


def test_enabled_plugins_are_sorted_by_name(lib):
    for name in ("zeta", "alpha", "mid"):
        write_plugin(lib, name, "post-deploy", "true")
    assert [name for name, _ in plugins.enabled_plugins()] == ["alpha", "mid", "zeta"]


def test_plugins_run_in_name_order(lib):
    log = lib / "order"
    for name in ("zeta", "alpha"):
        write_plugin(lib, name, "post-deploy", f"echo {name} >> {log}")
    plugins.fire_executables("post-deploy", {"app": "api", "image": "x"})
    assert log.read_text().split() == ["alpha", "zeta"]


def test_a_disabled_plugin_is_not_called(lib):
    marker = lib / "called"
    write_plugin(lib, "audit", "post-deploy", f"touch {marker}", enabled=False)
    hooks.fire("post-deploy", app="api", image="x")
    assert not marker.exists()


def test_the_same_plugin_once_enabled_is_called(lib):
    marker = lib / "called"
    write_plugin(lib, "audit", "post-deploy", f"touch {marker}", enabled=True)
    hooks.fire("post-deploy", app="api", image="x")
    assert marker.exists()


def test_a_plugin_placed_directly_in_enabled_is_called(lib):
    marker = lib / "called"
    folder = lib / "plugins" / "enabled" / "audit"
    folder.mkdir(parents=True)
    (folder / "post-deploy").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (folder / "post-deploy").chmod(0o755)
    hooks.fire("post-deploy", app="api", image="x")
    assert marker.exists()


def test_a_file_that_is_not_executable_is_not_run(lib):
    marker = lib / "called"
    write_plugin(lib, "audit", "post-deploy", f"touch {marker}", mode=0o644)
    hooks.fire("post-deploy", app="api", image="x")
    assert not marker.exists()


def test_a_plugin_without_that_point_is_not_run(lib):
    marker = lib / "called"
    write_plugin(lib, "audit", "post-build", f"touch {marker}")
    hooks.fire("post-deploy", app="api", image="x")
    assert not marker.exists()


# ---------------------------------------------------------------------------- how a plugin is called

def test_arguments_come_in_the_documented_order(lib):
    seen = lib / "argv"
    write_plugin(lib, "audit", "docker-args-deploy", f'printf "%s\\n" "$@" > {seen}')
    hooks.fire("docker-args-deploy", **deploy_args(index=2))
    assert seen.read_text().split("\n")[:-1] == ["api", "dokku/api:latest", "web", "2"]


def test_the_plugin_gets_the_roots_in_its_environment(lib, dokku_env):
    seen = lib / "env"
    write_plugin(lib, "audit", "post-deploy", f'echo "$DOKKU_ROOT $DOKKU_LIB_ROOT" > {seen}')
    hooks.fire("post-deploy", app="api", image="x")
    assert seen.read_text().split() == [dokku_env["DOKKU_ROOT"], dokku_env["DOKKU_LIB_ROOT"]]


def test_stdin_is_closed(lib):
    seen = lib / "stdin"
    write_plugin(lib, "audit", "post-deploy", f"cat > {seen}")
    hooks.fire("post-deploy", app="api", image="x")
    assert seen.read_text() == ""


def test_arguments_are_never_evaluated_by_a_shell(lib):
    seen = lib / "argv"
    write_plugin(lib, "audit", "post-deploy", f'printf "%s\\n" "$2" > {seen}')
    hooks.fire("post-deploy", app="api", image="$(touch pwned); x")
    assert seen.read_text() == "$(touch pwned); x\n"
    assert not (lib / "pwned").exists()


# ---------------------------------------------------------------------------- docker-args-*

def test_docker_args_answer_becomes_container_kwargs(lib):
    write_plugin(lib, "audit", "docker-args-deploy", "echo '--label audit=yes -v /x:/y'")
    [answer] = hooks.fire("docker-args-deploy", **deploy_args())
    assert answer["labels"] == {"audit": "yes"}


def test_docker_args_answer_mount(lib):
    write_plugin(lib, "audit", "docker-args-deploy", "echo '--label audit=yes -v /x:/y'")
    [answer] = hooks.fire("docker-args-deploy", **deploy_args())
    assert [(m["Source"], m["Target"]) for m in answer["mounts"]] == [("/x", "/y")]


def test_docker_args_answer_over_several_lines(lib):
    write_plugin(lib, "audit", "docker-args-run", "echo --label a=1\necho \"--label 'b=two words'\"")
    [answer] = hooks.fire("docker-args-run", app="api", image="x")
    assert answer["labels"] == {"a": "1", "b": "two words"}


def test_an_empty_docker_args_answer_adds_nothing(lib):
    write_plugin(lib, "audit", "docker-args-run", "true")
    assert hooks.fire("docker-args-run", app="api", image="x") == []


def test_an_invalid_docker_args_answer_is_refused(lib):
    write_plugin(lib, "audit", "docker-args-deploy", "echo --privileged")
    with pytest.raises(errors.DokkuError) as raised:
        hooks.fire("docker-args-deploy", **deploy_args())
    assert "audit docker-args-deploy" in str(raised.value)
    assert "--privileged" in str(raised.value)


def test_an_option_of_another_phase_is_refused(lib):
    write_plugin(lib, "audit", "docker-args-deploy", "echo --build-arg A=1")
    with pytest.raises(errors.DokkuError, match="deploy phase: --build-arg"):
        hooks.fire("docker-args-deploy", **deploy_args())


def test_a_malformed_docker_args_answer_is_refused(lib):
    write_plugin(lib, "audit", "docker-args-deploy", "echo --memory lots")
    with pytest.raises(errors.DokkuError, match="audit docker-args-deploy .*--memory lots"):
        hooks.fire("docker-args-deploy", **deploy_args())


def test_a_failing_docker_args_plugin_fails_the_step(lib):
    write_plugin(lib, "audit", "docker-args-deploy", "echo --label a=1; exit 3")
    with pytest.raises(errors.DokkuError, match="audit docker-args-deploy failed: it exited with status 3"):
        hooks.fire("docker-args-deploy", **deploy_args())


def test_docker_args_build_for_a_dockerfile_build_is_build_kwargs(lib):
    write_plugin(lib, "audit", "docker-args-build", "echo --build-arg A=1 --label audit=yes")
    [answer] = hooks.fire("docker-args-build", app="api", builder="dockerfile")
    assert answer == {"buildargs": {"A": "1"}, "labels": {"audit": "yes"}}


def test_docker_args_build_for_a_buildpack_build_is_container_kwargs(lib):
    write_plugin(lib, "audit", "docker-args-build", "echo -e A=1")
    [answer] = hooks.fire("docker-args-build", app="api", builder="buildpack")
    assert answer["environment"] == {"A": "1"}


def test_a_volume_for_a_dockerfile_build_is_refused(lib):
    write_plugin(lib, "audit", "docker-args-build", "echo -v /x:/y")
    with pytest.raises(errors.DokkuError, match="audit docker-args-build .*cannot be applied to a Dockerfile"):
        hooks.fire("docker-args-build", app="api", builder="dockerfile")


# ---------------------------------------------------------------------------- pre-* and post-*

def test_a_failing_pre_deploy_stops_with_the_plugins_message(lib):
    write_plugin(lib, "audit", "pre-deploy", "echo 'no deploys on Friday' >&2; exit 1")
    with pytest.raises(errors.DokkuError) as raised:
        hooks.fire("pre-deploy", app="api", image="x")
    assert str(raised.value) == "audit pre-deploy failed: no deploys on Friday"


def test_a_failing_pre_hook_without_stderr_uses_its_stdout(lib):
    write_plugin(lib, "audit", "pre-build", "echo 'lint failed'; exit 2")
    with pytest.raises(errors.DokkuError, match="audit pre-build failed: lint failed"):
        hooks.fire("pre-build", app="api", builder="buildpack")


def test_a_silent_failing_pre_hook_names_its_status(lib):
    write_plugin(lib, "audit", "pre-build", "exit 4")
    with pytest.raises(errors.DokkuError, match="audit pre-build failed: audit exited with status 4"):
        hooks.fire("pre-build", app="api", builder="buildpack")


def test_the_error_keeps_only_the_last_lines(lib):
    write_plugin(lib, "audit", "pre-deploy", "seq 1 50 >&2; exit 1")
    with pytest.raises(errors.DokkuError) as raised:
        hooks.fire("pre-deploy", app="api", image="x")
    assert str(raised.value).split("\n")[-1] == "50"
    assert len(str(raised.value).split("\n")) == plugins.TAIL


def test_a_passing_pre_hook_shows_its_output(lib, capsys):
    write_plugin(lib, "audit", "pre-deploy", "echo checked")
    assert hooks.fire("pre-deploy", app="api", image="x") == []
    assert "checked" in capsys.readouterr().out


def test_a_failing_pre_hook_stops_later_plugins(lib):
    marker = lib / "called"
    write_plugin(lib, "a-gate", "pre-deploy", "exit 1")
    write_plugin(lib, "b-next", "pre-deploy", f"touch {marker}")
    with pytest.raises(errors.DokkuError):
        hooks.fire("pre-deploy", app="api", image="x")
    assert not marker.exists()


def test_a_hanging_pre_hook_is_stopped(lib, monkeypatch):
    monkeypatch.setattr(plugins, "TIMEOUT", 1)
    write_plugin(lib, "audit", "pre-deploy", "sleep 30")
    with pytest.raises(errors.DokkuError, match="timed out after 1s"):
        hooks.fire("pre-deploy", app="api", image="x")


def test_a_failing_post_deploy_is_only_a_warning(lib, capsys):
    write_plugin(lib, "audit", "post-deploy", "echo 'slack is down'; exit 1")
    assert hooks.fire("post-deploy", app="api", image="x") == []
    captured = capsys.readouterr()
    assert "slack is down" in captured.out
    assert " !     audit post-deploy exited with status 1" in captured.err


def test_a_post_hook_failure_does_not_stop_later_plugins(lib):
    marker = lib / "called"
    write_plugin(lib, "a-notify", "post-deploy", "exit 1")
    write_plugin(lib, "b-next", "post-deploy", f"touch {marker}")
    hooks.fire("post-deploy", app="api", image="x")
    assert marker.exists()


def test_post_hook_output_is_passed_through(lib, capsys):
    write_plugin(lib, "audit", "post-delete", "echo to-out; echo to-err >&2")
    hooks.fire("post-delete", app="api")
    captured = capsys.readouterr()
    assert "to-out" in captured.out
    assert "to-err" in captured.err


def test_a_program_that_cannot_start_is_a_failure(lib):
    folder = lib / "plugins" / "enabled" / "audit"
    folder.mkdir(parents=True)
    (folder / "pre-deploy").write_text("no shebang, not a binary\n")  # exec format error
    (folder / "pre-deploy").chmod(0o755)
    with pytest.raises(errors.DokkuError, match="audit pre-deploy failed: cannot run"):
        hooks.fire("pre-deploy", app="api", image="x")
