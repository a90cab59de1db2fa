"""checks: what must be true of new containers before traffic moves to them, and how the old
ones are retired.

Without `app.json` healthchecks, a web container passes when its port answers. With
`healthchecks.web[]` entries (`path`, `attempts`, `wait`, `timeout`, `initialDelay`, `content`),
every entry must pass. `checks:disable` waits a fixed time instead; `checks:skip` checks nothing.
"""
import http.client
import time

from pipeline import cliargs, errors, log, report, store

DESCRIPTION = "Manage zero-downtime checks and how old containers are retired"
PLUGIN = "checks"
SETTINGS = {"wait-to-retire": "5", "deploy-strategy": "start-first"}
STRATEGIES = ("start-first", "stop-first")
DISABLED_WAIT = 5


def setting(app: str | None, key: str) -> str:
    value = store.get(PLUGIN, app, key) if app else ""
    return value or store.get(PLUGIN, None, key) or SETTINGS[key]


def _types(app: str, prop: str) -> list[str]:
    return store.read_lines(PLUGIN, app, prop)


def mode(app: str, proc: str) -> str:
    """"check", "skip" (nothing at all) or "disabled" (a fixed wait)."""
    for prop, result in (("skipped", "skip"), ("disabled", "disabled")):
        types = _types(app, prop)
        if "_all_" in types or proc in types:
            return result
    return "check"


def probe(port: int, path: str, timeout: float, content: str | None = None) -> str | None:
    """One HTTP GET; None when it passed, else what went wrong."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path, headers={"Host": "localhost", "User-Agent": "dokku-checks"})
        response = conn.getresponse()
        body = response.read(65536).decode(errors="replace")
        conn.close()
    except (OSError, http.client.HTTPException) as err:
        return f"GET {path}: {err}"
    if response.status >= 400:
        return f"GET {path}: HTTP {response.status}"
    if content and content not in body:
        return f"GET {path}: the answer does not contain {content!r}"
    return None


def healthchecks(app_json: dict, proc: str) -> list[dict]:
    checks = (app_json.get("healthchecks") or {}).get(proc) or []
    return [c for c in checks if isinstance(c, dict) and c.get("type", "startup") in ("startup", "readiness", "liveness")]


def run_healthchecks(name: str, port: int, checks: list[dict], still_running) -> None:
    """Run each configured check with its attempts; raise with every failure's output."""
    for check in checks:
        path = check.get("path", "/")
        attempts = int(check.get("attempts", 3))
        wait = float(check.get("wait", 1))
        timeout = float(check.get("timeout", 5))
        time.sleep(float(check.get("initialDelay", 0)))
        failures = []
        for attempt in range(1, attempts + 1):
            still_running()
            problem = probe(port, path, timeout, check.get("content"))
            if problem is None:
                log.detail(f"Healthcheck {path} passed for {name} (attempt {attempt}/{attempts})")
                break
            failures.append(f"attempt {attempt}/{attempts}: {problem}")
            if attempt < attempts:
                time.sleep(wait)
        else:
            raise errors.DokkuError(f"Healthcheck {path} failed for {name}:\n" + "\n".join(failures))


def _update_types(args: list[str], prop: str, add: bool, word: str) -> None:
    positional, _ = cliargs.parse(args, {})
    app = cliargs.require_app(positional[0] if positional else "")
    types = positional[1].split(",") if len(positional) > 1 else ["_all_"]
    with store.app_lock(app):
        for other in ("disabled", "skipped"):
            current = [t for t in _types(app, other) if t not in types]
            if add and other == prop:
                current = sorted(set(current) | set(types))
            store.write_lines(PLUGIN, app, other, current)
    log.step(f"{word} checks for {app} ({', '.join(types).replace('_all_', 'all processes')})")


def cmd_disable(args):
    _update_types(args, "disabled", True, "Disabling")


def cmd_enable(args):
    _update_types(args, "disabled", False, "Enabling")


def cmd_skip(args):
    _update_types(args, "skipped", True, "Skipping")


def cmd_set(args):
    app, key, value = cliargs.property_args(args, SETTINGS, COMMANDS["checks:set"][1])
    if key == "wait-to-retire" and value and not value.isdigit():
        raise errors.DokkuError(f"Invalid wait-to-retire {value!r}: use a number of seconds")
    if key == "deploy-strategy" and value and value not in STRATEGIES:
        raise errors.DokkuError(f"Invalid deploy-strategy {value!r}: use one of {', '.join(STRATEGIES)}")
    if value:
        store.put(PLUGIN, app, key, value)
    else:
        store.delete(PLUGIN, app, key)
    log.step(f"Set {key} to {value or 'its default'}" + (f" for {app}" if app else " globally"))


def rows(app: str) -> dict:
    return {
        "--checks-disabled-list": ",".join(_types(app, "disabled")) or "none",
        "--checks-skipped-list": ",".join(_types(app, "skipped")) or "none",
        "--checks-computed-wait-to-retire": setting(app, "wait-to-retire"),
        "--checks-global-wait-to-retire": setting(None, "wait-to-retire"),
        "--checks-wait-to-retire": store.get(PLUGIN, app, "wait-to-retire"),
        "--checks-computed-deploy-strategy": setting(app, "deploy-strategy"),
    }


def cmd_report(args):
    return report.run(args, "checks", rows)


COMMANDS = {
    "checks:disable": (cmd_disable, "checks:disable <app> [<proc>,...]", "Wait a fixed time instead of checking"),
    "checks:enable": (cmd_enable, "checks:enable <app> [<proc>,...]", "Check new containers before traffic moves"),
    "checks:skip": (cmd_skip, "checks:skip <app> [<proc>,...]", "Check nothing and wait for nothing"),
    "checks:set": (cmd_set, "checks:set [--global|<app>] wait-to-retire|deploy-strategy [<value>]", "Set a checks property"),
    "checks:report": (cmd_report, "checks:report [<app>] [<flag>]", "Display the checks information"),
}
