"""storage: persistent host directories (or docker volumes) mounted into the app's deploy and
run containers.

State: `$DOKKU_LIB_ROOT/config/storage/<app>/mounts`, one JSON object per line (see
`pipeline.mounts.Mount.to_record`). A mount is stored, not applied: running containers keep
their mounts until a restart (`--restart` does it at once). Mounts added with
`docker-options:add <app> <phase> "-v host:container"` are shown too (build-phase ones are the
only build mounts), but they belong to docker-options and are removed there.

Nothing heavy is imported here (`storage:list` must stay within 3x a bare `python -c pass`),
and docker is only asked about running containers once the app has been deployed.
"""
import json
import os
import re
import shlex

from pipeline import cliargs, docker_options, errors, log, paths, report, store
from pipeline.mounts import DEFAULT_PROCESS, Mount, parse_spec

DESCRIPTION = "Manage mounted volumes"
PLUGIN = "storage"
VOLUME_FLAGS = ("-v", "--volume")
CHOWN_IDS = {"herokuish": 32767, "heroku": 1000, "paketo": 2000, "root": 0}
DIRECTORY_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


# ---------------------------------------------------------------------------- state

def stored_mounts(app: str) -> list[Mount]:
    """The mounts `storage:mount` stored, in the order they were added."""
    return [Mount.from_record(r) for r in store.read_json_lines(PLUGIN, app, "mounts")]


def _save(app: str, mounts: list[Mount]) -> None:
    store.write_json_lines(PLUGIN, app, "mounts", [m.to_record() for m in mounts])


def volume_spec(option: str) -> str | None:
    """The `host:container[:opts]` of a stored `-v`/`--volume` docker option, else None."""
    if not option.startswith(("-v", "--volume")):
        return None
    try:  # shlex is slow: a plain split does for the usual unquoted option
        words = option.split() if not set(option) & set("'\"\\") else shlex.split(option)
    except ValueError:
        return None
    if len(words) == 2 and words[0] in VOLUME_FLAGS:
        return words[1]
    if len(words) == 1:
        for flag in ("--volume=", "-v=", "-v"):
            if words[0].startswith(flag) and len(words[0]) > len(flag):
                return words[0][len(flag):]
    return None


def option_mounts(app: str) -> list[tuple[str, str | None, str, Mount]]:
    """The `-v` docker-options of every phase as (phase, process type, option text, Mount).
    A spec storage:mount would refuse (e.g. a path with a space) still shows, unparsed."""
    found = []
    sources = [(phase, None) for phase in docker_options.PHASES]
    sources += [("deploy", proc) for proc in docker_options.process_types(app)]
    for phase, proc in sources:
        for option in store.read_lines(docker_options.PLUGIN, app, docker_options.prop_name(phase, proc)):
            mount = option_mount(option)
            if mount is None:
                continue
            mount.phases, mount.process_type = [phase], proc or DEFAULT_PROCESS
            found.append((phase, proc, option, mount))
    return found


def option_mount(option: str) -> Mount | None:
    """The Mount of a `-v`/`--volume` docker option (None for any other option)."""
    spec = volume_spec(option)
    return None if spec is None else _loose_mount(spec)


def _loose_mount(spec: str) -> Mount:
    try:
        return parse_spec(spec)
    except errors.DokkuError:
        host, _, rest = spec.partition(":")
        container, _, options = rest.partition(":")
        return Mount(host, container, "ro" in options.split(","),
                     [o for o in options.split(",") if o and o not in ("ro", "rw")])


def _select(stored: list[Mount], options: list[tuple], phase: str, process_type: str | None) -> list[Mount]:
    return [m for m in stored + [o[3] for o in options] if m.applies_to(phase, process_type)]


def mounts_for(app: str, phase: str, process_type: str | None = None) -> list[Mount]:
    """Every mount a container of `phase` (and `process_type`) gets: storage mounts and `-v`
    docker-options. For the deploy's preflight (missing sources, ownership)."""
    return _select(stored_mounts(app), option_mounts(app), phase, process_type)


def _merged(stored: list[Mount], options: list[tuple]) -> list[Mount]:
    """Storage mounts and `-v` docker-options of every phase (the typed JSON array); the same
    option in several phases is one record."""
    merged: dict[tuple, Mount] = {}
    for _, _, _, mount in options:
        key = (mount.spec(), mount.process_type)
        if key in merged:
            merged[key] = merged[key].copy(phases=merged[key].phases + mount.phases)
        else:
            merged[key] = mount
    return stored + list(merged.values())


def all_mounts(app: str) -> list[Mount]:
    return _merged(stored_mounts(app), option_mounts(app))


# ---------------------------------------------------------------------------- hook answers

def _container_args(mounts: list[Mount]) -> dict:
    """Docker SDK kwargs: `{"mounts": [...]}` (and `{"volumes": [...]}` for z/Z relabels,
    which docker's mount API cannot express)."""
    if not mounts:
        return {}
    from pipeline import docker_args
    return docker_args.merge_kwargs(*(docker_args.volume_kwargs(m.spec()) for m in mounts))


def deploy_args(app: str, image: str, process_type: str, index: int) -> dict:
    return _container_args([m for m in stored_mounts(app) if m.applies_to("deploy", process_type)])


def run_args(app: str, image: str) -> dict:
    return _container_args([m for m in stored_mounts(app) if m.applies_to("run")])


# ---------------------------------------------------------------------------- restarts

def _after_change(app: str, restart: bool, what: str) -> None:
    """Apply the change now (`--restart`), or say how to when containers are running."""
    if store.get("ps", app, "deployed") != "true":  # cheap: no docker for a never-deployed app
        if restart:
            log.step(f"{app} has not been deployed yet: the {what} applies at its first deploy")
        return
    from pipeline import ps
    if restart:
        if store.get("ps", app, "stopped") == "true":
            log.step(f"{app} is stopped: the {what} applies when it starts (dokku ps:start {app})")
            return
        log.step(f"Restarting {app} to apply the {what}")
        ps.restart(app)
        return
    try:
        running = bool(ps.running_containers(app))
    except Exception:  # the engine is unreachable: assume containers may be running
        running = True
    if running:
        log.step(f"The {what} will apply on the next restart: dokku ps:restart {app}")


# ---------------------------------------------------------------------------- commands

def _app_and_spec(args: list[str], usage: str) -> tuple[str, str, bool]:
    positional, found = cliargs.parse(args, {"--restart": False})
    cliargs.expect_at_most(positional, 2, usage)
    app = cliargs.require_app(positional[0] if positional else "")
    if len(positional) < 2 or positional[1] == "":
        raise errors.DokkuError(f"Please specify a mount path: dokku {usage}")
    return app, positional[1], bool(found.get("--restart"))


def cmd_mount(args: list[str]) -> None:
    app, spec, restart = _app_and_spec(args, USAGE_MOUNT)
    mount = parse_spec(spec)
    with store.app_lock(app):
        cliargs.require_app(app)  # it may have been destroyed while we waited for the lock
        mounts = stored_mounts(app)
        for other in mounts:
            if other.same_paths(mount):
                raise errors.DokkuError("Mount path already exists.")
            if other.container_path == mount.container_path:
                raise errors.DokkuError(
                    f"Container path {mount.container_path} is already mounted from {other.host_path}: "
                    f"unmount it first: dokku storage:unmount {app} {other.spec()}")
        for phase, _, option, other in option_mounts(app):
            if phase != "build" and other.container_path == mount.container_path:
                exists = "Mount path already exists. " if other.same_paths(mount) else ""
                raise errors.DokkuError(
                    f"{exists}Container path {mount.container_path} is already mounted by the docker "
                    f"option {option!r} of the {phase} phase: see dokku docker-options:report {app}")
        _save(app, mounts + [mount])
    if mount.is_bind() and not os.path.exists(mount.host_path):
        log.warn(f"Host path {mount.host_path} does not exist: deploys fail until it does. Create it with "
                 f"dokku storage:ensure-directory <name> (for {paths.storage_root()}/<name>) or mkdir")
    _after_change(app, restart, "mount")


def _quoted(option: str) -> str:
    """An option as the user would type it: in double quotes when that is safe."""
    return f'"{option}"' if not set(option) & set('"$`\\!') else shlex.quote(option)


def _docker_option_hint(app: str, spec: str) -> str:
    """Where a mount that is not a storage mount lives: the docker-options:remove to run."""
    host, _, rest = spec.partition(":")
    wanted = (host.rstrip("/") or "/", rest.partition(":")[0].rstrip("/") or "/")
    phases: dict[tuple[str | None, str], list[str]] = {}
    for phase, proc, option, m in option_mounts(app):
        if (m.host_path.rstrip("/") or "/", m.container_path.rstrip("/") or "/") == wanted:
            phases.setdefault((proc, option), []).append(phase)
    commands = [f"dokku docker-options:remove{f' --process {proc}' if proc else ''} {app} "
                f"{','.join(found)} {_quoted(option)}" for (proc, option), found in phases.items()]
    return " It is a docker option; remove it with: " + " and ".join(commands) if commands else ""


def cmd_unmount(args: list[str]) -> None:
    app, spec, restart = _app_and_spec(args, USAGE_UNMOUNT)
    try:
        wanted = parse_spec(spec)
    except errors.DokkuError:
        hint = _docker_option_hint(app, spec)
        if hint:
            raise errors.DokkuError("Mount path does not exist." + hint) from None
        raise
    with store.app_lock(app):
        cliargs.require_app(app)
        mounts = stored_mounts(app)
        kept = [m for m in mounts if not m.same_paths(wanted)]
        if len(kept) == len(mounts):
            raise errors.DokkuError("Mount path does not exist." + _docker_option_hint(app, wanted.spec()))
        _save(app, kept)
    _after_change(app, restart, "unmount")


def cmd_list(args: list[str]) -> None:
    positional, found = cliargs.parse(args, {"--format": True})
    cliargs.expect_at_most(positional, 1, USAGE_LIST)
    fmt = cliargs.output_format(found, "text", ("text", "json"))
    app = cliargs.require_app(positional[0] if positional else "")
    mounts = mounts_for(app, "deploy")
    if fmt == "json":
        log.data(json.dumps([m.to_record() for m in mounts]))
        return
    log.step(f"{app} volume bind-mounts:")
    for mount in mounts:
        log.data(("" if log.QUIET else "       ") + mount.spec())


_REPORT_DATA: dict[str, tuple] = {}


def _report_data(app: str) -> tuple[list[Mount], list[tuple]]:
    """Read once per app: rows() and json_extra() both need it (`storage:report` of all apps)."""
    if app not in _REPORT_DATA:
        _REPORT_DATA[app] = (stored_mounts(app), option_mounts(app))
    return _REPORT_DATA[app]


def rows(app: str) -> dict:
    stored, options = _report_data(app)
    out = {}
    for phase in docker_options.PHASES:
        specs = [m.spec() for m in _select([] if phase == "build" else stored, options, phase, None)]
        out[f"--storage-{phase}-mounts"] = " ".join("-v " + shlex.quote(spec) for spec in specs)
    return out


def json_extra(app: str) -> dict:
    return {"mounts": [m.to_record() for m in _merged(*_report_data(app))]}


def cmd_report(args: list[str]) -> int:
    _REPORT_DATA.clear()
    return report.run(args, PLUGIN, rows, json_extra)


def cmd_ensure_directory(args: list[str]) -> None:
    positional, found = cliargs.parse(args, {"--chown": True})
    cliargs.expect_at_most(positional, 1, USAGE_ENSURE)
    chown = found.get("--chown", "herokuish")
    if chown in CHOWN_IDS:
        uid = CHOWN_IDS[chown]
    elif chown == "false":
        uid = None
    elif chown.isdigit() and chown.isascii() and int(chown) <= 65535:
        uid = int(chown)
    else:
        raise errors.DokkuError("Unsupported chown permissions")
    if not positional or positional[0] == "":
        raise errors.DokkuError("Please specify a directory to create")
    name = positional[0]
    if not DIRECTORY_NAME.fullmatch(name):
        raise errors.DokkuError("Directory can only contain the following set of characters: [A-Za-z0-9_-]")
    path = paths.storage_root() / name
    log.step(f"Ensuring {path} exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise errors.DokkuError(f"{path} exists and is not a directory: move it away and run this again")
    path.mkdir(mode=0o755, exist_ok=True)
    os.chmod(path, 0o755)  # whatever the umask
    if uid is not None:
        log.detail(f"Setting directory ownership to {uid}:{uid}")
        _chown(str(path), uid)
    log.detail("Directory ready for mounting")


def _chown(path: str, uid: int) -> None:
    from pipeline import ownership
    try:
        if ownership.needs_chown(path, uid, uid):
            ownership.chown_tree(path, uid, uid)
    except Exception as err:
        raise errors.DokkuError(f"Could not set the owner of {path} to {uid}:{uid}: {err}. "
                                "Run it as root, or pass --chown false and set it by hand") from None


USAGE_LIST = "storage:list <app> [--format text|json]"
USAGE_MOUNT = "storage:mount <app> <host:container[:options]> [--restart]"
USAGE_UNMOUNT = "storage:unmount <app> <host:container[:options]> [--restart]"
USAGE_ENSURE = "storage:ensure-directory [--chown herokuish|heroku|paketo|root|false|<uid>] <name>"
COMMANDS = {
    "storage:list": (cmd_list, USAGE_LIST, "List the app's deploy-phase mounts (host:container)"),
    "storage:mount": (cmd_mount, USAGE_MOUNT, "Mount a host directory or docker volume into the app's containers"),
    "storage:unmount": (cmd_unmount, USAGE_UNMOUNT, "Remove a mount (never deletes data on the host)"),
    "storage:report": (cmd_report, "storage:report [<app>] [--format stdout|json] [<flag>]",
                       "Display the mounts of one or all apps, per phase"),
    "storage:ensure-directory": (cmd_ensure_directory, USAGE_ENSURE,
                                 "Create a directory under the storage root, owned for the app's user"),
}
