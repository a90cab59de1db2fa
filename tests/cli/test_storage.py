"""storage: list, mount, unmount, report, ensure-directory, exactly as the contract words them;
the hook answers the deploy and run steps merge."""
import json
import os
import subprocess
import sys
import types

import pytest

from tests.cli.conftest import BAD_APP_NAMES

WARN = " !     "
GENERIC = "Storage path must be two valid paths divided by colon."
RECORD_KEYS = {"host_path", "container_path", "readonly", "volume_options", "phases", "process_type"}


BAD_SPECS = ["/a", "/a:", ":/b", "/a:b", "/a:/", "/a:/b:bogus", "x:/b", "/a:/b --privileged", "$(id):/b",
             "/a:/b\n", "/a\n:/b", "/" + "a" * 5000 + ":/b", "/a/../etc:/b", "/a:/b:ro,rw", "/a:/b:nocopy",
             "/:/b", "/a;b:/c"]


def mounts_file(dokku, app):
    return dokku.lib / "config" / "storage" / app / "mounts"


def listed(dokku, app):
    return dokku.ok_json("storage:list", app, "--format", "json")


def mark_deployed(dokku, app):
    folder = dokku.lib / "config" / "ps" / app
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deployed").write_text("true\n")


# ---------------------------------------------------------------- help

@pytest.mark.parametrize("command", ["storage", "storage:help"])
def test_help_lists_every_command(dokku, command):
    out = dokku.ok(command).out
    assert out.startswith("Usage: dokku storage[:COMMAND]\n\n")
    assert "Additional commands:" in out
    for sub in ("list", "mount", "unmount", "report", "ensure-directory"):
        assert f"dokku storage:{sub} " in out


def test_unknown_subcommand_is_a_usage_error(dokku):
    r = dokku.refuses("storage:bogus", code=2)
    assert "`storage:bogus` is not a dokku command." in r.err


# ---------------------------------------------------------------- list

def test_list_empty(dokku, app):
    r = dokku.ok("storage:list", app)
    assert r.out == f"-----> {app} volume bind-mounts:\n"
    assert r.err == ""
    assert dokku.ok("--quiet", "storage:list", app).out == ""
    assert listed(dokku, app) == []
    assert dokku.ok("storage:list", app, "--format", "json").out == "[]\n"


def test_list_text_quiet_and_json(dokku, app):
    dokku.ok("storage:mount", app, "/srv/one:/one")
    dokku.ok("storage:mount", app, "/srv/two:/two:ro,z")
    dokku.ok("storage:mount", app, "vol-3:/three:nocopy")
    r = dokku.ok("storage:list", app)
    assert r.out == (f"-----> {app} volume bind-mounts:\n"
                     "       /srv/one:/one\n       /srv/two:/two:ro,z\n       vol-3:/three:nocopy\n")
    quiet = dokku.ok("--quiet", "storage:list", app).out
    assert quiet == "/srv/one:/one\n/srv/two:/two:ro,z\nvol-3:/three:nocopy\n"
    assert dokku.ok("storage:list", app, "--quiet").out == quiet  # a global flag, anywhere
    assert listed(dokku, app) == [
        {"host_path": "/srv/one", "container_path": "/one", "readonly": False, "volume_options": [],
         "phases": ["deploy", "run"], "process_type": "_default_"},
        {"host_path": "/srv/two", "container_path": "/two", "readonly": True, "volume_options": ["z"],
         "phases": ["deploy", "run"], "process_type": "_default_"},
        {"host_path": "vol-3", "container_path": "/three", "readonly": False, "volume_options": ["nocopy"],
         "phases": ["deploy", "run"], "process_type": "_default_"},
    ]


def test_list_format_text_explicitly(dokku, app):
    dokku.ok("storage:mount", app, "/srv/one:/one")
    assert dokku.ok("storage:list", app, "--format", "text").out == dokku.ok("storage:list", app).out
    assert dokku.ok("storage:list", app, "--format=json").out == dokku.ok("storage:list", app, "--format", "json").out


def test_list_shows_deploy_phase_docker_option_mounts(dokku, app):
    dokku.ok("storage:mount", app, "/srv/one:/one")
    dokku.ok("docker-options:add", app, "deploy", "-v /srv/opt:/opt:ro")
    dokku.ok("docker-options:add", app, "build", "-v /srv/build:/build")
    dokku.ok("docker-options:add", app, "run", "-v /srv/run:/run-only")
    assert dokku.ok("--quiet", "storage:list", app).out == "/srv/one:/one\n/srv/opt:/opt:ro\n"
    records = listed(dokku, app)
    assert records[1] == {"host_path": "/srv/opt", "container_path": "/opt", "readonly": True,
                          "volume_options": [], "phases": ["deploy"], "process_type": "_default_"}


@pytest.mark.parametrize("value", ["stdout", "xml", ""])
def test_list_bad_format(dokku, app, value):
    dokku.refuses("storage:list", app, "--format", value, message=f'Format must be "text" or "json": "{value}"')


def test_list_missing_app(dokku):
    dokku.refuses("storage:list", "missing", code=20, message="App missing does not exist")


def test_list_without_app(dokku):
    dokku.refuses("storage:list", message="Please specify an app to run the command on")


def test_list_extra_argument_and_unknown_flag_are_usage_errors(dokku, app):
    dokku.refuses("storage:list", app, "extra", code=2)
    dokku.refuses("storage:list", app, "--bogus", code=2)


@pytest.mark.parametrize("name", list(BAD_APP_NAMES), ids=repr)
@pytest.mark.parametrize("command", [
    ["storage:list", "{app}"],
    ["storage:mount", "{app}", "/a:/b"],
    ["storage:unmount", "{app}", "/a:/b"],
    ["storage:report", "{app}"],
])
def test_bad_app_names_are_refused(dokku, app, command, name):
    dokku.refuses(*[w.replace("{app}", name) for w in command], message=BAD_APP_NAMES[name])


# ---------------------------------------------------------------- mount

def test_mount_stores_one_json_line(dokku, app, tmp_path):
    host = tmp_path / "data"
    host.mkdir()
    r = dokku.ok("storage:mount", app, f"{host}:/app/storage")
    assert r.err == "", "an existing host path is not warned about"
    lines = mounts_file(dokku, app).read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"host_path": str(host), "container_path": "/app/storage", "readonly": False,
                                    "volume_options": [], "phases": ["deploy", "run"], "process_type": "_default_"}


def test_mount_of_missing_host_path_warns_and_is_kept(dokku, app, tmp_path):
    missing = tmp_path / "never-created"
    r = dokku.ok("storage:mount", app, f"{missing}:/data")
    assert r.err.startswith(WARN) and str(missing) in r.err
    assert "storage:ensure-directory" in r.err
    assert str(missing) not in r.out
    assert not missing.exists(), "the host directory is never created implicitly"
    assert [m["host_path"] for m in listed(dokku, app)] == [str(missing)]


def test_mount_of_a_volume_is_not_checked_on_the_host(dokku, app):
    r = dokku.ok("storage:mount", app, "my-volume:/data")
    assert r.err == ""


@pytest.mark.parametrize("again", ["/srv/data:/data", "/srv/data:/data:ro", "/srv/data/:/data/", "/srv//data:/data"])
def test_mount_same_paths_again_is_refused(dokku, app, again):
    dokku.ok("storage:mount", app, "/srv/data:/data")
    dokku.refuses("storage:mount", app, again, message="Mount path already exists.")
    assert len(listed(dokku, app)) == 1


def test_mount_over_a_container_path_already_mounted_is_refused(dokku, app):
    dokku.ok("storage:mount", app, "/srv/one:/data")
    r = dokku.refuses("storage:mount", app, "/srv/two:/data")
    assert f"dokku storage:unmount {app} /srv/one:/data" in r.err


def test_mount_over_a_docker_option_mount_is_refused(dokku, app):
    dokku.ok("docker-options:add", app, "deploy", "-v /srv/opt:/opt")
    dokku.refuses("storage:mount", app, "/srv/opt:/opt", message="Mount path already exists.")
    r = dokku.refuses("storage:mount", app, "/srv/other:/opt")
    assert "docker-options:report" in r.err


def test_a_build_phase_option_mount_does_not_block_a_storage_mount(dokku, app):
    dokku.ok("docker-options:add", app, "build", "-v /srv/cache:/cache")
    dokku.ok("storage:mount", app, "/srv/cache:/cache")


@pytest.mark.parametrize("spec", BAD_SPECS, ids=[repr(s[:30]) for s in BAD_SPECS])
def test_mount_bad_specs_are_refused(dokku, app, spec):
    r = dokku.refuses("storage:mount", app, spec, message=GENERIC)
    assert len(r.err.splitlines()) == 1
    assert "Traceback" not in r.err


def test_mount_words_after_the_spec_are_refused(dokku, app):
    dokku.refuses("storage:mount", app, "/a:/b", "--privileged", code=2)
    dokku.refuses("storage:mount", app, "/a:/b", "extra", code=2)


def test_mount_without_a_path(dokku, app):
    r = dokku.refuses("storage:mount", app, message="Please specify a mount path")
    assert "storage:mount <app> <host:container[:options]>" in r.err
    dokku.refuses("storage:mount", app, "", message="Please specify a mount path")


def test_mount_on_a_missing_app(dokku):
    dokku.refuses("storage:mount", "missing", "/a:/b", code=20, message="App missing does not exist")


def test_mount_of_a_never_deployed_app_says_nothing_about_restarts(dokku, app):
    r = dokku.ok("storage:mount", app, "vol:/data", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.out == "" and r.err == ""


def test_mount_with_restart_of_a_never_deployed_app(dokku, app):
    r = dokku.ok("storage:mount", app, "vol:/data", "--restart")
    assert "has not been deployed" in r.out
    assert len(listed(dokku, app)) == 1


def test_mount_on_a_deployed_app_names_the_restart(dokku, app):
    """The engine is unreachable here: storage cannot tell, so it says how to apply the mount."""
    mark_deployed(dokku, app)
    r = dokku.ok("storage:mount", app, "vol:/data", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.out.startswith("-----> ")
    assert f"dokku ps:restart {app}" in r.out
    r = dokku.ok("storage:unmount", app, "vol:/data", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert f"dokku ps:restart {app}" in r.out


def test_list_and_mount_never_import_docker(dokku, app):
    script = ("import sys; from pipeline.cli import main; "
              f"codes = [main(['storage:mount', '{app}', 'vol:/data']), main(['storage:list', '{app}']), "
              f"main(['storage:report', '{app}'])]; "
              "print(codes, 'docker' in sys.modules, 'pipeline.ps' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dokku.env,
                         check=True).stdout
    assert out.splitlines()[-1] == "[0, 0, 0] False False"


class FakePs:
    def __init__(self, running):
        self.running, self.restarted = running, []

    def running_containers(self, app):
        return self.running

    def restart(self, app):
        self.restarted.append(app)


@pytest.fixture
def fake_ps(monkeypatch, dokku, app):
    """In-process storage commands against a stand-in for pipeline.ps."""
    import pipeline
    from pipeline import storage

    mark_deployed(dokku, app)

    def install(running):
        fake = FakePs(running)
        module = types.SimpleNamespace(running_containers=fake.running_containers, restart=fake.restart)
        monkeypatch.setitem(sys.modules, "pipeline.ps", module)
        monkeypatch.setattr(pipeline, "ps", module, raising=False)
        return fake
    return storage, install


def test_mount_with_running_containers_says_to_restart(fake_ps, capsys, app):
    storage, install = fake_ps
    fake = install(running=[object()])
    storage.cmd_mount([app, "vol:/data"])
    out = capsys.readouterr().out
    assert out == f"-----> The mount will apply on the next restart: dokku ps:restart {app}\n"
    assert fake.restarted == []


def test_mount_without_running_containers_says_nothing(fake_ps, capsys, app):
    storage, install = fake_ps
    install(running=[])
    storage.cmd_mount([app, "vol:/data"])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("command", ["cmd_mount", "cmd_unmount"])
def test_restart_flag_restarts_the_app(fake_ps, capsys, app, command):
    storage, install = fake_ps
    fake = install(running=[object()])
    if command == "cmd_unmount":
        storage.cmd_mount([app, "vol:/data"])
    getattr(storage, command)([app, "vol:/data", "--restart"])
    assert fake.restarted == [app]
    assert "ps:restart" not in capsys.readouterr().out.splitlines()[-1]


# ---------------------------------------------------------------- unmount

def test_unmount_removes_whatever_its_options(dokku, app):
    dokku.ok("storage:mount", app, "/srv/one:/one:ro,z")
    dokku.ok("storage:mount", app, "/srv/two:/two")
    r = dokku.ok("storage:unmount", app, "/srv/one:/one")
    assert r.err == ""
    assert [m["host_path"] for m in listed(dokku, app)] == ["/srv/two"]
    dokku.ok("storage:unmount", app, "/srv/two/:/two:ro")
    assert listed(dokku, app) == []


def test_unmount_of_a_missing_mount(dokku, app):
    dokku.ok("storage:mount", app, "/srv/one:/one")
    dokku.refuses("storage:unmount", app, "/srv/one:/other", message="Mount path does not exist.")
    dokku.refuses("storage:unmount", app, "/srv/other:/one", message="Mount path does not exist.")


def test_unmount_never_deletes_host_data(dokku, app, tmp_path):
    host = tmp_path / "data"
    host.mkdir()
    (host / "keep.txt").write_text("kept")
    dokku.ok("storage:mount", app, f"{host}:/data")
    dokku.ok("storage:unmount", app, f"{host}:/data")
    assert (host / "keep.txt").read_text() == "kept"


def test_unmount_of_a_docker_option_mount_names_docker_options_remove(dokku, app):
    dokku.ok("docker-options:add", app, "deploy,run", "-v /srv/opt:/opt")
    r = dokku.refuses("storage:unmount", app, "/srv/opt:/opt", message="Mount path does not exist.")
    assert f'dokku docker-options:remove {app} deploy,run "-v /srv/opt:/opt"' in r.err


def test_unmount_of_a_process_docker_option_mount_names_the_process(dokku, app):
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "--volume=/srv/w:/w")
    r = dokku.refuses("storage:unmount", app, "/srv/w:/w")
    assert f'dokku docker-options:remove --process worker {app} deploy "--volume=/srv/w:/w"' in r.err


def test_unmount_of_a_docker_option_mount_storage_could_not_store(dokku, app):
    """A `-v` with a space in its path is a valid docker option but not a storage spec."""
    dokku.ok("docker-options:add", app, "deploy", "-v '/srv/with space:/data'")
    r = dokku.refuses("storage:unmount", app, "/srv/with space:/data", message="Mount path does not exist.")
    assert "docker-options:remove" in r.err


@pytest.mark.parametrize("spec", ["/a", "/a:b", "$(id):/b"])
def test_unmount_bad_specs_are_refused(dokku, app, spec):
    dokku.refuses("storage:unmount", app, spec, message=GENERIC)


def test_unmount_without_a_path(dokku, app):
    dokku.refuses("storage:unmount", app, message="Please specify a mount path")


def test_unmount_on_a_missing_app(dokku):
    dokku.refuses("storage:unmount", "missing", "/a:/b", code=20)


# ---------------------------------------------------------------- report

def test_report_text(dokku, app):
    dokku.ok("storage:mount", app, "/var/lib/dokku/data/storage/node-js-app:/app/storage")
    dokku.ok("docker-options:add", app, "build", "-v /tmp/python-test:/opt/test")
    dokku.ok("docker-options:add", app, "run", "-v /srv/run:/run-only:ro")
    r = dokku.ok("storage:report", app)
    assert r.out == (
        "=====> node-js-app storage information\n"
        "       Storage build mounts:          -v /tmp/python-test:/opt/test\n"
        "       Storage deploy mounts:         -v /var/lib/dokku/data/storage/node-js-app:/app/storage\n"
        "       Storage run mounts:            -v /var/lib/dokku/data/storage/node-js-app:/app/storage"
        " -v /srv/run:/run-only:ro\n")


def test_report_empty(dokku, app):
    assert dokku.ok("storage:report", app).out == (
        "=====> node-js-app storage information\n"
        "       Storage build mounts:          \n"
        "       Storage deploy mounts:         \n"
        "       Storage run mounts:            \n")


@pytest.mark.parametrize(("flag", "value"), [
    ("--storage-build-mounts", "-v /srv/b:/b"),
    ("--storage-deploy-mounts", "-v /srv/s:/s:ro -v /srv/d:/d"),
    ("--storage-run-mounts", "-v /srv/s:/s:ro"),
])
def test_report_info_flags(dokku, app, flag, value):
    dokku.ok("storage:mount", app, "/srv/s:/s:ro")
    dokku.ok("docker-options:add", app, "build", "-v /srv/b:/b")
    dokku.ok("docker-options:add", app, "deploy", "--volume /srv/d:/d")
    assert dokku.ok("storage:report", app, flag).out == value + "\n"


def test_report_invalid_flag(dokku, app):
    dokku.refuses("storage:report", app, "--storage-bogus", message=(
        "Invalid flag passed, valid flags: --storage-build-mounts, --storage-deploy-mounts, --storage-run-mounts"))


def test_report_json(dokku, app):
    dokku.ok("storage:mount", app, "/srv/s:/s:ro")
    dokku.ok("docker-options:add", app, "build,deploy", "-v /srv/b:/b")
    report = dokku.ok_json("storage:report", app, "--format", "json")
    assert report["storage-build-mounts"] == "-v /srv/b:/b"
    assert report["storage-deploy-mounts"] == "-v /srv/s:/s:ro -v /srv/b:/b"
    assert report["storage-run-mounts"] == "-v /srv/s:/s:ro"
    assert report["mounts"] == [
        {"host_path": "/srv/s", "container_path": "/s", "readonly": True, "volume_options": [],
         "phases": ["deploy", "run"], "process_type": "_default_"},
        {"host_path": "/srv/b", "container_path": "/b", "readonly": False, "volume_options": [],
         "phases": ["build", "deploy"], "process_type": "_default_"},
    ]
    assert all(set(m) == RECORD_KEYS for m in report["mounts"])


def test_report_all_apps(dokku, app):
    dokku.ok("apps:create", "other-app")
    dokku.ok("storage:mount", "other-app", "/srv/o:/o")
    out = dokku.ok("storage:report").out
    assert "=====> node-js-app storage information\n" in out
    assert "=====> other-app storage information\n" in out
    report = dokku.ok_json("storage:report", "--format", "json")
    assert sorted(report) == ["node-js-app", "other-app"]
    assert report["other-app"]["storage-deploy-mounts"] == "-v /srv/o:/o"
    assert report["node-js-app"]["mounts"] == []


def test_report_without_apps(dokku):
    r = dokku.ok("storage:report")
    assert r.err == f"{WARN}You haven't deployed any applications yet\n"
    assert r.out == ""


def test_report_bad_format(dokku, app):
    dokku.refuses("storage:report", app, "--format", "xml", message='Format must be "stdout" or "json": "xml"')


def test_report_missing_app(dokku):
    dokku.refuses("storage:report", "missing", code=20, message="App missing does not exist")


# ---------------------------------------------------------------- ensure-directory

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


@root_only
@pytest.mark.parametrize(("chown", "uid"), [
    (None, 32767), ("herokuish", 32767), ("heroku", 1000), ("paketo", 2000), ("root", 0),
    ("0", 0), ("1234", 1234), ("65535", 65535),
])
def test_ensure_directory(dokku, chown, uid):
    args = ["storage:ensure-directory", "my-data"] + (["--chown", chown] if chown else [])
    r = dokku.ok(*args)
    path = dokku.lib / "data" / "storage" / "my-data"
    assert r.out == (f"-----> Ensuring {path} exists\n"
                     f"       Setting directory ownership to {uid}:{uid}\n"
                     "       Directory ready for mounting\n")
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (uid, uid)
    assert st.st_mode & 0o7777 == 0o755


def test_ensure_directory_chown_false_leaves_the_owner(dokku):
    r = dokku.ok("storage:ensure-directory", "--chown", "false", "plain")
    path = dokku.lib / "data" / "storage" / "plain"
    assert r.out == f"-----> Ensuring {path} exists\n       Directory ready for mounting\n"
    assert path.is_dir()
    assert path.stat().st_uid == os.geteuid()
    assert path.stat().st_mode & 0o7777 == 0o755


def test_ensure_directory_quiet(dokku):
    assert dokku.ok("--quiet", "storage:ensure-directory", "--chown", "false", "q").out == ""
    assert (dokku.lib / "data" / "storage" / "q").is_dir()


def test_ensure_directory_again_is_harmless(dokku):
    dokku.ok("storage:ensure-directory", "--chown", "false", "again")
    path = dokku.lib / "data" / "storage" / "again"
    (path / "keep.txt").write_text("kept")
    path.chmod(0o700)
    dokku.ok("storage:ensure-directory", "--chown", "false", "again")
    assert (path / "keep.txt").read_text() == "kept"
    assert path.stat().st_mode & 0o7777 == 0o755


@pytest.mark.parametrize("value", ["bogus", "65536", "-1", "1.5", "", "32767:32767", "１２"])
def test_ensure_directory_unsupported_chown(dokku, value):
    dokku.refuses("storage:ensure-directory", "--chown", value, "x", message="Unsupported chown permissions")


@pytest.mark.parametrize("name", ["../x", "a b", "a/b", ".", "..", "$(id)", "a\nb", "näme", "a.b"])
def test_ensure_directory_bad_names(dokku, name):
    dokku.refuses("storage:ensure-directory", "--chown", "false", name,
                  message="Directory can only contain the following set of characters: [A-Za-z0-9_-]")
    assert not (dokku.lib / "data").exists()


@pytest.mark.parametrize("args", [[], [""], ["--chown", "false"]])
def test_ensure_directory_without_a_name(dokku, args):
    dokku.refuses("storage:ensure-directory", *args, message="Please specify a directory to create")


def test_ensure_directory_over_a_file_is_refused(dokku):
    storage = dokku.lib / "data" / "storage"
    storage.mkdir(parents=True)
    (storage / "taken").write_text("a file")
    r = dokku("storage:ensure-directory", "--chown", "false", "taken")
    assert r.code == 1 and "is not a directory" in r.err
    assert (storage / "taken").read_text() == "a file"


def test_ensure_directory_over_a_symlink_is_refused(dokku, tmp_path):
    storage = dokku.lib / "data" / "storage"
    storage.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (storage / "link").symlink_to(elsewhere)
    r = dokku("storage:ensure-directory", "link")
    assert r.code == 1 and "is not a directory" in r.err
    assert elsewhere.stat().st_uid == os.geteuid()


# ---------------------------------------------------------------- hook answers

@pytest.fixture
def storage(dokku, app):
    from pipeline import storage
    return storage


def test_deploy_and_run_answers(dokku, app, storage):
    dokku.ok("storage:mount", app, "/srv/data:/data:ro")
    dokku.ok("storage:mount", app, "vol:/cache:nocopy")
    expected = {"mounts": [
        {"Target": "/data", "Source": "/srv/data", "Type": "bind", "ReadOnly": True},
        {"Target": "/cache", "Source": "vol", "Type": "volume", "ReadOnly": False,
         "VolumeOptions": {"NoCopy": True}},
    ]}
    assert storage.deploy_args(app, "img", "web", 1) == expected
    assert storage.deploy_args(app, "img", "worker", 2) == expected
    assert storage.run_args(app, "img") == expected


def test_answers_without_mounts_are_empty(dokku, app, storage):
    assert storage.deploy_args(app, "img", "web", 1) == {}
    assert storage.run_args(app, "img") == {}


def test_selinux_relabel_mounts_are_binds(dokku, app, storage):
    dokku.ok("storage:mount", app, "/srv/data:/data:z")
    assert storage.deploy_args(app, "img", "web", 1) == {"volumes": ["/srv/data:/data:rw,z"]}


def test_answers_follow_phases_and_process_types(dokku, app, storage):
    from pipeline import store
    from pipeline.mounts import Mount
    store.write_json_lines("storage", app, "mounts", [
        Mount("/srv/w", "/w", phases=["deploy"], process_type="worker").to_record(),
        Mount("/srv/r", "/r", phases=["run"]).to_record(),
    ])
    assert [m["Target"] for m in storage.deploy_args(app, "img", "worker", 1)["mounts"]] == ["/w"]
    assert storage.deploy_args(app, "img", "web", 1) == {}
    assert [m["Target"] for m in storage.run_args(app, "img")["mounts"]] == ["/r"]


def test_mounts_for_includes_docker_option_mounts(dokku, app, storage):
    dokku.ok("storage:mount", app, "/srv/s:/s")
    dokku.ok("docker-options:add", app, "deploy", "-v /srv/d:/d")
    dokku.ok("docker-options:add", "--process", "worker", app, "deploy", "-v /srv/w:/w")
    dokku.ok("docker-options:add", app, "build", "-v /srv/b:/b")
    assert [m.spec() for m in storage.mounts_for(app, "deploy", "web")] == ["/srv/s:/s", "/srv/d:/d"]
    assert [m.spec() for m in storage.mounts_for(app, "deploy", "worker")] == ["/srv/s:/s", "/srv/d:/d", "/srv/w:/w"]
    assert [m.spec() for m in storage.mounts_for(app, "run")] == ["/srv/s:/s"]
    assert [m.spec() for m in storage.mounts_for(app, "build")] == ["/srv/b:/b"]
