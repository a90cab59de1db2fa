"""plugin: executable hook-point plugins, and `plugin:list|enable|disable`.

Layout. A plugin is a folder holding one executable per hook point it answers, each named
exactly as the hook point:

    $DOKKU_LIB_ROOT/plugins/available/audit/post-deploy
    $DOKKU_LIB_ROOT/plugins/available/audit/docker-args-deploy
    $DOKKU_LIB_ROOT/plugins/enabled/audit -> ../available/audit     (`dokku plugin:enable audit`)

Only enabled plugins are called: a symlink in `enabled/` made by `plugin:enable`, or a plugin
folder placed directly in `enabled/`. Plugin names match `[a-z0-9][a-z0-9_-]*`; files that are
not executable, or not named after a hook point, are never run (`plugin:list` warns about them).

Calling. `hooks.fire(point, ...)` calls the built-in answers first, then every enabled plugin
that has an executable named `point`, in plugin-name order. The hook point's arguments are the
plugin's argv, in the order of the table in `pipeline/hooks.py` (the one place that lists every
hook point, its arguments, its caller and what its answer means); e.g. `docker-args-deploy`
gets `<app> <image> <process_type> <index>`. The program runs without a shell, with stdin
closed, the caller's environment plus DOKKU_ROOT and DOKKU_LIB_ROOT, and at most TIMEOUT
seconds (then it is killed with its process group). What it does with its output and exit
status depends on the kind of hook point:

    docker-args-build|deploy|run  stdout is docker options (`--label audit=yes -v /a:/b`),
                                  validated for that phase exactly like `docker-options:add`
                                  and merged as Docker SDK kwargs; stderr is shown. An invalid
                                  option, a non-zero exit or a timeout fails the step.
    pre-*                         stdout is shown; a non-zero exit (or a timeout) stops the
                                  phase with the last lines of its stderr (or of its stdout)
                                  as the error message. On success its stderr is shown.
    post-* (and any other)        stdout and stderr are shown as they come; a non-zero exit
                                  (or a timeout) is a warning, never a failure.
"""
import collections
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import cliargs, errors, hooks, log, paths, store

DESCRIPTION = "Manage executable hook-point plugins"

NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
TIMEOUT = 300  # seconds one plugin program may run
TAIL = 10  # lines of a failed pre-* plugin's output in the error message

# The kinds of hook point, keyed by how a point's name starts (see the module docstring).
ANSWER, GATE, NOTIFY = "answer", "gate", "notify"


def kind(point: str) -> str:
    if point.startswith("docker-args-"):
        return ANSWER
    if point.startswith("pre-"):
        return GATE
    return NOTIFY


# ---------------------------------------------------------------------------- finding plugins

def _enabled_dir() -> Path:
    return paths.plugins_dir("enabled")


def _available_dir() -> Path:
    return paths.plugins_dir("available")


def validate_name(name: str) -> str:
    if name == "":
        raise errors.DokkuError("Please specify a plugin name")
    if not NAME.fullmatch(name):
        raise errors.DokkuError(f"Invalid plugin name {name!r}: use lowercase letters, digits, - and _, "
                                "starting with a letter or a digit")
    return name


def enabled_plugins() -> list[tuple[str, Path]]:
    """(name, folder) of every enabled plugin, sorted by name. One directory read; nothing
    when `plugins/enabled` does not exist (this runs at every hook point)."""
    try:
        entries = os.scandir(_enabled_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    with entries:
        found = [(entry.name, Path(entry.path)) for entry in entries
                 if NAME.fullmatch(entry.name) and entry.is_dir()]
    return sorted(found)


def _is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def answered_points(folder: Path) -> list[str]:
    """The hook points a plugin folder has an executable for, in the table's order."""
    return [point for point in hooks.HOOK_POINTS if _is_program(folder / point)]


# ---------------------------------------------------------------------------- running one

@dataclass
class Outcome:
    """What one plugin program did: its exit status (None: timed out and killed) and the
    output it kept (all of stdout for answers, the last lines otherwise)."""

    status: int | None
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.status is None:
            return f"timed out after {TIMEOUT}s and was stopped"
        if self.status < 0:
            return f"was killed by signal {-self.status}"
        return f"exited with status {self.status}"


def _environment() -> dict:
    return {**os.environ, "DOKKU_ROOT": str(paths.dokku_root()), "DOKKU_LIB_ROOT": str(paths.lib_root())}


def _drain(stream, kept: collections.deque, echo) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        kept.append(line)
        if echo is not None:
            echo.write(line + "\n")
            echo.flush()
    stream.close()


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def execute(program: Path, argv: list[str], *, show_out: bool, show_err: bool,
            keep_all_out: bool = False) -> Outcome:
    """Run one plugin program; stream the chosen outputs to ours while it runs, keep the rest."""
    try:
        proc = subprocess.Popen([str(program), *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=_environment(), start_new_session=True)
    except OSError as exc:  # not a program after all (no shebang, bad interpreter, ...)
        return Outcome(127, err=[f"cannot run {program}: {exc.strerror or exc}"])
    out = collections.deque(maxlen=None if keep_all_out else TAIL)
    err = collections.deque(maxlen=TAIL)
    readers = [threading.Thread(target=_drain, args=(proc.stdout, out, sys.stdout if show_out else None)),
               threading.Thread(target=_drain, args=(proc.stderr, err, sys.stderr if show_err else None))]
    for reader in readers:
        reader.daemon = True
        reader.start()
    try:
        status = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill(proc)
        status = None
    except BaseException:  # Ctrl-C: don't leave the plugin running in its own session
        _kill(proc)
        raise
    for reader in readers:
        reader.join(timeout=5)
    return Outcome(status, list(out), list(err))


def _argument(value) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------- the three kinds

def _answer(plugin: str, point: str, program: Path, argv: list[str], kwargs: dict) -> dict | None:
    """A docker-args-* plugin: its stdout, read as docker options, as Docker SDK kwargs."""
    from pipeline import docker_args
    outcome = execute(program, argv, show_out=False, show_err=True, keep_all_out=True)
    if outcome.status != 0:
        raise errors.DokkuError(f"{plugin} {point} failed: it {outcome.describe()}; "
                                f"its answer is not applied. Fix it or run: dokku plugin:disable {plugin}")
    text = "\n".join(outcome.out).strip()
    if not text:
        return None
    phase = point.removeprefix("docker-args-")
    try:
        options = docker_args.split_options([text], phase)
        docker_args.validate(phase, options)
        if phase == docker_args.BUILD and kwargs.get("builder") == "dockerfile":
            refused = docker_args.dockerfile_unsupported_options(options)
            if refused:
                raise docker_args.UnsupportedOption(refused[0], phase, (
                    f"Docker option {refused[0]} cannot be applied to a Dockerfile build "
                    "(docker build has no such setting)"))
            return docker_args.build_kwargs(options)
        return docker_args.container_kwargs(options)
    except docker_args.DockerOptionError as exc:
        raise errors.DokkuError(f"{plugin} {point} answered an invalid docker option: {exc}. "
                                f"Fix the plugin or run: dokku plugin:disable {plugin}") from None


def _gate(plugin: str, point: str, program: Path, argv: list[str]) -> None:
    """A pre-* plugin: a non-zero exit stops the phase with the plugin's own message."""
    log.step(f"Running {point} plugin {plugin}")
    outcome = execute(program, argv, show_out=True, show_err=False)
    if outcome.status == 0:
        for line in outcome.err:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        return
    said = "\n".join(outcome.err).strip() or "\n".join(outcome.out).strip()
    if outcome.status is None or not said:
        said = "\n".join(filter(None, [said, f"{plugin} {outcome.describe()}"]))
    raise errors.DokkuError(f"{plugin} {point} failed: {said}")


def _notify(plugin: str, point: str, program: Path, argv: list[str]) -> None:
    """A post-* plugin: output shown as it comes; a failure is only a warning."""
    log.step(f"Running {point} plugin {plugin}")
    outcome = execute(program, argv, show_out=True, show_err=True)
    if outcome.status != 0:
        log.warn(f"{plugin} {point} {outcome.describe()}; carrying on ({point} plugins cannot undo the step)")


def fire_executables(point: str, kwargs: dict) -> list:
    """Call every enabled plugin's `point` executable (see the module docstring) and return
    the answers of the docker-args-* ones (kwargs dicts) in plugin-name order."""
    programs = [(name, folder / point) for name, folder in enabled_plugins() if _is_program(folder / point)]
    if not programs:
        return []
    argv = [_argument(kwargs[name]) for name in hooks.HOOK_POINTS[point]]
    point_kind = kind(point)
    answers = []
    for plugin, program in programs:
        if point_kind == ANSWER:
            answer = _answer(plugin, point, program, argv, kwargs)
            if answer:
                answers.append(answer)
        elif point_kind == GATE:
            _gate(plugin, point, program, argv)
        else:
            _notify(plugin, point, program, argv)
    return answers


# ---------------------------------------------------------------------------- commands

def _plugin_state(name: str) -> tuple[str, Path]:
    """("enabled" | "disabled" | "broken", the folder to read its hook points from)."""
    link = _enabled_dir() / name
    if link.is_dir():
        return "enabled", link
    if os.path.lexists(link):
        return "broken", link  # a symlink whose target is gone
    return "disabled", _available_dir() / name


def _names(folder: Path) -> set[str]:
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return set()
    with entries:
        return {e.name for e in entries if NAME.fullmatch(e.name) and (e.is_dir() or e.is_symlink())}


def _stray_files(name: str, folder: Path) -> list[str]:
    """Warnings for files that look like hook answers but are never run."""
    if not folder.is_dir():
        return [f"Plugin {name}: {folder} points to a missing folder; run: dokku plugin:disable {name}"]
    notes = []
    with contextlib.suppress(OSError):
        for entry in sorted(folder.iterdir()):
            if entry.name in hooks.HOOK_POINTS and entry.is_file() and not os.access(entry, os.X_OK):
                notes.append(f"Plugin {name}: {entry.name} is not executable, so it is never run "
                             f"(chmod +x {entry})")
            elif entry.name not in hooks.HOOK_POINTS and _is_program(entry):
                notes.append(f"Plugin {name}: {entry.name} is not a hook point, so it is never run "
                             f"(hook points: {', '.join(hooks.HOOK_POINTS)})")
    return notes


def cmd_list(args: list[str]) -> None:
    positional, found = cliargs.parse(args, {"--format": True})
    cliargs.expect_at_most(positional, 0, "plugin:list [--format json]")
    fmt = cliargs.output_format(found)
    rows = []
    for name in sorted(_names(_available_dir()) | _names(_enabled_dir())):
        state, folder = _plugin_state(name)
        rows.append({"name": name, "enabled": state == "enabled", "state": state,
                     "hooks": answered_points(folder), "warnings": _stray_files(name, folder)})
    for row in rows:
        for note in row.pop("warnings"):
            log.warn(note)
    if fmt == "json":
        log.data(json.dumps([{k: row[k] for k in ("name", "enabled", "hooks")} for row in rows]))
        return
    width = max((len(row["name"]) for row in rows), default=0)
    for row in rows:
        log.data(f"  {row['name']:<{width}}  {row['state']:<8}  {', '.join(row['hooks']) or '-'}")


def _one_name(args: list[str], usage: str) -> str:
    positional, _ = cliargs.parse(args, {})
    cliargs.expect_at_most(positional, 1, usage)
    return validate_name(positional[0] if positional else "")


def cmd_enable(args: list[str]) -> None:
    name = _one_name(args, "plugin:enable <name>")
    link = _enabled_dir() / name
    if not link.is_dir():
        if not (_available_dir() / name).is_dir():
            raise errors.DokkuError(f"Plugin {name} does not exist: put its executables in "
                                    f"{_available_dir() / name}/ first (see `dokku plugin:list`)")
        store._makedirs(link.parent)
        temporary = link.parent / f".{name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(os.path.join("..", "available", name), temporary)
        os.replace(temporary, link)  # also repairs a dangling link
    log.step(f"Plugin {name} enabled")


def cmd_disable(args: list[str]) -> None:
    name = _one_name(args, "plugin:disable <name>")
    link = _enabled_dir() / name
    if link.is_symlink():
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
    elif link.is_dir():  # a plugin placed directly in enabled/: move it to available/
        target = _available_dir() / name
        if os.path.lexists(target):
            raise errors.DokkuError(f"Plugin {name} is a folder in {link.parent} and {target} also "
                                    f"exists: remove one of them by hand")
        store._makedirs(target.parent)
        os.rename(link, target)
    else:
        raise errors.DokkuError(f"Plugin {name} is not enabled (see `dokku plugin:list`)")
    log.step(f"Plugin {name} disabled")


COMMANDS = {
    "plugin:list": (cmd_list, "plugin:list [--format json]",
                    "List plugins, whether each is enabled, and the hook points it answers"),
    "plugin:enable": (cmd_enable, "plugin:enable <name>",
                      "Enable a plugin from $DOKKU_LIB_ROOT/plugins/available"),
    "plugin:disable": (cmd_disable, "plugin:disable <name>", "Disable an enabled plugin"),
}
