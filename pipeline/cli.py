"""`dokku [--quiet] [--force] [--trace] <command> [args...]`: dispatch to the plugin that owns
the command, and print typed errors once, with their exit code."""
import gc
import importlib
import os
import sys

from pipeline import errors, log
from pipeline.registry import BARE_COMMANDS, COMMAND_OWNERS, DESCRIPTIONS, PLUGINS

VERSION = "0.1.0"
GLOBAL_FLAGS = ("--quiet", "--force", "--trace")
# Commands whose arguments belong to someone else and are passed on untouched.
PASSTHROUGH = {"run", "git-receive-pack", "git-upload-pack", "git-hook"}

FORCE = False
TRACE = False


def _load(module_name: str):
    return importlib.import_module(module_name)


def print_help() -> None:
    log.data("Usage: dokku [--quiet|--force|--trace] COMMAND <app> [command-specific-options]")
    log.data("")
    log.data("Primary help options, type \"dokku COMMAND:help\" for more details, or dokku COMMAND to run:")
    for ns in sorted(PLUGINS):
        desc = DESCRIPTIONS.get(ns) or _load(PLUGINS[ns]).DESCRIPTION
        log.data(f"    {ns:<20} {desc}")
    log.data(f"    {'version':<20} Print dokku's version")


def namespace_help(ns: str) -> None:
    module = _load(PLUGINS[ns])
    log.data(f"Usage: dokku {ns}[:COMMAND]")
    log.data("")
    log.data(DESCRIPTIONS.get(ns) or module.DESCRIPTION)
    log.data("")
    log.data("Additional commands:")
    commands = dict(module.COMMANDS)
    for name, owner in COMMAND_OWNERS.items():
        commands[name] = _load(owner).COMMANDS[name]
    rows = [(usage, text) for name, (_, usage, text) in sorted(commands.items()) if name.split(":")[0] == ns]
    width = max((len(u) for u, _ in rows), default=0)
    for usage, text in rows:
        log.data(f"    dokku {usage:<{width}}  {text}")


def _split_global_flags(argv: list[str]) -> list[str]:
    global FORCE, TRACE
    rest = list(argv)
    while rest and rest[0] in GLOBAL_FLAGS:
        flag = rest.pop(0)
        FORCE |= flag == "--force"
        TRACE |= flag == "--trace"
        if flag == "--quiet":
            log.set_quiet(True)
    if rest and rest[0] not in PASSTHROUGH:
        # Dokku accepts the global flags anywhere on the line.
        kept = []
        for word in rest:
            if word == "--quiet":
                log.set_quiet(True)
            elif word == "--trace":
                TRACE = True
            elif word == "--force" and not rest[0].startswith("docker-options:"):
                FORCE = True
            else:
                kept.append(word)
        rest = kept
    return rest


def dispatch(argv: list[str]) -> int:
    if not argv:
        print_help()
        return 0
    command, args = argv[0], argv[1:]
    if command in ("help", "--help", "-h"):
        print_help()
        return 0
    if command in ("version", "--version", "-v"):
        log.data(f"dokku version {VERSION}")
        return 0
    if command in BARE_COMMANDS:
        module = _load(BARE_COMMANDS[command])
        handler = module.COMMANDS[command][0]
        return handler(args) or 0
    if command in COMMAND_OWNERS:
        return _load(COMMAND_OWNERS[command]).COMMANDS[command][0](args) or 0
    ns, _, sub = command.partition(":")
    if ns not in PLUGINS:
        raise errors.UsageError(f"`{command}` is not a dokku command.\n !     See `dokku help` for a list of available commands.")
    if sub in ("", "help"):
        namespace_help(ns)
        return 0
    module = _load(PLUGINS[ns])
    entry = module.COMMANDS.get(command)
    if entry is None:
        raise errors.UsageError(f"`{command}` is not a dokku command.\n !     See `dokku {ns}:help` for a list of available commands.")
    return entry[0](args) or 0


def main(argv: list[str] | None = None) -> int:
    # A command is a short-lived process: the cycle collector's frequent young-generation passes
    # cost `storage:report` of 1,000 apps about a third of its time. Collect far less often
    # (long deploys still collect).
    gc.set_threshold(50_000, 20, 100)
    if argv is None:
        argv = sys.argv[1:]
        if not argv and os.environ.get("SSH_ORIGINAL_COMMAND"):
            import shlex
            try:
                argv = shlex.split(os.environ["SSH_ORIGINAL_COMMAND"])
            except ValueError as err:  # an unclosed quote: a usage error, not a traceback
                log.error(f"Cannot split the command into words: {err}")
                return 2
            if argv and argv[0] == "dokku":
                argv = argv[1:]
    argv = _split_global_flags(argv)
    try:
        code = dispatch(argv)
    except BrokenPipeError:
        return _reader_gone()
    except errors.Quiet as stop:
        code = stop.exit_code
    except errors.DokkuError as err:
        for line in str(err).split("\n"):
            log.error(line.removeprefix(" !     "))
        code = err.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as err:  # an engine or OS error: one line, the traceback only with --trace
        if TRACE or os.environ.get("DOKKU_TRACE"):
            raise
        log.error(f"{type(err).__name__}: {err}")
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    return code


def _reader_gone() -> int:
    """stdout's reader went away (`dokku help | head -1`): stop quietly, and keep Python from
    complaining about the pipe at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


if __name__ == "__main__":
    sys.exit(main())
