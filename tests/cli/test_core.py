"""The core, as a user meets it: dispatch, help, version, global flags, exit codes, the two
roots read from the environment, and commands arriving over SSH."""
import re
import subprocess

import pytest

from tests.cli.conftest import Dokku
from tests.conftest import DOKKU_CMD

WARN = " !     "


def namespaces(dokku) -> list[str]:
    """The namespaces `dokku help` lists (its indented `    <ns>   <description>` rows)."""
    out = dokku.ok("help").out
    return [line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()]


# ---------------------------------------------------------------- help and version

def test_help_lists_namespaces(dokku):
    r = dokku.ok("help")
    assert r.out.startswith("Usage: dokku ")
    listed = namespaces(dokku)
    for ns in ("apps", "config", "version"):
        assert ns in listed, r.out
    assert r.err == ""


def test_no_command_prints_help(dokku):
    assert dokku.ok().out == dokku.ok("help").out


@pytest.mark.parametrize("word", ["--help", "-h"])
def test_help_aliases(dokku, word):
    assert dokku.ok(word).out == dokku.ok("help").out


@pytest.mark.parametrize("word", ["version", "--version"])
def test_version(dokku, word):
    # Dokku prints `dokku version X.Y.Z`, and user scripts take the third word.
    r = dokku.ok(word)
    assert re.fullmatch(r"dokku version \d+\.\d+\.\d+\n", r.out), r.out
    assert r.out.split()[2] == r.out.split()[-1]


@pytest.mark.parametrize("ns", ["apps", "config"])
@pytest.mark.parametrize("form", ["{ns}", "{ns}:help"])
def test_namespace_help_format(dokku, ns, form):
    r = dokku.ok(form.format(ns=ns))
    lines = r.out.splitlines()
    assert lines[0] == f"Usage: dokku {ns}[:COMMAND]"
    assert lines[1] == ""
    assert lines[2].strip() and not lines[2].startswith(" ")
    assert lines[3] == ""
    assert lines[4] == "Additional commands:"
    commands = lines[5:]
    assert commands, r.out
    for line in commands:
        assert re.match(rf"^    dokku {re.escape(ns)}:[a-z-]+\b", line), line
        assert line.split(maxsplit=2)[2].strip(), f"no description: {line!r}"


def test_every_listed_namespace_has_help(dokku):
    for ns in namespaces(dokku):
        if ns == "version":
            continue
        r = dokku(f"{ns}:help")
        assert r.code == 0, f"dokku {ns}:help exited {r.code}: {r.err}"
        assert r.out.splitlines()[0] == f"Usage: dokku {ns}[:COMMAND]", r.out
        assert "Additional commands:" in r.out.splitlines()


def test_namespace_help_lists_its_commands(dokku):
    out = dokku.ok("apps:help").out
    for command in ("apps:create", "apps:destroy", "apps:exists", "apps:list", "apps:report"):
        assert f"dokku {command}" in out
    out = dokku.ok("config:help").out
    for command in ("config:get", "config:keys", "config:set", "config:show", "config:unset"):
        assert f"dokku {command}" in out


# ---------------------------------------------------------------- exit codes

@pytest.mark.parametrize("command", ["nope", "apps:nope", "config:frobnicate", "apps-list", ":"])
def test_unknown_command_is_a_usage_error(dokku, command):
    r = dokku.refuses(command, code=2)
    assert r.out == ""
    assert command in r.err
    assert "dokku help" in r.err or "help" in r.err


def test_unknown_flag_is_a_usage_error(dokku):
    r = dokku.refuses("apps:list", "--bogus", code=2)
    assert "--bogus" in r.err


def test_missing_app_exits_20(dokku):
    for args in (["apps:exists", "ghost"], ["apps:report", "ghost"], ["config:show", "ghost"],
                 ["config:set", "--no-restart", "ghost", "A=b"], ["config:get", "ghost", "A"]):
        dokku.refuses(*args, code=20, message="App ghost does not exist")


@pytest.mark.parametrize("command", ["apps:exists", "config:show", "config:keys"])
def test_empty_app_argument(dokku, command):
    dokku.refuses(command, "", message="Please specify an app to run the command on")


def test_errors_go_to_stderr_once_and_never_a_traceback(dokku, app):
    # Corrupt state is an error with one line, not a Python traceback.
    env = dokku.lib / "config" / "config" / app / "env"
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text("{not json\n")
    r = dokku("config:show", app)
    assert r.code == 1
    assert "Traceback" not in r.err
    lines = [line for line in r.err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith(WARN), r.err


def test_trace_shows_the_traceback(dokku, app):
    env = dokku.lib / "config" / "config" / app / "env"
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text("{not json\n")
    r = dokku("--trace", "config:show", app)
    assert r.code != 0
    assert "Traceback" in r.err


# ---------------------------------------------------------------- global flags

def test_quiet_drops_decoration_not_data(dokku, app):
    loud = dokku.ok("apps:list").out.splitlines()
    assert any(line.startswith("=====> ") for line in loud)
    assert app in loud
    quiet = dokku.ok("--quiet", "apps:list").out.splitlines()
    assert quiet == [app]


def test_quiet_anywhere_on_the_line(dokku, app):
    assert dokku.ok("apps:list", "--quiet").out.splitlines() == [app]


def test_quiet_drops_steps(dokku):
    r = dokku.ok("--quiet", "apps:create", "quiet-app")
    assert "-----> " not in r.out
    loud = dokku.ok("apps:create", "loud-app")
    assert "-----> " in loud.out


def test_quiet_keeps_report_values_and_config_rows(dokku, app):
    dokku.ok("config:set", "--no-restart", app, "FOO=bar")
    r = dokku.ok("--quiet", "config:show", app)
    assert "=====> " not in r.out
    assert "FOO" in r.out and "bar" in r.out
    r = dokku.ok("--quiet", "apps:report", app)
    assert "=====> " not in r.out
    assert "App dir:" in r.out


def test_quiet_never_drops_errors(dokku):
    r = dokku.refuses("--quiet", "apps:exists", "ghost", code=20, message="App ghost does not exist")
    assert r.out == ""


def test_force_before_the_command(dokku, app):
    dokku.ok("--force", "apps:destroy", app, input="")
    assert not (dokku.root / app).exists()


# ---------------------------------------------------------------- the two roots

def test_roots_are_read_from_the_environment_side_by_side(tmp_path):
    sides = []
    for name in ("one", "two"):
        root, lib = tmp_path / name / "home", tmp_path / name / "lib"
        root.mkdir(parents=True)
        lib.mkdir()
        sides.append(Dokku({"DOKKU_ROOT": str(root), "DOKKU_LIB_ROOT": str(lib)}))
    one, two = sides
    one.ok("apps:create", "app-one")
    two.ok("apps:create", "app-two")
    one.ok("config:set", "--no-restart", "app-one", "WHERE=one")
    two.ok("config:set", "--global", "WHERE=two")
    assert one.ok("--quiet", "apps:list").out.splitlines() == ["app-one"]
    assert two.ok("--quiet", "apps:list").out.splitlines() == ["app-two"]
    assert (tmp_path / "one" / "home" / "app-one").is_dir()
    assert (tmp_path / "two" / "home" / "app-two").is_dir()
    assert not (tmp_path / "one" / "home" / "app-two").exists()
    assert (tmp_path / "one" / "lib" / "config" / "config" / "app-one").is_dir()
    assert not (tmp_path / "one" / "lib" / "config" / "config" / "--global").exists()
    assert (tmp_path / "two" / "lib" / "config" / "config" / "--global").is_dir()
    one.refuses("apps:exists", "app-two", code=20)
    assert two("config:get", "--global", "WHERE").out == "two\n"
    assert one("config:get", "--global", "WHERE").code == 1


def test_roots_are_created_when_missing(tmp_path):
    d = Dokku({"DOKKU_ROOT": str(tmp_path / "a" / "home"), "DOKKU_LIB_ROOT": str(tmp_path / "a" / "lib")})
    assert d("apps:report").code == 0
    d.ok("apps:create", "fresh")
    assert (tmp_path / "a" / "home" / "fresh").is_dir()


# ---------------------------------------------------------------- SSH_ORIGINAL_COMMAND

def ssh(dokku, command: str, input: str | None = "") -> subprocess.CompletedProcess:
    """dokku run with no arguments, the command in $SSH_ORIGINAL_COMMAND (an authorized_keys
    forced command)."""
    return subprocess.run(DOKKU_CMD, capture_output=True, text=True, input=input, timeout=60,
                          env={**dokku.env, "SSH_ORIGINAL_COMMAND": command})


def test_ssh_original_command_dispatches(dokku, app):
    r = ssh(dokku, "apps:list")
    assert r.returncode == 0, r.stderr
    assert app in r.stdout.splitlines()
    assert "=====> " in r.stdout


def test_ssh_original_command_with_global_flags(dokku, app):
    r = ssh(dokku, "--quiet apps:list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [app]


def test_ssh_original_command_is_split_like_a_shell_but_never_evaluated(dokku, app, tmp_path):
    marker = tmp_path / "evaluated"
    value = f"$(touch {marker}); `touch {marker}` a b"
    r = ssh(dokku, f"config:set --no-restart {app} 'GREETING={value}'")
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    assert dokku.ok("config:get", app, "GREETING").out == value + "\n"


def test_ssh_original_command_with_shell_metacharacters_is_not_a_command(dokku, app, tmp_path):
    marker = tmp_path / "evaluated"
    before = dokku.snapshot()
    r = ssh(dokku, f"apps:list; touch {marker}")
    assert r.returncode == 2
    assert WARN in r.stderr
    assert not marker.exists()
    assert dokku.snapshot() == before


def test_ssh_original_command_exit_codes(dokku):
    r = ssh(dokku, "apps:exists ghost")
    assert r.returncode == 20
    assert f"{WARN}App ghost does not exist" in r.stderr


def test_arguments_win_over_ssh_original_command(dokku, app):
    r = subprocess.run([*DOKKU_CMD, "version"], capture_output=True, text=True, timeout=60,
                       env={**dokku.env, "SSH_ORIGINAL_COMMAND": f"apps:destroy {app} --force"})
    assert r.returncode == 0
    assert (dokku.root / app).is_dir()



def test_ssh_original_command_with_an_unclosed_quote_is_a_usage_error(dokku, app):
    before = dokku.snapshot()
    r = ssh(dokku, f"config:set --no-restart {app} 'K=v")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line]
    assert lines and all(line.startswith(WARN) for line in lines), r.stderr
    assert dokku.snapshot() == before


def test_ssh_original_command_may_start_with_dokku(dokku, app):
    r = ssh(dokku, "dokku --quiet apps:list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [app]


# ---------------------------------------------------------------- output to a closed pipe

def test_a_reader_that_stops_early_is_not_an_error(dokku):
    """`dokku help | head -1`: the reader goes away; dokku stops quietly."""
    proc = subprocess.Popen([*DOKKU_CMD, "help"], env=dokku.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(60)
    assert "BrokenPipe" not in err and "Traceback" not in err and "Exception ignored" not in err, err


def test_logs_namespace_help_lists_deploy_logs_too(dokku):
    out = dokku.ok("logs:help").out
    assert out.splitlines()[2] == "Show the app's process logs and its kept deploy logs"
    assert "dokku logs:deploy <app>" in out
