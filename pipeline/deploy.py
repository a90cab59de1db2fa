"""DEPLOY phase: source -> build -> release.

`from_push(app, rev)` reads top to bottom: export the commit, build it, release it. `release`
starts the new process containers next to the old ones, checks them, and only then retires the
old ones; if anything fails before the switch, the new containers go and the old keep serving.
"""
import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from pipeline import app_scripts, build, config, docker_args, errors, hooks, log, ownership, paths, store

WEB_PORT = 5000
DEFAULT_CHECK_TIMEOUT = 60


@dataclass
class AppUser:
    name: str | None
    uid: int
    gid: int


# ---------------------------------------------------------------- the flow


def from_push(app: str, rev: str) -> None:
    """Build the commit `rev` of the app's repo and release it. The whole of it runs under the
    app's deploy lock: a second push waits for the first to finish, and two builds never race
    for the app's image."""
    from pipeline import git
    with deploy_lock(app):
        started = time.monotonic()
        log.step(f"Deploying {app} at {rev[:7]}")
        context = git.export_tar(app, rev)
        procfile_text = _text(git.read_file(app, rev, "Procfile"))
        app_json = _json(git.read_file(app, rev, "app.json"))
        has_dockerfile = git.read_file(app, rev, "Dockerfile") is not None
        built = build.build(app, context, has_dockerfile, rev, procfile_text)
        built.app_json = app_json
        build_seconds = time.monotonic() - started
        app_scripts.predeploy(app, built)  # app.json: before any new container; failing stops here
        check_seconds = release(app, built)
        app_scripts.postdeploy(app, built)  # once the new release serves; a failure only warns
        deploy_seconds = time.monotonic() - started - build_seconds
        log.step(f"Build took {build_seconds:.1f}s, deploy took {deploy_seconds:.1f}s "
                 f"(checks {check_seconds:.1f}s)")


_HELD: dict[str, int] = {}


@contextlib.contextmanager
def deploy_lock(app: str):
    """Held by everything that replaces an app's containers: pushes, restarts, rebuilds, scaling.
    A second push or restart waits here until the first is done. Reentrant within a process (a
    flock taken twice by one process through two descriptors would wait for itself), so a caller
    may hold it around `from_push` or `release`, which take it too."""
    if _HELD.get(app):
        _HELD[app] += 1
        try:
            yield
        finally:
            _HELD[app] -= 1
        return
    lock_dir = paths.lib_root() / "config" / ".locks"
    store._makedirs(lock_dir)
    # Read-only is enough for flock, so a lock file that root created still works for the dokku
    # user arriving over SSH.
    fd = os.open(lock_dir / ("deploy-" + app), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.step(f"Waiting for another deploy of {app} to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[app] = 1
        try:
            yield
        finally:
            _HELD.pop(app, None)
    finally:
        os.close(fd)


def release(app: str, built: build.Built) -> float:
    """Start new containers for every scaled process type, check them, switch the proxy to them,
    retire the old ones. Returns the seconds spent checking the new containers."""
    from pipeline import checks, engine, proxy
    with deploy_lock(app):
        plan = scale_plan(app, built)
        log.step(f"Releasing {app} ({', '.join(f'{p}={n}' for p, n in plan.items()) or 'no processes'})")
        user = app_user(app, built)
        specs = [container_spec(app, built, proc, index, user)
                 for proc, count in plan.items() for index in range(1, count + 1)]
        preflight(app, specs, user)
        hooks.fire("pre-deploy", app=app, image=built.image)

        old = engine.app_containers(app)
        if old and checks.setting(app, "deploy-strategy") == "stop-first":
            log.step("Stopping the old containers first (deploy-strategy stop-first)")
            stop_and_remove(old)
            old = []
        started = []
        try:
            for spec in specs:
                started.append(start_container(spec, old))
            checks_started = time.monotonic()
            for container in started:
                wait_until_ready(app, built, container)
            check_seconds = time.monotonic() - checks_started
            proxy.apply(app, web_ports(started))  # the switch: nginx now sends traffic to the new ones
        except BaseException:
            for container in started:
                engine.remove_quietly(container)
            restore_names(old)
            raise
        retire(app, old, keep={c.id for c in started})
        previous = build.load(app)
        build.save(app, built)
        store.put("ps", app, "deployed", "true")
        store.delete("ps", app, "stopped")
        if previous is None or previous.image != built.image:
            engine.tag_release(app, built.image)
            engine.prune_images(app, keep=built.image)
    hooks.fire("post-deploy", app=app, image=built.image)
    for url in web_urls(app, started) + proxy.urls(app):
        log.section(f"Application deployed: {url}")
    return check_seconds


# ---------------------------------------------------------------- the steps, as data first


def scale_plan(app: str, built: build.Built) -> dict[str, int]:
    """Process type -> count. Default: one web process, other types 0 (as Dokku)."""
    types = built.process_types or {"web": ""}
    stored = dict(line.split("=", 1) for line in store.read_lines("ps", app, "scale"))
    return {proc: int(stored.get(proc, 1 if proc == "web" else 0)) for proc in types}


def container_spec(app: str, built: build.Built, proc: str, index: int, user: AppUser) -> dict:
    """The Docker SDK kwargs for one process container (pure apart from the hook answers)."""
    from pipeline import engine
    env = config.app_env(app)
    env.update({"DYNO": f"{proc}.{index}", "DOKKU_APP_NAME": app, "DOKKU_PROCESS_TYPE": proc})
    if built.release:
        env.setdefault("GIT_REV", built.release)  # as Dokku: the commit the release was built from
    spec = {
        "image": built.image,
        "name": f"{app}.{proc}.{index}",
        "command": process_command(built, proc),
        "environment": env,
        "labels": {engine.LABEL_APP: app, engine.LABEL_PROC: proc, engine.LABEL_INDEX: str(index),
                   engine.LABEL_RELEASE: built.release, engine.LABEL_ROLE: "process"},
        "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 10},
        "detach": True,
    }
    if user.name is not None:
        spec["user"] = f"{user.uid}:{user.gid}"
    if proc == "web":
        env["PORT"] = str(WEB_PORT)
        spec["ports"] = {f"{WEB_PORT}/tcp": ("127.0.0.1", None)}
    answers = hooks.fire("docker-args-deploy", app=app, image=built.image, process_type=proc, index=index)
    return docker_args.merge_kwargs(spec, *answers)


def process_command(built: build.Built, proc: str) -> list[str] | None:
    if built.builder == "buildpack":
        return ["/buildpacks/start", proc]
    command = built.process_types.get(proc)
    return ["/bin/sh", "-c", command] if command else None  # None: the image's own CMD


def app_user(app: str, built: build.Built) -> AppUser:
    """Who the processes run as: herokuishuser or DOKKU_APP_USER for buildpack images, the
    image's own USER for Dockerfile images; resolved to uid:gid inside the image, and kept per
    image (so a restart asks the engine nothing here)."""
    if built.builder == "buildpack":
        name = config.get(app, "DOKKU_APP_USER") or build.BUILDPACK_USER
    else:
        name = None  # the image's USER
    cache_key = f"{built.image}:{name if name is not None else '@image'}"
    cached = json.loads(store.get("ps", app, "users") or "{}")
    if cache_key not in cached:
        from pipeline import engine
        image = engine.client().images.get(built.image)
        wanted = name if name is not None else (image.attrs["Config"].get("User") or "root")
        cached = {cache_key: list(resolve_user(image.id, wanted))}
        store.put("ps", app, "users", json.dumps(cached))
    uid, gid = cached[cache_key]
    return AppUser(name, uid, gid)


def resolve_user(image_id: str, name: str) -> tuple[int, int]:
    """uid and gid of `name` (or `uid[:gid]`) from the image's /etc/passwd."""
    from pipeline import engine
    user, _, group = name.partition(":")
    if user.isdigit():
        return int(user), int(group) if group.isdigit() else int(user)
    container = engine.client().containers.create(image_id, command=["true"])
    try:
        passwd = (engine.read_file(container, "/etc/passwd") or b"").decode()
    finally:
        engine.remove_quietly(container)
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise errors.DokkuError(f"User {user} does not exist in the image: create it in the image, "
                            f"or change DOKKU_APP_USER (dokku config:unset <app> DOKKU_APP_USER)")


def bind_sources(specs: list[dict]) -> list[tuple[str, bool]]:
    seen = {}
    for spec in specs:
        for mount in spec.get("mounts", []):
            if mount.get("Type") == "bind":
                seen[mount["Source"]] = seen.get(mount["Source"], True) and bool(mount.get("ReadOnly"))
    return list(seen.items())


def preflight(app: str, specs: list[dict], user: AppUser) -> None:
    """Fail before anything running is touched: every bind source exists, and writable ones are
    owned by the app user."""
    sources = bind_sources(specs)
    missing = ownership.missing_sources([s for s, _ in sources])
    if missing:
        raise errors.DokkuError(
            f"Mount source {missing[0]} does not exist. Create it with "
            f"dokku storage:ensure-directory <name> (for {'/var/lib/dokku/data/storage/<name>'}) "
            f"or mkdir, or remove the mount: dokku storage:unmount {app} {missing[0]}:<container-path>")
    if (config.get(app, "DOKKU_CHOWN_MOUNTS") or "true").lower() == "false":
        return
    ownership.ensure_owned(app, [s for s, read_only in sources if not read_only], user.uid, user.gid)


def start_container(spec: dict, old: list):
    """Create and start one container under its final name; an old container holding that name
    is renamed out of the way first (and renamed back if the release fails)."""
    from pipeline import engine
    client = engine.client()
    for container in old:
        if container.name == spec["name"]:
            container.rename(f"{spec['name']}.retiring.{container.short_id}")
    kwargs = dict(spec)
    stop_timeout = kwargs.pop("_stop_timeout", None)
    if stop_timeout is not None:
        kwargs["labels"] = {**kwargs.get("labels", {}), engine.LABEL_STOP_TIMEOUT: str(stop_timeout)}
    container = client.containers.create(**{k: v for k, v in kwargs.items() if k != "detach"})
    container.start()
    return container


def restore_names(old: list) -> None:
    for container in old:
        try:
            container.reload()
            if ".retiring." in container.name:
                container.rename(container.name.split(".retiring.")[0])
        except Exception as err:  # best effort: the old container keeps running either way
            log.warn(f"Could not restore the name of {container.name}: {err}")


def published_port(container, reload: bool = True) -> int | None:
    if reload:
        container.reload()
    bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{WEB_PORT}/tcp") or []
    return int(bindings[0]["HostPort"]) if bindings else None


POLL_SECONDS = 0.02  # how often a web port is tried (a refused connection costs microseconds)
STATUS_SECONDS = 0.25  # how often the container's state is read from the engine meanwhile


def wait_until_ready(app: str, built: build.Built, container) -> None:
    """The checks for one new container (see pipeline.checks): nothing when skipped, a fixed
    wait while it stays up when disabled, else its port must answer and the app.json
    healthchecks of its process type must pass."""
    from pipeline import checks, engine
    proc = container.labels.get(engine.LABEL_PROC)
    mode = checks.mode(app, proc)
    if mode == "skip":
        return
    if mode == "disabled":
        wait_until_up(app, container, settle=checks.DISABLED_WAIT, probe=False)
        return
    wait_until_up(app, container)
    configured = checks.healthchecks(built.app_json or {}, proc)
    port = published_port(container, reload=False)
    if configured and port:
        checks.run_healthchecks(container.name, port, configured, lambda: _still_up(container))


def _still_up(container) -> None:
    container.reload()
    if container.status != "running" or container.attrs.get("RestartCount"):
        raise errors.DokkuError(f"{container.name} exited during its healthchecks:\n" + _tail(container))


def wait_until_up(app: str, container, settle: float = 1.0, probe: bool = True) -> None:
    """A web container's port must answer; any container must still be running. The port is
    tried every POLL_SECONDS (this wait sits on every restart's path), the engine asked about
    the container's state every STATUS_SECONDS."""
    from pipeline import engine
    timeout = float(config.get(app, "DOKKU_CHECKS_TIMEOUT") or DEFAULT_CHECK_TIMEOUT)
    deadline = time.monotonic() + timeout
    is_web = probe and container.labels.get(engine.LABEL_PROC) == "web"
    settle = time.monotonic() + settle
    deadline = max(deadline, settle + 1)
    port = None
    next_status = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_status:
            container.reload()
            next_status = time.monotonic() + STATUS_SECONDS
            # The restart policy brings a crashed process back, so "running" alone proves
            # nothing: any restart during the checks is a crash.
            if container.status not in ("created", "running") or container.attrs.get("RestartCount"):
                raise errors.DokkuError(
                    f"{container.name} exited ({container.attrs['State'].get('ExitCode')}) before it was up:\n"
                    + _tail(container))
            if is_web and port is None:
                port = published_port(container, reload=False)
        if is_web:
            if port and _answers(port):
                return
        elif time.monotonic() >= settle:
            return
        time.sleep(POLL_SECONDS if is_web else 0.1)
    raise errors.DokkuError(f"{container.name} did not answer on port {WEB_PORT} within {timeout:.0f}s:\n"
                            + _tail(container))


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return bool(sock.recv(1))
    except OSError:
        return False


def _tail(container, lines: int = 20) -> str:
    try:
        return container.logs(tail=lines).decode(errors="replace")
    except Exception:
        return ""


def retire(app: str, old: list, keep: set) -> None:
    """The previous release's containers go once nginx no longer sends them requests: at once
    with wait-to-retire 0, else after that many seconds, in a detached `dokku ps:retire` so that
    the command returns now."""
    from pipeline import checks
    leaving = [c for c in old if c.id not in keep]
    if not leaving:
        return
    wait = int(checks.setting(app, "wait-to-retire"))
    if wait == 0:
        stop_and_remove(leaving)
        return
    from pipeline import engine
    for container in leaving:  # those not renamed by start_container (scaled down): no vhost may list them again
        if engine.RETIRING not in container.name:
            with contextlib.suppress(Exception):
                container.rename(f"{container.name}{engine.RETIRING}{container.short_id}")
    log.step(f"Old containers keep serving for {wait}s (checks wait-to-retire), then stop")
    subprocess.Popen([sys.executable, "-m", "pipeline.cli", "ps:retire", app, str(wait), *(c.id for c in leaving)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def stop_and_remove(containers: list) -> None:
    """SIGTERM, then the stop timeout (`--stop-timeout`, default 10 s), then remove."""
    from pipeline import engine
    for container in containers:
        try:
            container.stop(timeout=int(container.labels.get(engine.LABEL_STOP_TIMEOUT) or 10))
        except engine.APIError:
            pass
        engine.remove_quietly(container)


def web_ports(containers: list) -> list[int]:
    from pipeline import engine
    ports = []
    for container in containers:
        if container.labels.get(engine.LABEL_PROC) == "web":
            port = published_port(container, reload=False)
            if port:
                ports.append(port)
    return ports


def running_web_ports(app: str) -> list[int]:
    from pipeline import engine
    return web_ports(engine.app_containers(app, all=False))


def web_urls(app: str, containers: list | None = None) -> list[str]:
    """The URLs of the running web containers (of `containers`, already inspected, when given)."""
    from pipeline import engine
    urls = []
    for container in containers if containers is not None else engine.app_containers(app, all=False):
        if container.labels.get(engine.LABEL_PROC) == "web":
            port = published_port(container, reload=False)  # list() and the checks inspected it
            if port:
                urls.append(f"http://127.0.0.1:{port}")
    return sorted(urls)


def _text(data: bytes | None) -> str | None:
    return data.decode() if data is not None else None


def _json(data: bytes | None) -> dict:
    if not data:
        return {}
    try:
        return json.loads(data)
    except ValueError as err:
        raise errors.DokkuError(f"app.json is not valid JSON: {err}") from None
