"""Small argument helpers shared by the plugins' command handlers.

Dokku's commands mix positional words and `--flag [value]` words freely; argparse's error
messages and exit codes don't match the contract, so these few helpers do it by hand.
"""
import os
import re

from pipeline import errors, paths

APP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
APP_NAME_ERROR = ("App name must begin with lowercase alphanumeric character, "
                  "and cannot include uppercase characters, colons, or underscores")


def validate_app_name(app: str) -> str:
    if app == "":
        raise errors.DokkuError("Please specify an app to run the command on")
    if not APP_NAME.fullmatch(app) or "\n" in app:
        raise errors.DokkuError(APP_NAME_ERROR)
    return app


def app_exists(app: str) -> bool:
    return os.path.isdir(os.path.join(paths.dokku_root_dir(), app))


def require_app(app: str | None) -> str:
    """The app argument, validated and existing (exit 20 when it does not)."""
    if app is None or app == "":
        raise errors.DokkuError("Please specify an app to run the command on")
    validate_app_name(app)
    if not app_exists(app):
        raise errors.AppNotFound(app)
    return app


def all_apps() -> list[str]:
    try:
        with os.scandir(paths.dokku_root_dir()) as entries:  # d_type: no stat per app
            return sorted(e.name for e in entries if APP_NAME.fullmatch(e.name) and e.is_dir())
    except FileNotFoundError:
        return []


def parse(args: list[str], flags: dict[str, bool]) -> tuple[list[str], dict[str, str | bool]]:
    """Split `args` into positionals and known flags. `flags` maps `--name` to whether it takes
    a value (`--format json` or `--format=json`). An unknown `--flag` is a usage error."""
    positional: list[str] = []
    found: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        word = args[i]
        name, eq, inline = word.partition("=")
        if word.startswith("--") and name in flags:
            if flags[name]:
                if eq:
                    found[name] = inline
                elif i + 1 < len(args):
                    i += 1
                    found[name] = args[i]
                else:
                    raise errors.UsageError(f"Flag {name} needs a value")
            else:
                found[name] = True
        elif word.startswith("--") and len(word) > 2:
            raise errors.UsageError(f"Unknown flag {word}: valid flags are {', '.join(sorted(flags)) or 'none'}")
        else:
            positional.append(word)
        i += 1
    return positional, found


def output_format(found: dict, default: str = "stdout", allowed=("stdout", "json")) -> str:
    value = found.get("--format", default)
    if value not in allowed:
        quoted = " or ".join(f'"{a}"' for a in allowed)
        raise errors.DokkuError(f'Format must be {quoted}: "{value}"')
    return value


def expect_at_most(positional: list[str], count: int, usage: str) -> None:
    if len(positional) > count:
        raise errors.UsageError(f"Too many arguments: {' '.join(positional[count:])}\n !     Usage: dokku {usage}")


def property_args(args: list[str], keys, usage: str) -> tuple[str | None, str, str]:
    """`[--global|<app>] <key> [<value>]`, as every `*:set` command takes it: (the app, or None
    for --global; the key; the value, "" to unset)."""
    positional, found = parse(args, {"--global": False})
    app = None if found.get("--global") else require_app(positional.pop(0) if positional else "")
    if not positional or positional[0] not in keys:
        raise errors.DokkuError(f"Invalid key: valid keys are {', '.join(sorted(keys))}")
    expect_at_most(positional, 2, usage)
    return app, positional[0], (positional[1] if len(positional) > 1 else "")
