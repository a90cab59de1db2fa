"""apps: create, list, exists, destroy, report; app names as the contract allows them."""
import json

import pytest

WARN = " !     "
NAME_ERROR = ("App name must begin with lowercase alphanumeric character, "
              "and cannot include uppercase characters, colons, or underscores")
NO_APP = "Please specify an app to run the command on"


# ---------------------------------------------------------------- create, list, exists

def test_create_list_exists(dokku):
    r = dokku.ok("apps:create", "node-js-app")
    assert "-----> Creating node-js-app" in r.out
    assert (dokku.root / "node-js-app").is_dir()
    dokku.ok("apps:exists", "node-js-app")
    assert "node-js-app" in dokku.ok("apps:list").out.splitlines()


def test_list_is_sorted_and_quiet_is_bare(dokku):
    for name in ("zeta", "alpha", "m1d"):
        dokku.ok("apps:create", name)
    out = dokku.ok("apps:list").out.splitlines()
    assert out[0] == "=====> My Apps"
    assert out[1:] == ["alpha", "m1d", "zeta"]
    assert dokku.ok("--quiet", "apps:list").out.splitlines() == ["alpha", "m1d", "zeta"]


def test_list_json(dokku, app):
    assert dokku.ok_json("apps:list", "--format", "json") == [app]


def test_list_ignores_what_is_not_an_app(dokku, app):
    (dokku.root / ".ssh").mkdir()
    (dokku.root / "ENV").write_text("x")
    (dokku.root / "Not_An_App").mkdir()
    assert dokku.ok("--quiet", "apps:list").out.splitlines() == [app]


def test_create_twice_is_refused(dokku, app):
    dokku.refuses("apps:create", app, message="Name is already taken")


def test_exists_missing_app(dokku):
    dokku.refuses("apps:exists", "ghost", code=20, message="App ghost does not exist")


def test_create_needs_a_name(dokku):
    dokku.refuses("apps:create", message=NO_APP)


def test_create_takes_one_name(dokku):
    r = dokku.refuses("apps:create", "one", "two", code=2)
    assert "two" in r.err


@pytest.mark.parametrize("bad", [
    "../x", "-rf", "App", "a_b", "a:b", "a" * 64, "ab\n", "a\nb", "\nab",
    "a/b", ".hidden", "-leading", "a b", "a.b", "ümlaut", "a;b",
])
def test_bad_app_names_are_refused(dokku, tmp_path, bad):
    r = dokku.refuses("apps:create", bad, message=NAME_ERROR)
    assert r.err.count(WARN) == 1
    assert "Traceback" not in r.err
    assert list(dokku.root.iterdir()) == []
    # Nothing escaped the root either (`../x` is a sibling of DOKKU_ROOT).
    assert not (dokku.root.parent / "x").exists()


def test_empty_app_name(dokku):
    dokku.refuses("apps:create", "", message=NO_APP)


@pytest.mark.parametrize("bad", ["../x", "App", "a_b", "a:b", "a" * 64])
def test_bad_app_names_are_refused_by_every_app_command(dokku, bad):
    for args in (["apps:exists", bad], ["apps:report", bad], ["config:show", bad],
                 ["config:set", "--no-restart", bad, "K=v"], ["apps:destroy", bad, "--force"]):
        dokku.refuses(*args, message=NAME_ERROR)


def test_63_characters_is_the_longest_name(dokku):
    name = "a" + "b1-" * 20 + "yz"
    assert len(name) == 63
    dokku.ok("apps:create", name)
    dokku.ok("apps:exists", name)
    assert dokku.ok("--quiet", "apps:list").out.splitlines() == [name]


@pytest.mark.parametrize("good", ["a", "0", "9lives", "my-app", "a-", "a--b", "123"])
def test_good_app_names(dokku, good):
    dokku.ok("apps:create", good)
    dokku.ok("apps:exists", good)


# ---------------------------------------------------------------- report

def test_report_text(dokku, app):
    lines = dokku.ok("apps:report", app).out.splitlines()
    assert lines[0] == f"=====> {app} app information"
    rows = lines[1:]
    assert rows
    for row in rows:
        assert row.startswith("       ")
        label = row[7:38]
        assert label.rstrip().endswith(":") and label[0].isupper(), row
        assert len(label) == 31
    assert any(row[7:38] == "App dir:".ljust(31) and row[38:] == str(dokku.root / app) for row in rows)


def test_report_json_one_app(dokku, app):
    report = dokku.ok_json("apps:report", app, "--format", "json")
    assert isinstance(report, dict)
    assert report["app-dir"] == str(dokku.root / app)


def test_report_json_all_apps_keyed_by_name(dokku):
    for name in ("one", "two"):
        dokku.ok("apps:create", name)
    report = dokku.ok_json("apps:report", "--format", "json")
    assert sorted(report) == ["one", "two"]
    assert report["two"]["app-dir"] == str(dokku.root / "two")
    assert dokku.ok_json("apps:report", "--format=json") == report


def test_report_text_all_apps(dokku):
    for name in ("one", "two"):
        dokku.ok("apps:create", name)
    out = dokku.ok("apps:report").out
    assert "=====> one app information" in out and "=====> two app information" in out


@pytest.mark.parametrize("value", ["xml", "text", "JSON", ""])
def test_report_bad_format(dokku, app, value):
    r = dokku.refuses("apps:report", app, "--format", value)
    assert r.err == f'{WARN}Format must be "stdout" or "json": "{value}"\n'


def test_report_bad_format_without_apps(dokku):
    dokku.refuses("apps:report", "--format", "yaml", message='Format must be "stdout" or "json": "yaml"')


def test_report_unknown_info_flag(dokku, app):
    r = dokku.refuses("apps:report", app, "--app-nope")
    line = r.err.strip("\n")
    prefix = f"{WARN}Invalid flag passed, valid flags: "
    assert line.startswith(prefix), r.err
    flags = line[len(prefix):].split(", ")
    assert flags == sorted(flags)
    keys = dokku.ok_json("apps:report", app, "--format", "json")
    assert set(flags) == {"--" + key for key in keys}


def test_report_single_info_flag_is_the_raw_value(dokku, app):
    r = dokku.ok("apps:report", app, "--app-dir")
    assert r.out == f"{dokku.root / app}\n"


def test_report_with_no_apps(dokku):
    r = dokku.ok("apps:report")
    assert r.out == ""
    assert r.err == f"{WARN}You haven't deployed any applications yet\n"
    r = dokku.ok("apps:report", "--format", "json")
    assert f"{WARN}You haven't deployed any applications yet" in r.err


def test_report_missing_app(dokku):
    dokku.refuses("apps:report", "ghost", code=20, message="App ghost does not exist")


# ---------------------------------------------------------------- destroy

def seed_state(dokku, app: str) -> None:
    """State as plugins leave it, and host data the app wrote."""
    dokku.ok("config:set", "--no-restart", app, "SECRET=1")
    for plugin, prop in (("storage", "mounts"), ("docker-options", "deploy")):
        d = dokku.lib / "config" / plugin / app
        d.mkdir(parents=True, exist_ok=True)
        (d / prop).write_text("x\n")
    data = dokku.lib / "data" / "storage" / app
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "precious.db").write_bytes(b"\x00data")
    (data / "top.txt").write_text("keep me")


def test_destroy_asks_for_the_app_name(dokku, app):
    seed_state(dokku, app)
    r = dokku("apps:destroy", app, input=f"{app}\n")
    assert r.code == 0, r.err
    assert f"To proceed, type \"{app}\"" in r.err
    assert not (dokku.root / app).exists()
    assert app not in dokku.ok("--quiet", "apps:list").out.splitlines()
    dokku.refuses("apps:exists", app, code=20)


@pytest.mark.parametrize("answer", ["", "\n", "nope\n", "node-js-ap\n", "NODE-JS-APP\n", "node-js-app-x\n"])
def test_destroy_mismatch_aborts_and_changes_nothing(dokku, app, answer):
    seed_state(dokku, app)
    before = dokku.snapshot()
    r = dokku("apps:destroy", app, input=answer)
    assert r.code == 1
    assert f"{WARN}Confirmation did not match {app}. Aborted." in r.err
    assert dokku.snapshot() == before


@pytest.mark.parametrize("where", ["before", "after"])
def test_destroy_force_skips_the_question(dokku, app, where):
    seed_state(dokku, app)
    args = ["--force", "apps:destroy", app] if where == "before" else ["apps:destroy", app, "--force"]
    r = dokku(*args, input="")
    assert r.code == 0, r.err
    assert "To proceed" not in r.err
    assert not (dokku.root / app).exists()


def test_destroy_removes_state_but_never_host_data(dokku, app):
    dokku.ok("apps:create", "other-app")
    seed_state(dokku, app)
    seed_state(dokku, "other-app")
    data = dokku.lib / "data" / "storage" / app
    data_before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    dokku.ok("apps:destroy", app, "--force", input="")
    for plugin_dir in (dokku.lib / "config").iterdir():
        assert not (plugin_dir / app).exists(), plugin_dir
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == data_before
    assert (data / "uploads").is_dir()
    # The other app keeps everything.
    assert dokku.ok("config:get", "other-app", "SECRET").out == "1\n"
    assert (dokku.lib / "config" / "storage" / "other-app" / "mounts").read_text() == "x\n"
    assert (dokku.lib / "data" / "storage" / "other-app" / "top.txt").read_text() == "keep me"


def test_destroy_keeps_global_config(dokku, app):
    dokku.ok("config:set", "--global", "G=1")
    dokku.ok("apps:destroy", app, "--force", input="")
    assert dokku.ok("config:get", "--global", "G").out == "1\n"


def test_recreated_app_starts_clean(dokku, app):
    seed_state(dokku, app)
    dokku.ok("apps:destroy", app, "--force", input="")
    dokku.ok("apps:create", app)
    assert json.loads(dokku.ok("config:show", app, "--format", "json").out) == {}
    assert not (dokku.lib / "config" / "storage" / app).exists()
    assert (dokku.lib / "data" / "storage" / app / "top.txt").read_text() == "keep me"


def test_destroy_missing_app(dokku):
    dokku.refuses("apps:destroy", "ghost", "--force", code=20, message="App ghost does not exist")


def test_destroy_needs_an_app(dokku):
    dokku.refuses("apps:destroy", "--force", message=NO_APP)
