"""A storage mount, `host:container[:options]`: parsed, validated and serialized. Pure logic.

Validation happens here, on the way in, so nothing stored can break a later deploy:

- host: an absolute path, or a docker volume name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`);
- container: an absolute path other than `/`;
- options: a comma list of `ro`/`rw`, `z`/`Z`, `nocopy` (volumes only) and one propagation
  mode (host paths only), none repeated;
- paths hold only letters, digits and `/ . _ - @ + = ~ %`, no `.`/`..` segment, and the whole
  spec is at most MAX_SPEC characters: no whitespace, newline or shell metacharacter can get
  through, even though nothing here is ever given to a shell.

Paths are normalized (`//` collapsed, trailing `/` dropped), so `/a/:/b` and `/a:/b` are the
same mount.
"""
import re
from pipeline.errors import DokkuError

GENERIC_ERROR = "Storage path must be two valid paths divided by colon."
DEFAULT_PROCESS = "_default_"
DEFAULT_PHASES = ("deploy", "run")
MAX_SPEC = 4096
WHITESPACE = re.compile(r"\s")
VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
PATH_CHARS = re.compile(r"[A-Za-z0-9/._@+=~%-]+")
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
OPTION_GROUPS = {  # option -> the group of which at most one may be given
    "ro": "access", "rw": "access", "z": "selinux", "Z": "selinux", "nocopy": "nocopy",
    **{mode: "propagation" for mode in PROPAGATIONS},
}


def _fail(reason: str) -> DokkuError:
    return DokkuError(f"{GENERIC_ERROR} {reason}")


def _shown(text: str) -> str:
    """A user value, safe to echo on one line (repr escapes newlines), and short."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


def normalize_path(path: str, side: str) -> str:
    """An absolute path with a safe character set and no `.`/`..` segment, normalized."""
    if not path.startswith("/"):
        raise _fail(f"The {side} path {_shown(path)} must be an absolute path.")
    if not PATH_CHARS.fullmatch(path):
        bad = next(c for c in path if not PATH_CHARS.fullmatch(c))
        raise _fail(f"The {side} path may only contain letters, digits and / . _ - @ + = ~ %, "
                    f"not {bad!r}.")
    segments = [s for s in path.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise _fail(f"The {side} path {_shown(path)} must not contain . or .. segments.")
    return "/" + "/".join(segments)


class Mount:
    """One mount. (A plain class, not a dataclass: importing dataclasses costs `storage:list`
    a noticeable share of its start-up time.)"""

    __slots__ = ("host_path", "container_path", "readonly", "volume_options", "phases", "process_type")

    def __init__(self, host_path: str, container_path: str, readonly: bool = False,
                 volume_options: list[str] | None = None, phases: list[str] | None = None,
                 process_type: str = DEFAULT_PROCESS):
        self.host_path, self.container_path, self.readonly = host_path, container_path, readonly
        self.volume_options = list(volume_options or [])
        self.phases = list(DEFAULT_PHASES if phases is None else phases)
        self.process_type = process_type

    def __eq__(self, other) -> bool:
        return isinstance(other, Mount) and self.to_record() == other.to_record()

    def __repr__(self) -> str:
        return f"Mount({self.to_record()!r})"

    def copy(self, **changes) -> "Mount":
        return Mount.from_record({**self.to_record(), **changes})

    def is_bind(self) -> bool:
        """A host directory (as opposed to a named docker volume)."""
        return self.host_path.startswith("/")

    def options(self) -> list[str]:
        return (["ro"] if self.readonly else []) + list(self.volume_options)

    def spec(self) -> str:
        """`host:container[:options]`, as docker's `-v` takes it."""
        options = self.options()
        return f"{self.host_path}:{self.container_path}" + (":" + ",".join(options) if options else "")

    def same_paths(self, other: "Mount") -> bool:
        return (self.host_path, self.container_path) == (other.host_path, other.container_path)

    def applies_to(self, phase: str, process_type: str | None = None) -> bool:
        """Whether a container of `phase` (and of `process_type`, for deploy) gets this mount."""
        if phase not in self.phases:
            return False
        return self.process_type == DEFAULT_PROCESS or self.process_type == process_type

    def to_record(self) -> dict:
        return {"host_path": self.host_path, "container_path": self.container_path,
                "readonly": self.readonly, "volume_options": list(self.volume_options),
                "phases": list(self.phases), "process_type": self.process_type}

    @classmethod
    def from_record(cls, record: dict) -> "Mount":
        return cls(host_path=record["host_path"], container_path=record["container_path"],
                   readonly=bool(record.get("readonly", False)),
                   volume_options=list(record.get("volume_options", [])),
                   phases=list(record.get("phases", DEFAULT_PHASES)),
                   process_type=record.get("process_type", DEFAULT_PROCESS))


def _parse_options(text: str, is_bind: bool) -> tuple[bool, list[str]]:
    """`ro,z` -> (readonly, the other options in the given order)."""
    readonly, rest, seen = False, [], set()
    for option in text.split(","):
        group = OPTION_GROUPS.get(option)
        if group is None:
            raise _fail(f"Unknown mount option {_shown(option)}: use a comma list of ro or rw, z or Z, "
                        f"nocopy, or one of {', '.join(PROPAGATIONS)}.")
        if group in seen:
            raise _fail(f"Mount option {option} conflicts with or repeats an earlier one.")
        seen.add(group)
        if group == "nocopy" and is_bind:
            raise _fail("The nocopy option applies to docker volumes only, not to a host path.")
        if group == "propagation" and not is_bind:
            raise _fail(f"The {option} propagation applies to host paths only, not to a docker volume.")
        if group == "access":
            readonly = option == "ro"
        else:
            rest.append(option)
    return readonly, rest


def parse_spec(text: str) -> Mount:
    """`host:container[:options]` -> a Mount for the deploy and run phases, or DokkuError."""
    if not text:
        raise DokkuError(GENERIC_ERROR)
    if len(text) > MAX_SPEC:
        raise _fail(f"It is {len(text)} characters long: at most {MAX_SPEC}.")
    if WHITESPACE.search(text):
        raise _fail("It must not contain spaces or newlines.")
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1] or (len(parts) == 3 and not parts[2]):
        raise _fail(f"Got {_shown(text)}; expected host:container[:options], e.g. "
                    "/var/lib/dokku/data/storage/app:/app/storage")
    host, container = parts[0], parts[1]
    if host.startswith("/"):
        host = normalize_path(host, "host")
        if host == "/":
            raise _fail("The host path must not be / itself.")
    elif not VOLUME_NAME.fullmatch(host):
        raise _fail(f"The host side {_shown(host)} must be an absolute path or a docker volume name "
                    "of two or more characters from [a-zA-Z0-9_.-], starting with a letter or digit.")
    container = normalize_path(container, "container")
    if container == "/":
        raise _fail("The container path must not be / itself.")
    readonly, options = _parse_options(parts[2], host.startswith("/")) if len(parts) == 3 else (False, [])
    return Mount(host, container, readonly, options)
