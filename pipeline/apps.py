"""apps: create, list, check, destroy and report apps. An app is a folder in `$DOKKU_ROOT`
(which later holds its bare git repo); its state lives under `$DOKKU_LIB_ROOT/config/*/<app>/`."""
import shutil
import sys

from pipeline import cliargs, errors, hooks, log, paths, report, store

DESCRIPTION = "Manage apps"


def create_app(app: str, quiet_if_exists: bool = False) -> bool:
    """Create the app's folder; False when it already existed."""
    cliargs.validate_app_name(app)
    with store.app_lock(app):
        if cliargs.app_exists(app):
            if quiet_if_exists:
                return False
            raise errors.DokkuError("Name is already taken")
        store._makedirs(paths.app_dir(app))
    return True


def cmd_create(args: list[str]) -> None:
    positional, _ = cliargs.parse(args, {})
    cliargs.expect_at_most(positional, 1, "apps:create <app>")
    app = positional[0] if positional else ""
    cliargs.validate_app_name(app)
    log.step(f"Creating {app}...")
    create_app(app)


def cmd_list(args: list[str]) -> None:
    _, found = cliargs.parse(args, {"--format": True})
    fmt = cliargs.output_format(found)
    apps = cliargs.all_apps()
    if fmt == "json":
        import json
        log.data(json.dumps(apps))
        return
    log.section("My Apps")
    for app in apps:
        log.data(app)


def cmd_exists(args: list[str]) -> None:
    positional, _ = cliargs.parse(args, {})
    cliargs.require_app(positional[0] if positional else "")


def confirm(app: str) -> None:
    """Ask the user to type the app name (Dokku's wording); a mismatch aborts."""
    from pipeline import cli
    if cli.FORCE:
        return
    log.warn("WARNING: Potentially Destructive Action")
    log.warn(f"This command will destroy app {app}.")
    log.warn(f'To proceed, type "{app}"')
    sys.stderr.write("\n> ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip()
    if answer != app:
        raise errors.DokkuError(f"Confirmation did not match {app}. Aborted.")


def cmd_destroy(args: list[str]) -> None:
    positional, found = cliargs.parse(args, {"--force": False})
    if found.get("--force"):
        from pipeline import cli
        cli.FORCE = True
    cliargs.expect_at_most(positional, 1, "apps:destroy <app>")
    app = cliargs.require_app(positional[0] if positional else "")
    confirm(app)
    log.step(f"Destroying {app} (including all add-ons)")
    hooks.fire("pre-delete", app=app)
    with store.app_lock(app):
        store.remove_app(app)
        shutil.rmtree(paths.app_dir(app), ignore_errors=True)
    hooks.fire("post-delete", app=app)


def rows(app: str) -> dict:
    repo = paths.app_dir(app)
    return {
        "--app-dir": str(repo),
        "--app-deploy-source": "git" if (repo / "HEAD").exists() else "",
    }


def cmd_report(args: list[str]) -> int:
    return report.run(args, "app", rows)


COMMANDS = {
    "apps:create": (cmd_create, "apps:create <app>", "Create a new app"),
    "apps:list": (cmd_list, "apps:list", "List your apps"),
    "apps:exists": (cmd_exists, "apps:exists <app>", "Check if an app exists"),
    "apps:destroy": (cmd_destroy, "apps:destroy <app>", "Permanently destroy an app (keeps host data)"),
    "apps:report": (cmd_report, "apps:report [<app>] [<flag>]", "Display an app's information"),
}
