"""docker-options: extra docker options per phase (build, deploy, run), and for the deploy phase
per process type (`--process worker`).

State: `$DOKKU_LIB_ROOT/config/docker-options/<app>/<phase>` (and `deploy.<proc>`), one
normalized option per line, sorted. Options are split shell-style, grouped per flag and
validated by `pipeline.docker_args` at `add`, so what is stored always translates; the hook
answers hand the translated Docker SDK kwargs to the build, deploy and run steps.

`clear <app>` clears every phase, process lists included; `clear <app> deploy` clears the
app-wide deploy list only, `clear --process <proc> <app>` that process's list only.
"""
import re

from pipeline import cliargs, errors, log, report, store

DESCRIPTION = "Manage docker options passed to the build, deploy and run containers"
PLUGIN = "docker-options"
PHASES = ("build", "deploy", "run")  # the same as docker_args.PHASES, without importing it
PHASE_ERROR = "Phase(s) must be one of [build deploy run]"
PROCESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def prop_name(phase: str, process_type: str | None = None) -> str:
    """The property file of a phase's options: `deploy`, or `deploy.<proc>` for a process."""
    return f"{phase}.{process_type}" if process_type else phase


def options_for(app: str, phase: str, process_type: str | None = None) -> list[str]:
    """The stored options a container of `phase` gets: the phase's list, plus the process
    type's own list for the deploy phase."""
    options = store.read_lines(PLUGIN, app, phase)
    if phase == "deploy" and process_type:
        options += [o for o in store.read_lines(PLUGIN, app, prop_name(phase, process_type)) if o not in options]
    return options


PROCESSES = "processes"  # index: the process types that have their own deploy options


def process_types(app: str) -> list[str]:
    """Process types that have their own deploy options, from the `processes` index that add,
    remove and clear keep: listing a folder costs `storage:report` of 1,000 apps more than
    reading all their files."""
    return store.read_lines(PLUGIN, app, PROCESSES)


def _listed_processes(app: str) -> list[str]:
    return sorted(n.removeprefix("deploy.") for n in store.list_props(PLUGIN, app)
                  if n.startswith("deploy.") and PROCESS.fullmatch(n.removeprefix("deploy.")))


def _reindex(app: str) -> None:
    """Rewrite the `processes` index from the files themselves (under the app lock)."""
    names = [p for p in _listed_processes(app) if store.read_lines(PLUGIN, app, prop_name("deploy", p))]
    if names != process_types(app):
        if names:
            store.write_lines(PLUGIN, app, PROCESSES, names)
        else:
            store.delete(PLUGIN, app, PROCESSES)


# ---------------------------------------------------------------------------- hook answers

def build_args(app: str, builder: str) -> dict:
    from pipeline import docker_args
    options = options_for(app, "build")
    if builder == "dockerfile":
        return docker_args.build_kwargs(options)
    return docker_args.container_kwargs(options)


def deploy_args(app: str, image: str, process_type: str, index: int) -> dict:
    from pipeline import docker_args
    return docker_args.container_kwargs(options_for(app, "deploy", process_type))


def run_args(app: str, image: str) -> dict:
    from pipeline import docker_args
    return docker_args.container_kwargs(options_for(app, "run"))


# ---------------------------------------------------------------------------- arguments

def _take_process(args: list[str]) -> tuple[list[str], str | None]:
    """Pull `--process <proc>` (or `--process=<proc>`) out of the words: docker has no such
    flag, so it is never one of the options."""
    rest, process = [], None
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--process":
            if i + 1 >= len(args):
                raise errors.UsageError("Flag --process needs a value: --process <process-type>")
            process, i = args[i + 1], i + 2
            continue
        if word.startswith("--process="):
            process = word.partition("=")[2]
        else:
            rest.append(word)
        i += 1
    if process is not None and not PROCESS.fullmatch(process):
        raise errors.DokkuError(f"Invalid process type {process!r}: letters, digits, dashes and "
                                "underscores, as in the Procfile")
    return rest, process


def parse_phases(text: str | None, process: str | None = None) -> list[str]:
    """`build,deploy` -> ["build", "deploy"], or the contract's error."""
    phases = (text or "").split(",")
    if not text or any(p not in PHASES for p in phases):
        raise errors.DokkuError(PHASE_ERROR)
    if process and phases != ["deploy"]:
        raise errors.DokkuError(f"--process applies to the deploy phase only, not {text}: "
                                f"pass the phase deploy, or drop --process {process}")
    return list(dict.fromkeys(phases))


def _app_phases_words(args: list[str], verb: str) -> tuple[str, list[str], str | None, list[str]]:
    words, process = _take_process(args)
    app = cliargs.require_app(words[0] if words else "")
    phases = parse_phases(words[1] if len(words) > 1 else None, process)
    options = words[2:]
    if not any(o.strip() for o in options):
        raise errors.DokkuError(f"Please specify docker options to {verb} the phase")
    return app, phases, process, options


# ---------------------------------------------------------------------------- commands

def cmd_add(args: list[str]) -> None:
    from pipeline import docker_args
    app, phases, process, words = _app_phases_words(args, "add to")
    new = {}
    for phase in phases:  # validate every phase before writing any
        new[phase] = docker_args.split_options(words, phase)
        docker_args.validate(phase, new[phase])
    with store.app_lock(app):
        cliargs.require_app(app)  # it may have been destroyed while we waited
        for phase, options in new.items():
            _refuse_taken_targets(app, phase, process, options)
        for phase, options in new.items():
            prop = prop_name(phase, process)
            current = store.read_lines(PLUGIN, app, prop)
            merged = sorted(set(current) | set(options))
            if merged != current:
                store.write_lines(PLUGIN, app, prop, merged)
        if process:
            _reindex(app)


def _refuse_taken_targets(app: str, phase: str, process: str | None, options: list[str]) -> None:
    """A `-v` onto a container path another mount of the phase already uses would only fail
    later, at the deploy (docker: duplicate mount point): refuse it now."""
    from pipeline import storage
    taken = {m.container_path: m for m in storage.mounts_for(app, phase, process)}
    current = store.read_lines(PLUGIN, app, prop_name(phase, process))
    for option in options:
        mount = storage.option_mount(option)
        if mount is None or option in current:
            continue
        other = taken.get(mount.container_path)
        if other is not None:
            raise errors.DokkuError(
                f"Container path {mount.container_path} is already mounted ({other.spec()}) in the {phase} "
                f"phase: remove that mount first (see dokku storage:report {app})")
        taken[mount.container_path] = mount


def _removal_texts(words: list[str], phase: str) -> list[str]:
    """The option texts to remove: normalized like `add` stores them, or, for words that no
    longer parse (an option stored before a validation rule existed), the words themselves."""
    from pipeline import docker_args
    try:
        return docker_args.split_options(words, phase)
    except docker_args.DockerOptionError:
        return [w for w in words if w.strip()]


def cmd_remove(args: list[str]) -> None:
    app, phases, process, words = _app_phases_words(args, "remove from")
    with store.app_lock(app):
        cliargs.require_app(app)
        for phase in phases:
            prop = prop_name(phase, process)
            current = store.read_lines(PLUGIN, app, prop)
            remove = _removal_texts(words, phase)
            for option in remove:
                if option not in current:
                    where = f"the {phase} phase" + (f" of process {process}" if process else "")
                    log.warn(f"Docker option {option} is not set for {where}: nothing to remove")
            kept = [o for o in current if o not in remove]
            if kept != current:
                store.write_lines(PLUGIN, app, prop, kept)
        if process:
            _reindex(app)


def cmd_clear(args: list[str]) -> None:
    words, process = _take_process(args)
    app = cliargs.require_app(words[0] if words else "")
    named = [p for word in words[1:] for p in parse_phases(word, process)]
    if process and not named:
        named = ["deploy"]
    with store.app_lock(app):
        cliargs.require_app(app)
        if not named:
            log.step(f"Clearing docker-options for {app} on all phases")
            props = list(PHASES) + [prop_name("deploy", p) for p in _listed_processes(app)]
        else:
            suffix = f" for process {process}" if process else ""
            for phase in dict.fromkeys(named):
                log.step(f"Clearing docker-options for {app} on phase {phase}{suffix}")
            props = [prop_name(phase, process) for phase in dict.fromkeys(named)]
        for prop in props:
            store.delete(PLUGIN, app, prop)
        _reindex(app)


def cmd_list(args: list[str]) -> None:
    words, process = _take_process(args)
    positional, found = cliargs.parse(words, {"--phase": True})
    cliargs.expect_at_most(positional, 1, USAGE_LIST)
    app = cliargs.require_app(positional[0] if positional else "")
    if "--phase" not in found:
        raise errors.DokkuError(f"Please specify a phase: dokku {USAGE_LIST}")
    phase = found["--phase"]
    if phase not in PHASES:
        raise errors.DokkuError(PHASE_ERROR)
    parse_phases(phase, process)
    for option in store.read_lines(PLUGIN, app, prop_name(phase, process)):
        log.data(option)


def rows(app: str) -> dict:
    out = {f"--docker-options-{phase}": " ".join(store.read_lines(PLUGIN, app, phase)) for phase in PHASES}
    for proc in process_types(app):
        out[f"--docker-options-deploy.{proc}"] = " ".join(store.read_lines(PLUGIN, app, prop_name("deploy", proc)))
    return out


def json_extra(app: str) -> dict:
    out = {f"{phase}-list": store.read_lines(PLUGIN, app, phase) for phase in PHASES}
    for proc in process_types(app):
        out[f"deploy.{proc}-list"] = store.read_lines(PLUGIN, app, prop_name("deploy", proc))
    return out


def cmd_report(args: list[str]) -> int:
    return report.run(args, PLUGIN, rows, json_extra)


USAGE_LIST = "docker-options:list <app> --phase <phase> [--process <proc>]"
COMMANDS = {
    "docker-options:add": (cmd_add, "docker-options:add [--process <proc>] <app> <phase(s)> OPTION...",
                           "Add docker options to the app's containers of one or more phases"),
    "docker-options:remove": (cmd_remove, "docker-options:remove [--process <proc>] <app> <phase(s)> OPTION...",
                              "Remove docker options from one or more phases"),
    "docker-options:clear": (cmd_clear, "docker-options:clear [--process <proc>] <app> [<phase(s)>]",
                             "Remove all docker options, or those of the named phases"),
    "docker-options:list": (cmd_list, USAGE_LIST, "List the docker options of one phase, one per line"),
    "docker-options:report": (cmd_report, "docker-options:report [<app>] [--format stdout|json] [<flag>]",
                              "Display the docker options of one or all apps"),
}
