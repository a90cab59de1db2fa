"""Mount ownership: before a deploy or run starts containers, the app's writable bind-mount
sources are made owned by the user its processes run as.

The check is one `stat` of the mount root, so a correctly owned tree of a million files costs
nothing; only a root with the wrong owner is walked. A mount opts out by being read-only, and an
app opts out entirely with `DOKKU_CHOWN_MOUNTS=false` (e.g. a network share)."""
import os
from pathlib import Path

from pipeline import errors


def needs_chown(source: str, uid: int, gid: int) -> bool:
    st = os.stat(source)
    return (st.st_uid, st.st_gid) != (uid, gid)


def chown_tree(source: str, uid: int, gid: int) -> None:
    """Hand a whole tree to uid:gid; as non-root (the dokku user over SSH) through a throwaway
    container, since the docker group may do what the user itself may not."""
    if os.geteuid() == 0:
        os.lchown(source, uid, gid)
        for root, dirs, files in os.walk(source):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), uid, gid)
        return
    from pipeline import engine
    engine.client().containers.run(
        engine.STACK_IMAGE, ["chown", "-R", f"{uid}:{gid}", "/mnt"], user="root", remove=True,
        mounts=[{"Type": "bind", "Source": source, "Target": "/mnt", "ReadOnly": False}])


# System trees are never handed to an app user, whatever a mount says: a mount of /etc/ssl must
# not make the host's certificates owned by uid 32767.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root",
                "/run", "/sbin", "/sys", "/usr")
SYSTEM_DIRS = ("/", "/home", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/var/lib/docker", "/var/lib/dokku",
               "/var/lib/dokku/data", "/var/lib/dokku/data/storage", "/mnt", "/media")


def is_system_path(source: str) -> bool:
    path = os.path.normpath(source)
    return path in SYSTEM_DIRS or any(path == t or path.startswith(t + "/") for t in SYSTEM_TREES)


def ensure_owned(app: str, sources: list[str], uid: int, gid: int) -> None:
    for source in sources:
        if is_system_path(source):
            if needs_chown(source, uid, gid):
                raise errors.DokkuError(
                    f"Refusing to change the owner of system path {source} for {app}: mount it read-only "
                    f"(:ro), or opt out with dokku config:set {app} DOKKU_CHOWN_MOUNTS=false")
            continue
        try:
            if needs_chown(source, uid, gid):
                chown_tree(source, uid, gid)
        except OSError as err:
            raise errors.DokkuError(
                f"Could not make {source} owned by {uid}:{gid} for {app}: {err.strerror}. "
                f"Fix its ownership by hand, or opt out with dokku config:set {app} DOKKU_CHOWN_MOUNTS=false") from None


def missing_sources(sources: list[str]) -> list[str]:
    return [s for s in sources if not Path(s).exists()]
