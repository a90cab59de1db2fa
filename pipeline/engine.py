"""The Docker engine: one SDK client per process, and the labels the platform puts on the
containers it owns. Imported only by commands that need the engine."""
import functools
import io
import sys
import tarfile

import docker
import docker.errors

LABEL_APP = "com.dokku.app"
LABEL_PROC = "com.dokku.process-type"
LABEL_INDEX = "com.dokku.index"
LABEL_RELEASE = "com.dokku.release"
LABEL_STOP_TIMEOUT = "com.dokku.stop-timeout"
LABEL_ROLE = "com.dokku.role"  # "process", "run" or "build"
STACK_IMAGE = "dokku/stack:latest"

NotFound = docker.errors.NotFound
APIError = docker.errors.APIError


@functools.cache
def client() -> docker.DockerClient:
    return docker.from_env(timeout=600)


def app_image(app: str) -> str:
    return f"dokku/{app}:latest"


RETIRING = ".retiring."  # in the name of a previous release's container waiting to be stopped


def app_containers(app: str, role: str = "process", all: bool = True):
    """The app's containers of one role (process containers by default). With all=False: the
    running ones of the current release (not those of a previous release waiting to retire)."""
    filters = {"label": [f"{LABEL_APP}={app}", f"{LABEL_ROLE}={role}"]}
    found = client().containers.list(all=all, filters=filters)
    return found if all else [c for c in found if RETIRING not in c.name]


def tag_release(app: str, image_id: str) -> None:
    """`dokku/<app>:latest` names the image of the release that runs (set only once it serves)."""
    client().images.get(image_id).tag(f"dokku/{app}", "latest")


def app_images(app: str) -> list:
    """Every image built for the app (builds label them), tagged or not."""
    return client().images.list(all=False, filters={"label": f"{LABEL_APP}={app}"})


def prune_images(app: str, keep: str) -> None:
    """Best effort: remove the app's images other than `keep` that no container uses (earlier
    releases, failed builds). An image still in use is refused by the engine and stays."""
    in_use = {c.attrs.get("Image") for c in client().containers.list(all=True, filters={"label": f"{LABEL_APP}={app}"})}
    for image in app_images(app):
        if image.id == keep or image.id in in_use:
            continue
        try:
            client().images.remove(image.id, noprune=False)
        except (APIError, NotFound):
            pass


def remove_quietly(container) -> None:
    try:
        container.remove(force=True)
    except NotFound:
        pass


def stream_output(container, out=None) -> int:
    """Copy a running container's output to `out` as it comes; return its exit code."""
    out = out or sys.stdout
    for chunk in container.logs(stream=True, follow=True):
        out.write(chunk.decode(errors="replace"))
        out.flush()
    return container.wait()["StatusCode"]


def tar_of_files(files: dict[str, bytes], uid: int = 0, mode: int = 0o644) -> bytes:
    """A small tar archive (for put_archive) from {path: content}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.gid, info.mode = len(content), uid, uid, mode
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def read_file(container, path: str) -> bytes | None:
    """One file out of a (created or stopped) container, or None when it is missing."""
    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        f = tar.extractfile(member) if member else None
        return f.read() if f else None
