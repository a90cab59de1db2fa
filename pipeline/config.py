"""config: environment variables per app (or `--global`), kept exactly as given: spaces, `=`
and newlines included. Stored as one JSON object per line in `config/config/<app>/env`."""
import base64
import binascii
import re

from pipeline import cliargs, errors, log, store

DESCRIPTION = "Manage global and app-specific config vars"
PLUGIN = "config"
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def read_env(app: str | None) -> dict[str, str]:
    return {r["key"]: r["value"] for r in store.read_json_lines(PLUGIN, app, "env")}


def write_env(app: str | None, env: dict[str, str]) -> None:
    store.write_json_lines(PLUGIN, app, "env", [{"key": k, "value": v} for k, v in sorted(env.items())])


def app_env(app: str) -> dict[str, str]:
    """What the app's containers get: global vars, overridden by the app's own."""
    env = read_env(None)
    env.update(read_env(app))
    return env


def get(app: str, key: str, default: str | None = None) -> str | None:
    return app_env(app).get(key, default)


def _target(args: list[str], flags: dict, usage: str) -> tuple[str | None, list[str], dict]:
    """`--global` or `<app>` first, then the rest."""
    positional, found = cliargs.parse(args, {"--global": False, **flags})
    if found.get("--global"):
        return None, positional, found
    if not positional:
        raise errors.DokkuError("Please specify an app to run the command on")
    return cliargs.require_app(positional[0]), positional[1:], found


def _still_exists(app: str | None) -> None:
    """The app may have been destroyed while we waited for its lock."""
    if app is not None:
        cliargs.require_app(app)


def _restart(app: str | None, found: dict) -> None:
    if app is None or found.get("--no-restart"):
        return
    try:
        from pipeline import ps
    except ImportError:
        return
    ps.restart_if_deployed(app)


def cmd_set(args: list[str]) -> None:
    app, pairs, found = _target(args, {"--no-restart": False, "--encoded": False}, "config:set")
    if not pairs:
        raise errors.DokkuError("At least one env pair must be given")
    updates = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not KEY.fullmatch(key):
            raise errors.DokkuError(f"Invalid env pair: {pair!r}, expected KEY=VALUE with KEY of letters, digits and _")
        if found.get("--encoded"):
            try:
                value = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise errors.DokkuError(f"Value of {key} is not valid base64 (drop --encoded to set it as is)") from None
        updates[key] = value
    log.step("Setting config vars")
    with store.app_lock(app):
        _still_exists(app)
        env = read_env(app)
        env.update(updates)
        write_env(app, env)
    for key, value in updates.items():
        log.detail(f"{key}:  {value}")
    _restart(app, found)


def cmd_unset(args: list[str]) -> None:
    app, keys, found = _target(args, {"--no-restart": False}, "config:unset")
    if not keys:
        raise errors.DokkuError("At least one key must be given")
    with store.app_lock(app):
        _still_exists(app)
        env = read_env(app)
        for key in keys:
            log.step(f"Unsetting {key}")
            env.pop(key, None)
        write_env(app, env)
    _restart(app, found)


def cmd_get(args: list[str]) -> None:
    app, keys, _ = _target(args, {"--quoted": False}, "config:get")
    if len(keys) != 1:
        raise errors.DokkuError("Expected exactly one key: dokku config:get <app> KEY")
    env = read_env(app)
    if keys[0] not in env:
        raise errors.Quiet(1)
    log.data(env[keys[0]])


def cmd_keys(args: list[str]) -> None:
    app, _, _ = _target(args, {}, "config:keys")
    for key in read_env(app):
        log.data(key)


def cmd_show(args: list[str]) -> None:
    app, _, found = _target(args, {"--format": True}, "config:show")
    env = read_env(app)
    if cliargs.output_format(found) == "json":
        import json
        log.data(json.dumps(env))
        return
    log.section(f"{app or 'global'} env vars")
    width = max((len(k) for k in env), default=0) + 1
    for key, value in env.items():
        log.data(f"{key + ':':<{width}}  {value}")


COMMANDS = {
    "config:set": (cmd_set, "config:set [--global|<app>] [--no-restart] [--encoded] KEY=VALUE ...", "Set one or more config vars"),
    "config:unset": (cmd_unset, "config:unset [--global|<app>] [--no-restart] KEY ...", "Unset one or more config vars"),
    "config:get": (cmd_get, "config:get [--global|<app>] KEY", "Print the value of one config var"),
    "config:keys": (cmd_keys, "config:keys [--global|<app>]", "List the config keys"),
    "config:show": (cmd_show, "config:show [--global|<app>] [--format stdout|json]", "Show all config vars"),
}
