"""Deploy scripts from `app.json` (`scripts.dokku.predeploy` / `postdeploy`).

Each runs in a one-off container of the new image with the RUN phase's mounts, options and the
app's config, exactly like `dokku run` (that is how a migration reaches the app's storage).
`predeploy` runs after the build and before any new process container starts: its failure fails
the deploy and the old release keeps serving. `postdeploy` runs once the new release serves: its
failure is reported loudly and the release stays."""
from pipeline import errors, log

PHASES = ("predeploy", "postdeploy")


def command_for(app_json: dict, phase: str) -> str | None:
    scripts = (app_json.get("scripts") or {}).get("dokku") or {}
    command = scripts.get(phase)
    return command if isinstance(command, str) and command.strip() else None


def run_script(app: str, built, phase: str) -> int | None:
    """Run the phase's script, if any, streaming its output; return its exit code."""
    command = command_for(built.app_json or {}, phase)
    if command is None:
        return None
    from pipeline import deploy, engine, run
    log.step(f"Running {phase}: {command}")
    user = deploy.app_user(app, built)
    spec = run.run_spec(app, built, ["/bin/sh", "-c", command], user, tty=False, extra_env={})
    deploy.preflight(app, [spec], user)
    spec.update({"stdin_open": False, "auto_remove": False, "detach": True})
    spec.pop("_stop_timeout", None)
    spec.pop("detach")
    container = engine.client().containers.create(**spec)
    try:
        container.start()
        return engine.stream_output(container)
    finally:
        engine.remove_quietly(container)


def predeploy(app: str, built) -> None:
    code = run_script(app, built, "predeploy")
    if code not in (None, 0):
        raise errors.DokkuError(f"predeploy script failed with exit code {code}: the old release keeps running")


def postdeploy(app: str, built) -> None:
    code = run_script(app, built, "postdeploy")
    if code not in (None, 0):
        log.warn(f"postdeploy script failed with exit code {code}: the new release is serving anyway, "
                 f"check its output above")
