"""domains: the host names an app answers to through the proxy. With a global domain set, every
app gets the default vhost `<app>.<global domain>` until its domains are set or cleared."""
import re

from pipeline import cliargs, errors, log, report, store

DESCRIPTION = "Manage vhost domains used by the proxy"
PLUGIN = "domains"
DOMAIN = re.compile(r"^(?=.{1,253}$)(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def validate(domains: list[str]) -> list[str]:
    if not domains:
        raise errors.DokkuError("Please specify at least one domain")
    for domain in domains:
        if not DOMAIN.fullmatch(domain):
            raise errors.DokkuError(
                f"Invalid domain {domain!r}: use lowercase letters, digits, dashes and dots (e.g. app.example.test)")
    return domains


def global_domains() -> list[str]:
    return store.read_lines(PLUGIN, None, "vhosts")


def app_domains(app: str) -> list[str]:
    """The app's vhosts: its own list once set (even empty), else the default vhosts."""
    if store.prop_path(PLUGIN, app, "vhosts").exists():
        return store.read_lines(PLUGIN, app, "vhosts")
    return [f"{app}.{domain}" for domain in global_domains()]


def _changed(app: str | None) -> None:
    """Re-render the proxy of every affected deployed app."""
    from pipeline import proxy
    targets = [app] if app else cliargs.all_apps()
    for target in targets:
        proxy.refresh(target)


def _update(app: str | None, change) -> None:
    with store.app_lock(app):
        current = app_domains(app) if app else global_domains()
        new = change(current)
        store.write_lines(PLUGIN, app, "vhosts", list(dict.fromkeys(new)))
    _changed(app)


def _app_and_domains(args: list[str]) -> tuple[str, list[str]]:
    positional, _ = cliargs.parse(args, {})
    app = cliargs.require_app(positional[0] if positional else "")
    return app, positional[1:]


def cmd_add(args):
    app, domains = _app_and_domains(args)
    validate(domains)
    log.step(f"Adding {' '.join(domains)} to {app}")
    _update(app, lambda cur: cur + domains)


def cmd_remove(args):
    app, domains = _app_and_domains(args)
    validate(domains)
    log.step(f"Removing {' '.join(domains)} from {app}")
    _update(app, lambda cur: [d for d in cur if d not in domains])


def cmd_set(args):
    app, domains = _app_and_domains(args)
    validate(domains)
    log.step(f"Setting {' '.join(domains)} for {app}")
    _update(app, lambda cur: domains)


def cmd_clear(args):
    app, _ = _app_and_domains(args)
    log.step(f"Clearing domains for {app}")
    _update(app, lambda cur: [])


def cmd_set_global(args):
    positional, _ = cliargs.parse(args, {})
    validate(positional)
    log.step(f"Setting global domain(s) {' '.join(positional)}")
    _update(None, lambda cur: positional)


def cmd_add_global(args):
    positional, _ = cliargs.parse(args, {})
    validate(positional)
    log.step(f"Adding global domain(s) {' '.join(positional)}")
    _update(None, lambda cur: cur + positional)


def cmd_clear_global(args):
    log.step("Clearing global domains")
    _update(None, lambda cur: [])


def rows(app: str) -> dict:
    own = app_domains(app)
    return {
        "--domains-app-enabled": "true" if own else "false",
        "--domains-app-vhosts": " ".join(own),
        "--domains-global-enabled": "true" if global_domains() else "false",
        "--domains-global-vhosts": " ".join(global_domains()),
    }


def cmd_report(args):
    return report.run(args, "domains", rows)


COMMANDS = {
    "domains:add": (cmd_add, "domains:add <app> <domain>...", "Add domains to an app"),
    "domains:remove": (cmd_remove, "domains:remove <app> <domain>...", "Remove domains from an app"),
    "domains:set": (cmd_set, "domains:set <app> <domain>...", "Set an app's domains"),
    "domains:clear": (cmd_clear, "domains:clear <app>", "Clear an app's domains"),
    "domains:set-global": (cmd_set_global, "domains:set-global <domain>...", "Set the global domains"),
    "domains:add-global": (cmd_add_global, "domains:add-global <domain>...", "Add global domains"),
    "domains:clear-global": (cmd_clear_global, "domains:clear-global", "Clear the global domains"),
    "domains:report": (cmd_report, "domains:report [<app>] [<flag>]", "Display domain information"),
}
