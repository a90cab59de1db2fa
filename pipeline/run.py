"""RUN phase: `dokku run <app> <cmd...>`, a one-off container of the app's current image with the
run-phase mounts and options, stdin attached, a TTY when the caller has one, and the command's
exit code returned."""
import os
import sys

from pipeline import build, cliargs, config, deploy, docker_args, errors, hooks

DESCRIPTION = "Run a one-off command in a new container of the app's image"


def run_spec(app: str, built: build.Built, command: list[str], user: deploy.AppUser,
             tty: bool, extra_env: dict) -> dict:
    from pipeline import engine
    env = config.app_env(app)
    env.update({"DYNO": "run.1", "DOKKU_APP_NAME": app})
    if built.release:
        env.setdefault("GIT_REV", built.release)
    env.update(extra_env)
    spec = {
        "image": built.image,
        "command": (["/buildpacks/start", "--exec", *command] if built.builder == "buildpack" else command) or None,
        "environment": env,
        "labels": {engine.LABEL_APP: app, engine.LABEL_ROLE: "run", engine.LABEL_RELEASE: built.release},
        "stdin_open": True,
        "tty": tty,
        "auto_remove": True,
    }
    if user.name is not None:
        spec["user"] = f"{user.uid}:{user.gid}"
    return docker_args.merge_kwargs(spec, *hooks.fire("docker-args-run", app=app, image=built.image))


def cmd_run(args: list[str]) -> int:
    extra_env = {}
    while args and args[0] in ("--env", "-e") and len(args) > 1:
        key, _, value = args[1].partition("=")
        extra_env[key] = value
        args = args[2:]
    if not args:
        raise errors.DokkuError("Please specify an app to run the command on")
    app = cliargs.require_app(args[0])
    command = args[1:]
    built = build.load(app)
    if built is None:
        raise errors.DokkuError(f"App {app} has not been deployed: git push it first")
    user = deploy.app_user(app, built)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    spec = run_spec(app, built, command, user, tty, extra_env)
    deploy.preflight(app, [spec], user)
    from pipeline import engine
    spec.pop("_stop_timeout", None)
    container = engine.client().containers.create(**spec)
    sys.stdout.flush()
    # The docker CLI does the interactive part (raw TTY, resize, stdin streaming) and exits with
    # the container's code; the SDK has no equivalent of `docker start -ai`.
    os.execvp("docker", ["docker", "start", "--attach", "--interactive", container.id])


COMMANDS = {
    "run": (cmd_run, "run [--env KEY=VALUE] <app> <cmd...>", "Run a one-off command in a new container"),
}
