"""ps: the app's process containers: scale, restart, rebuild, stop, start, report, logs.
Everything that replaces containers runs under the app's deploy lock."""
import sys
import time

from pipeline import build, cliargs, deploy, errors, log, proxy, report, store

DESCRIPTION = "List and manage the app's processes"


def is_deployed(app: str) -> bool:
    """Cheap (no engine): has a release ever been made?"""
    return store.get("ps", app, "deployed") == "true"


def running_containers(app: str) -> list:
    if not is_deployed(app):
        return []
    from pipeline import engine
    return engine.app_containers(app, all=False)


def _built(app: str) -> build.Built:
    built = build.load(app)
    if built is None:
        raise errors.DokkuError(f"App {app} has not been deployed: git push it first")
    return built


def restart(app: str) -> None:
    """A new set of containers from the current image (start new, check, retire old)."""
    with deploy.deploy_lock(app):
        deploy.release(app, _built(app))


def restart_if_deployed(app: str) -> None:
    if is_deployed(app) and store.get("ps", app, "stopped") != "true":
        restart(app)


def rebuild(app: str) -> None:
    built = _built(app)
    with deploy.deploy_lock(app):
        deploy.from_push(app, built.release)


def remove_app_containers(app: str) -> None:
    """pre-delete: the app's containers, images and build cache go; host data stays."""
    from pipeline import paths
    pushed = (paths.app_dir(app) / "HEAD").exists() or (paths.app_dir(app) / ".git").exists()
    if not pushed and not is_deployed(app) and store.get("ps", app, "build") == "":
        return  # never pushed: nothing on the engine, and no need to talk to it
    from pipeline import engine
    client = engine.client()
    for role in ("process", "run", "build"):
        for container in engine.app_containers(app, role=role):
            engine.remove_quietly(container)
    images = {image.id for image in engine.app_images(app)}
    images |= {image.id for image in client.images.list(name=f"dokku/{app}")}
    for image_id in images:
        try:
            client.images.remove(image_id, force=True)
        except (engine.APIError, engine.NotFound):
            pass
    try:
        client.volumes.get(f"dokku-cache-{app}").remove(force=True)
    except (engine.APIError, engine.NotFound):
        pass


def _app(args: list[str], usage: str) -> str:
    positional, _ = cliargs.parse(args, {})
    cliargs.expect_at_most(positional, 1, usage)
    return cliargs.require_app(positional[0] if positional else "")


def cmd_restart(args: list[str]) -> None:
    app = _app(args, "ps:restart <app>")
    log.step(f"Restarting {app}")
    restart(app)


def cmd_rebuild(args: list[str]) -> None:
    app = _app(args, "ps:rebuild <app>")
    log.step(f"Rebuilding {app}")
    rebuild(app)


def cmd_stop(args: list[str]) -> None:
    app = _app(args, "ps:stop <app>")
    log.step(f"Stopping {app}")
    with deploy.deploy_lock(app):
        for container in running_containers(app):
            container.stop(timeout=10)
        store.put("ps", app, "stopped", "true")


def cmd_start(args: list[str]) -> None:
    app = _app(args, "ps:start <app>")
    log.step(f"Starting {app}")
    store.delete("ps", app, "stopped")
    restart(app)


def cmd_scale(args: list[str]) -> None:
    positional, _ = cliargs.parse(args, {"--skip-deploy": False})
    app = cliargs.require_app(positional[0] if positional else "")
    pairs = positional[1:]
    if not pairs:
        scale = dict(line.split("=", 1) for line in store.read_lines("ps", app, "scale"))
        built = build.load(app)
        if built:
            scale = {p: str(n) for p, n in deploy.scale_plan(app, built).items()}
        log.section(f"Scaling for {app}")
        log.data("proctype: qty")
        log.data("--------: ---")
        for proc, count in sorted(scale.items()):
            log.data(f"{proc + ':':<9} {count}")
        return
    updates = {}
    for pair in pairs:
        proc, eq, count = pair.partition("=")
        if not eq or not proc or not count.isdigit():
            raise errors.DokkuError(f"Invalid scale pair {pair!r}: use <proc>=<count>, e.g. web=2")
        updates[proc] = count
    built = build.load(app)
    if built and built.process_types:
        unknown = sorted(set(updates) - set(built.process_types))
        if unknown:
            raise errors.DokkuError(f"Process type {unknown[0]} is not in the app's Procfile: "
                                    f"valid types are {', '.join(sorted(built.process_types))}")
    with store.app_lock(app):
        scale = dict(line.split("=", 1) for line in store.read_lines("ps", app, "scale"))
        scale.update(updates)
        store.write_lines("ps", app, "scale", [f"{p}={n}" for p, n in sorted(scale.items())])
    log.step(f"Scaling {app} processes: {' '.join(f'{p}={n}' for p, n in updates.items())}")
    restart_if_deployed(app)


def cmd_retire(args: list[str]) -> None:
    """Internal: `ps:retire <app> <seconds> <container-id>...`, started detached by a release to
    stop the previous release's containers once wait-to-retire has passed."""
    if len(args) < 3 or not args[1].isdigit():
        raise errors.UsageError("Usage: dokku ps:retire <app> <seconds> <container-id>...")
    time.sleep(int(args[1]))
    from pipeline import engine
    containers = []
    for container_id in args[2:]:
        try:
            container = engine.client().containers.get(container_id)
        except engine.NotFound:
            continue
        if container.labels.get(engine.LABEL_APP) == args[0]:
            containers.append(container)
    deploy.stop_and_remove(containers)


def rows(app: str) -> dict:
    from pipeline import engine
    containers = [c for c in engine.app_containers(app) if engine.RETIRING not in c.name] if is_deployed(app) else []
    running = [c for c in containers if c.status == "running"]
    out = {
        "--deployed": "true" if is_deployed(app) else "false",
        "--processes": str(len(containers)),
        "--running": "true" if containers and len(running) == len(containers) else ("mixed" if running else "false"),
        "--ps-web-urls": " ".join(deploy.web_urls(app)) if running else "",
        "--ps-proxy-urls": " ".join(proxy.urls(app)) if running else "",
    }
    for c in sorted(containers, key=lambda c: c.name):
        out[f"--status-{c.labels.get(engine.LABEL_PROC)}-{c.labels.get(engine.LABEL_INDEX)}"] = f"{c.status} ({c.short_id})"
    return out


def cmd_report(args: list[str]) -> int:
    return report.run(args, "ps", rows)


def cmd_logs(args: list[str]) -> None:
    positional, found = cliargs.parse(args, {"-t": False, "--tail": False, "-n": True, "--num": True,
                                             "-p": True, "--ps": True, "-q": False, "--quiet": False})
    app = cliargs.require_app(positional[0] if positional else "")
    follow = bool(found.get("-t") or found.get("--tail"))
    count = found.get("-n") or found.get("--num") or "100"
    proc = found.get("-p") or found.get("--ps")
    from pipeline import engine
    containers = [c for c in engine.app_containers(app) if not proc or c.labels.get(engine.LABEL_PROC) == proc]
    for container in sorted(containers, key=lambda c: c.name):
        name = f"{container.labels.get(engine.LABEL_PROC)}.{container.labels.get(engine.LABEL_INDEX)}"
        for line in container.logs(tail=int(count), timestamps=False).decode(errors="replace").splitlines():
            sys.stdout.write(f"{app}[{name}]: {line}\n")
    sys.stdout.flush()
    if follow and containers:
        for chunk in containers[0].logs(stream=True, follow=True, since=int(time.time())):
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()


COMMANDS = {
    "ps:restart": (cmd_restart, "ps:restart <app>", "Restart the app's processes (start new, check, retire old)"),
    "ps:rebuild": (cmd_rebuild, "ps:rebuild <app>", "Rebuild the app from its last deployed commit and release it"),
    "ps:stop": (cmd_stop, "ps:stop <app>", "Stop the app's processes"),
    "ps:start": (cmd_start, "ps:start <app>", "Start the app's processes"),
    "ps:scale": (cmd_scale, "ps:scale <app> [<proc>=<count>...]", "Show or set how many of each process type run"),
    "ps:retire": (cmd_retire, "ps:retire <app> <seconds> <container-id>...", "(internal) Stop old containers after a wait"),
    "ps:report": (cmd_report, "ps:report [<app>] [<flag>]", "Display the app's process information"),
    "logs": (cmd_logs, "logs <app> [-t] [-n N] [-p <proc>]", "Show the app's logs"),
}
