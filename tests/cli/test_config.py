"""config: set, get, unset, show, keys, per app and `--global`; values kept exactly."""
import base64

import pytest

WARN = " !     "

VALUES = [
    "plain",
    "with spaces  inside ",
    "a=b=c",
    "=leading-equals",
    "line one\nline two\n\nline four",
    "trailing newline\n",
    "\nleading newline",
    "",
    " ",
    "tab\there",
    "quotes ' \" ` and $(id) and ${HOME} and \\backslash",
    "unicode: héllo wörld ✓",
    "x" * 20000,
]


def get(dokku, *args) -> str:
    return dokku.ok("config:get", *args).out


# ---------------------------------------------------------------- set / get / unset

def test_set_get(dokku, app):
    r = dokku.ok("config:set", "--no-restart", app, "FOO=bar")
    assert "-----> Setting config vars" in r.out
    assert get(dokku, app, "FOO") == "bar\n"


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_values_round_trip_exactly(dokku, app, value):
    dokku.ok("config:set", "--no-restart", app, f"KEY={value}")
    assert get(dokku, app, "KEY") == value + "\n"
    assert dokku.ok_json("config:show", app, "--format", "json") == {"KEY": value}


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_encoded_values_round_trip_exactly(dokku, app, value):
    encoded = base64.b64encode(value.encode()).decode()
    dokku.ok("config:set", "--no-restart", "--encoded", app, f"KEY={encoded}")
    assert get(dokku, app, "KEY") == value + "\n"


def test_encoded_flag_anywhere(dokku, app):
    dokku.ok("config:set", app, "--encoded", "--no-restart", "A=" + base64.b64encode(b"x=y z").decode())
    assert get(dokku, app, "A") == "x=y z\n"


@pytest.mark.parametrize("bad", ["not base64!", "YWJ", "%%%%", "YQ", "/w=="])
def test_bad_base64_is_a_clear_error(dokku, app, bad):
    dokku.ok("config:set", "--no-restart", app, "KEEP=1")
    r = dokku.refuses("config:set", "--no-restart", "--encoded", app, "GOOD=YQ==", f"BAD={bad}")
    assert "Traceback" not in r.err
    assert "base64" in r.err and "BAD" in r.err
    assert r.err.count(WARN) == 1
    assert dokku("config:get", app, "GOOD").code == 1


def test_set_many_at_once(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=1", "B=2 3", "C=x=y")
    assert dokku.ok_json("config:show", app, "--format", "json") == {"A": "1", "B": "2 3", "C": "x=y"}


def test_set_overwrites_and_keeps_others(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=1", "B=2")
    dokku.ok("config:set", "--no-restart", app, "A=10")
    assert dokku.ok_json("config:show", app, "--format", "json") == {"A": "10", "B": "2"}


def test_last_of_a_repeated_key_wins(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=1", "A=2")
    assert get(dokku, app, "A") == "2\n"


def test_set_without_no_restart_on_an_undeployed_app(dokku, app):
    r = dokku.ok("config:set", app, "A=1")
    assert get(dokku, app, "A") == "1\n"
    assert r.err == ""


def test_unset(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=1", "B=2", "C=3")
    dokku.ok("config:unset", "--no-restart", app, "A", "C")
    assert dokku.ok_json("config:show", app, "--format", "json") == {"B": "2"}
    assert dokku("config:get", app, "A").code == 1


def test_unset_a_missing_key_is_harmless(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=1")
    dokku.ok("config:unset", "--no-restart", app, "NOPE")
    assert dokku.ok_json("config:show", app, "--format", "json") == {"A": "1"}


def test_get_missing_key_exits_1(dokku, app):
    r = dokku("config:get", app, "NOPE")
    assert r.code == 1
    assert r.out == ""
    dokku.ok("config:set", "--no-restart", app, "OTHER=1")
    assert dokku("config:get", app, "NOPE").code == 1


def test_get_needs_exactly_one_key(dokku, app):
    dokku.refuses("config:get", app)
    dokku.refuses("config:get", app, "A", "B")


@pytest.mark.parametrize("pair", [
    "1ABC=x", "A-B=x", "=x", "NOEQUALS", "A B=x", "A.B=x", "KÉY=x", "A\n=x", "\nA=x", "$A=x", "A;B=x",
])
def test_invalid_keys_are_refused(dokku, app, pair):
    dokku.ok("config:set", "--no-restart", app, "KEEP=1")
    r = dokku.refuses("config:set", "--no-restart", app, "GOOD=1", pair)
    assert "Traceback" not in r.err
    assert dokku("config:get", app, "GOOD").code == 1


@pytest.mark.parametrize("key", ["A", "_", "_A1", "abc", "A_B_C", "x9"])
def test_valid_keys(dokku, app, key):
    dokku.ok("config:set", "--no-restart", app, f"{key}=v")
    assert get(dokku, app, key) == "v\n"


def test_set_needs_a_pair(dokku, app):
    dokku.refuses("config:set", "--no-restart", app)


def test_set_needs_an_app(dokku):
    dokku.refuses("config:set", message="Please specify an app to run the command on")


def test_commands_on_a_missing_app(dokku):
    for args in (["config:set", "--no-restart", "ghost", "A=1"], ["config:unset", "ghost", "A"],
                 ["config:get", "ghost", "A"], ["config:show", "ghost"], ["config:keys", "ghost"]):
        dokku.refuses(*args, code=20, message="App ghost does not exist")


def test_unknown_flag(dokku, app):
    dokku.refuses("config:set", "--bogus", app, "A=1", code=2)


# ---------------------------------------------------------------- show / keys

def test_show_text(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=1", "LONGER_KEY=two words")
    lines = dokku.ok("config:show", app).out.splitlines()
    assert lines[0] == f"=====> {app} env vars"
    rows = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines[1:]}
    assert rows == {"A": "1", "LONGER_KEY": "two words"}
    # values line up in one column
    starts = {line.index(value) for line, value in zip(lines[1:], ("1", "two words"), strict=True)}
    assert len(starts) == 1


def test_show_empty(dokku, app):
    assert dokku.ok_json("config:show", app, "--format", "json") == {}
    assert dokku.ok("config:keys", app).out == ""


def test_show_bad_format(dokku, app):
    dokku.refuses("config:show", app, "--format", "yaml", message='Format must be "stdout" or "json": "yaml"')


def test_keys(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "B=1", "A=2")
    assert sorted(dokku.ok("config:keys", app).out.splitlines()) == ["A", "B"]


# ---------------------------------------------------------------- --global

def test_global(dokku, app):
    dokku.ok("config:set", "--global", "G=global value")
    assert get(dokku, "--global", "G") == "global value\n"
    assert dokku.ok_json("config:show", "--global", "--format", "json") == {"G": "global value"}
    assert dokku.ok("config:keys", "--global").out.splitlines() == ["G"]
    # an app's own config does not list the global vars (as Dokku)
    assert dokku.ok_json("config:show", app, "--format", "json") == {}
    dokku.ok("config:unset", "--global", "G")
    assert dokku("config:get", "--global", "G").code == 1


def test_global_and_app_are_kept_apart(dokku, app):
    dokku.ok("config:set", "--global", "SHARED=global", "ONLY_GLOBAL=g")
    dokku.ok("config:set", "--no-restart", app, "SHARED=app")
    assert get(dokku, app, "SHARED") == "app\n"
    assert get(dokku, "--global", "SHARED") == "global\n"
    dokku.ok("config:unset", "--no-restart", app, "SHARED")
    assert get(dokku, "--global", "SHARED") == "global\n"


def test_global_needs_no_app(dokku):
    dokku.ok("config:set", "--global", "G=1")
    assert (dokku.lib / "config" / "config" / "--global").is_dir()


def test_app_values_win_over_global_in_the_container_env(dokku, app, monkeypatch):
    """What containers get (`config.app_env`): global vars, overridden by the app's."""
    dokku.ok("config:set", "--global", "SHARED=global", "ONLY_GLOBAL=g")
    dokku.ok("config:set", "--no-restart", app, "SHARED=app", "ONLY_APP=a")
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(dokku.lib))
    monkeypatch.setenv("DOKKU_ROOT", str(dokku.root))
    from pipeline import config
    assert config.app_env(app) == {"SHARED": "app", "ONLY_GLOBAL": "g", "ONLY_APP": "a"}
    assert config.get(app, "ONLY_GLOBAL") == "g"
    assert config.get(app, "MISSING", "dflt") == "dflt"


# ---------------------------------------------------------------- storage on disk

def test_state_is_one_readable_file(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "A=multi\nline", "B=2")
    folder = dokku.lib / "config" / "config" / app
    assert sorted(p.name for p in folder.iterdir()) == ["env"]
    text = (folder / "env").read_text()
    assert len(text.splitlines()) == 2  # one record per line, newlines escaped
