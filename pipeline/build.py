"""BUILD phase: turn a pushed commit into the image `dokku/<app>:latest`.

Two builders, chosen once from a keyed table: `dockerfile` when the tree has a Dockerfile,
`buildpack` otherwise. Both answer with a `Built` record that the deploy reads: the image,
its process types, and whose user its processes run as.
"""
import json
import time
from dataclasses import dataclass, field

from pipeline import config, docker_args, errors, hooks, log, procfile

BUILDPACK_USER = "herokuishuser"
BUILDPACK_UID = 32767


@dataclass
class Built:
    image: str
    builder: str
    process_types: dict[str, str] = field(default_factory=dict)
    release: str = ""
    app_json: dict = field(default_factory=dict)


def choose_builder(has_dockerfile: bool) -> str:
    return "dockerfile" if has_dockerfile else "buildpack"


def _merged_args(app: str, builder: str) -> dict:
    return docker_args.merge_kwargs(*hooks.fire("docker-args-build", app=app, builder=builder))


def _release_labels(app: str, release: str, builder: str) -> dict:
    from pipeline import engine
    return {engine.LABEL_APP: app, engine.LABEL_RELEASE: release, "com.dokku.builder": builder}


def refuse_app_mounts(app: str, kwargs: dict) -> None:
    """A build-phase mount at or under /app would be wiped by the build (it replaces /app)."""
    for mount in kwargs.get("mounts", []):
        target = mount.get("Target", "").rstrip("/")
        if target == "/app" or target.startswith("/app/"):
            raise errors.DokkuError(
                f"Build-phase mount {mount.get('Source')}:{mount.get('Target')} is under /app, which the build "
                f"replaces: its data would be destroyed. Mount it elsewhere, or remove it: "
                f"dokku docker-options:remove {app} build \"-v {mount.get('Source')}:{mount.get('Target')}\"")


# Export every /env/<KEY> file (values kept exactly, trailing newlines included), run the
# buildpacks, and leave /env empty for the commit.
BUILD_SCRIPT = """for f in /env/*; do
  [ -f "$f" ] || continue
  v=$(cat "$f"; printf x)
  export "${f##*/}=${v%x}"
done
/buildpacks/build
status=$?
rm -f /env/*
exit $status
"""


def build_buildpack(app: str, context: bytes, release: str) -> Built:
    """Run the stack image's /buildpacks/build over the source as herokuishuser, then commit."""
    from pipeline import engine
    client = engine.client()
    kwargs = _merged_args(app, "buildpack")
    refuse_app_mounts(app, kwargs)
    # The app's config reaches the build as /env/<KEY> files that the build script exports and
    # deletes before the commit: container environment variables would be baked into the image,
    # and a later config:unset would not remove them from the app's processes.
    env = {**config.app_env(app), **kwargs.pop("environment", {})}
    kwargs = docker_args.merge_kwargs(
        {"labels": {engine.LABEL_APP: app, engine.LABEL_ROLE: "build"},
         "mounts": [docker_args.volume_mount(f"dokku-cache-{app}:/cache")]},
        kwargs)
    kwargs.pop("_stop_timeout", None)
    # The source arrives owned by root (git archive); the build container starts as root only to
    # hand /app, /cache and /env to herokuishuser, then drops to it for every buildpack step.
    command = ["/bin/sh", "-c",
               f"chown -R {BUILDPACK_UID}:{BUILDPACK_UID} /app /cache /env && "
               f"exec setpriv --reuid={BUILDPACK_UID} --regid={BUILDPACK_UID} --init-groups /bin/bash -c \"$0\"",
               BUILD_SCRIPT]
    container = client.containers.create(engine.STACK_IMAGE, command=command, user="root",
                                         working_dir="/app", **kwargs)
    try:
        container.put_archive("/app", context)
        env_files = {key: value.encode() for key, value in env.items()}
        if env_files:
            container.put_archive("/env", engine.tar_of_files(env_files))
        container.start()
        code = engine.stream_output(container)
        if code != 0:
            raise errors.DokkuError(f"Build failed: the buildpack exited with status {code}")
        types_text = engine.read_file(container, "/app/.release/process_types")
        process_types = procfile.parse(types_text.decode()) if types_text else {}
        # Untagged: `dokku/<app>:latest` moves to it only once the release serves (deploy.release),
        # so a build whose release fails never replaces what ps:restart would start.
        image = container.commit(conf={
            "Cmd": ["/buildpacks/start", "web"], "WorkingDir": "/app", "User": BUILDPACK_USER,
            "Entrypoint": None, "Labels": _release_labels(app, release, "buildpack"),
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
                    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
            "ExposedPorts": {"5000/tcp": {}},
        }).id
    finally:
        engine.remove_quietly(container)
    return Built(image=image, builder="buildpack", process_types=process_types, release=release)


def build_dockerfile(app: str, context: bytes, release: str) -> Built:
    """`docker build` through the SDK. It has no volumes, so build-phase mounts are refused
    before anything starts."""
    from pipeline import docker_options, engine
    options = docker_options.options_for(app, "build")
    for option in docker_args.build_volume_options(options):
        raise errors.DokkuError(
            f"Dockerfile builds cannot use build-phase volumes ({option}): docker build has no volumes. "
            f"Remove it with: dokku docker-options:remove {app} build \"{option}\"")
    try:
        kwargs = _merged_args(app, "dockerfile")
    except docker_args.UnsupportedOption as err:
        raise errors.DokkuError(str(err).replace("<app>", app)) from None
    kwargs["labels"] = {**kwargs.get("labels", {}), **_release_labels(app, release, "dockerfile")}
    image_id = None
    for chunk in engine.client().api.build(fileobj=_as_file(context), custom_context=True,
                                           rm=True, forcerm=True, pull=False, decode=True, **kwargs):
        text = chunk.get("stream", "").rstrip("\n")
        if text.strip():
            log.data(text)
        if "error" in chunk:
            raise errors.DokkuError("Dockerfile build failed: " + chunk["error"].strip())
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    if image_id is None:
        raise errors.DokkuError("Dockerfile build failed: the engine returned no image")
    return Built(image=image_id, builder="dockerfile", release=release)


def _as_file(data: bytes):
    import io
    return io.BytesIO(data)


BUILDERS = {"dockerfile": build_dockerfile, "buildpack": build_buildpack}


def build(app: str, context: bytes, has_dockerfile: bool, release: str, procfile_text: str | None) -> Built:
    builder = choose_builder(has_dockerfile)
    hooks.fire("pre-build", app=app, builder=builder)
    log.step(f"Building {app} from {builder}")
    started = time.monotonic()
    built = BUILDERS[builder](app, context, release)
    if procfile_text is not None:
        built.process_types = procfile.parse(procfile_text)  # the app's Procfile wins
    hooks.fire("post-build", app=app, image=built.image)
    log.step(f"Build took {time.monotonic() - started:.1f}s")
    return built


def save(app: str, built: Built) -> None:
    """Remember what the last build produced (the deploy, ps:restart and run read it)."""
    from pipeline import store
    store.put("ps", app, "build", json.dumps(built.__dict__, sort_keys=True))


def load(app: str) -> Built | None:
    from pipeline import store
    text = store.get("ps", app, "build")
    return Built(**json.loads(text)) if text else None
