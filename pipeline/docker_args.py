"""Docker option words -> Docker SDK (docker-py 7) keyword arguments, as plain data.

The one place that knows docker's command-line flags. `docker-options:add` splits and
validates with it (so it imports nothing heavy: no `docker`), the deploy, run and build
steps translate the stored options with it, and the storage plugin reuses `volume_kwargs`.

    words --split_options--> options (one normalized string each, stored one per line)
    options --validate(phase)--> refused early with UnsupportedOption / OptionSyntaxError
    options --container_kwargs--> client.containers.create(image, command, **kwargs)
    options --build_kwargs--> client.images.build(path=..., **kwargs)   (Dockerfile builds)

Every value is plain data shaped like the SDK's own types: a mount is the dict
`docker.types.Mount` builds (`Target`, `Source`, `Type`, `ReadOnly`, `BindOptions`,
`VolumeOptions`, `TmpfsOptions`), a ulimit the dict of `docker.types.Ulimit` (`Name`, `Soft`,
`Hard`), `log_config` the dict of `docker.types.LogConfig` (`Type`, `Config`), a device a
`host:container:permissions` string, a port binding `{"HostIp": ..., "HostPort": ...}`, sizes
in bytes (int).

Phase support (B = build, D = deploy, R = run; anything not listed, `--privileged` included,
is refused in every phase):

    flag                      B  D  R  containers.create kwarg      images.build kwarg
    -v, --volume              b  x  x  mounts (volumes if z/Z)      -
    --mount                   b  x  x  mounts                       -
    -e, --env                 b  x  x  environment                  -
    --env-file                   x  x  environment (file read now)
    -l, --label               x  x  x  labels                       labels
    --restart                    x  x  restart_policy
    -m, --memory              x  x  x  mem_limit                    container_limits.memory
    --memory-swap             x  x  x  memswap_limit                container_limits.memswap
    --cpus                       x  x  nano_cpus
    --cpu-shares              x  x  x  cpu_shares                   container_limits.cpushares
    --link                       x  x  links
    --network                 x  x  x  network                      network_mode
    --add-host                x  x  x  extra_hosts                  extra_hosts
    --ulimit                  b  x  x  ulimits                      -
    --shm-size                x  x  x  shm_size                     shmsize
    --cap-add, --cap-drop        x  x  cap_add, cap_drop
    --device                     x  x  devices
    --dns                        x  x  dns
    -h, --hostname               x  x  hostname
    -u, --user                   x  x  user
    -w, --workdir                x  x  working_dir
    --tmpfs                      x  x  tmpfs
    --init                       x  x  init
    --log-driver, --log-opt      x  x  log_config
    -p, --publish                x  x  ports
    --read-only                  x  x  read_only
    --security-opt               x  x  security_opt (seccomp=<file> is read now)
    --sysctl                     x  x  sysctls
    --group-add                  x  x  group_add
    --pids-limit                 x  x  pids_limit
    --stop-signal                x  x  stop_signal
    --stop-timeout               x  x  _stop_timeout (see STOP_TIMEOUT_KEY)
    --build-arg               x        -                            buildargs
    --target                  x        -                            target
    --no-cache                x        -                            nocache
    --cache-from              x        -                            cache_from
    --platform                x        platform                     platform

`b`: valid in the build phase for buildpack builds only, which run in a container; a
Dockerfile build (`docker build`) has no such setting, so `build_kwargs` refuses it and
`dockerfile_unsupported_options` / `build_volume_options` name it for the builder's error.
Image-only flags (`--build-arg`, `--target`, `--no-cache`, `--cache-from`) mean nothing to a
container: `container_kwargs` (used for buildpack builds) leaves them out.

`--stop-timeout`: docker-py 7's `containers.create` has no `stop_timeout` (only the low-level
`APIClient.create_container` does), so `container_kwargs` returns it under `STOP_TIMEOUT_KEY`
(`"_stop_timeout"`, seconds): callers pop it before `containers.create` and pass it as
`container.stop(timeout=...)` when retiring the container.

Nothing is evaluated by a shell: words are split with `shlex` only, and `$(id)` stays literal.
"""
import csv
import ipaddress
import re
import shlex

from pipeline.errors import DokkuError

PHASES = ("build", "deploy", "run")
BUILD, DEPLOY, RUN = PHASES
STOP_TIMEOUT_KEY = "_stop_timeout"

__all__ = [
    "PHASES", "BUILD", "DEPLOY", "RUN", "STOP_TIMEOUT_KEY",
    "DockerOptionError", "UnsupportedOption", "OptionSyntaxError",
    "split_options", "validate", "container_kwargs", "build_kwargs", "build_volume_options",
    "dockerfile_unsupported_options", "merge_kwargs", "volume_mount", "volume_kwargs",
]


class DockerOptionError(DokkuError, ValueError):
    """A docker option that cannot be stored or applied (exit status 1)."""


class UnsupportedOption(DockerOptionError):
    """A flag this project does not apply in `phase` (None: in no phase / unknown flag)."""

    def __init__(self, option: str, phase: str | None = None, message: str | None = None):
        if message is None:
            message = (f"Unsupported docker option for the {phase} phase: {option}" if phase
                       else f"Unsupported docker option: {option}")
        super().__init__(message)
        self.option = option
        self.phase = phase


class OptionSyntaxError(DockerOptionError):
    """A malformed option: unbalanced quote, missing or invalid value."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class _BadValue(Exception):
    """Raised by converters with the reason; turned into OptionSyntaxError with context."""


# ---------------------------------------------------------------------------- small parsers

_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp])?i?b?", re.IGNORECASE)
_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_NETWORK = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*(:[a-zA-Z0-9][a-zA-Z0-9_.-]*)?")  # container:<name>
_DRIVER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_./:-]*")
_HOSTNAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?")
_USER = re.compile(r"[a-zA-Z0-9_.][a-zA-Z0-9_.-]*(:[a-zA-Z0-9_.][a-zA-Z0-9_.-]*)?")
_SIGNAL = re.compile(r"(SIG)?[A-Z][A-Z0-9+-]*|\d+", re.IGNORECASE)
_CAPABILITY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_PROTOCOLS = ("tcp", "udp", "sctp")
_ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
            "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")
_TRUE, _FALSE = ("1", "t", "true"), ("0", "f", "false")


def _size(value: str) -> int:
    """`512m`, `1.5g`, `1GiB`, `2048` -> bytes (binary units, like docker's RAMInBytes)."""
    match = _SIZE.fullmatch(value)
    if not match:
        raise _BadValue("expected a size: a number with an optional unit b, k, m, g, t or p")
    unit = (match.group(2) or "b").lower()
    return int(float(match.group(1)) * 1024 ** "bkmgtp".index(unit))


def _int(value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _BadValue("expected a whole number") from None
    if number < minimum:
        raise _BadValue(f"expected a whole number of at least {minimum}")
    return number


def _bool(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _BadValue("expected true or false")


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _BadValue(f"{value!r} is not an IP address") from None
    return value


def _abs_path(value: str, what: str = "path") -> str:
    if not value.startswith("/"):
        raise _BadValue(f"the {what} must be an absolute path")
    return value


def _match(pattern: re.Pattern, value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise _BadValue(f"{value!r} is not a valid {what}")
    return value


def _pair(value: str, what: str, value_required: bool = True) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not key or (value_required and not sep):
        raise _BadValue(f"expected {what}=VALUE")
    return key, val


# ---------------------------------------------------------------------------- mounts

def _mount_dict(target, source, type_, read_only=False, *, consistency=None, propagation=None,
                no_copy=False, labels=None, subpath=None, tmpfs_size=None, tmpfs_mode=None) -> dict:
    """The dict `docker.types.Mount(target, source, type, read_only, ...)` builds."""
    mount = {"Target": target, "Source": source, "Type": type_, "ReadOnly": read_only}
    if consistency:
        mount["Consistency"] = consistency
    if propagation:
        mount["BindOptions"] = {"Propagation": propagation}
    volume_options = {key: val for key, val in (
        ("NoCopy", no_copy), ("Labels", labels), ("Subpath", subpath)) if val}
    if volume_options:
        mount["VolumeOptions"] = volume_options
    tmpfs_options = {key: val for key, val in (("Mode", tmpfs_mode), ("SizeBytes", tmpfs_size)) if val}
    if tmpfs_options:
        mount["TmpfsOptions"] = tmpfs_options
    return mount


def _parse_volume(spec: str, read_only_default: bool) -> tuple[dict, list[str], str | None]:
    """`host:container[:opts]` -> (mount dict, bind modes, SELinux relabel mode or None)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2]):
        raise _BadValue("expected host:container[:options], e.g. /var/lib/app:/app/data:ro")
    host, target = parts[0], parts[1]
    if host.startswith("/"):
        type_ = "bind"
    elif _VOLUME_NAME.fullmatch(host):
        type_ = "volume"
    else:
        raise _BadValue(f"the host side {host!r} must be an absolute path or a volume name "
                        "([a-zA-Z0-9][a-zA-Z0-9_.-]+)")
    if not target.startswith("/") or target.strip("/") == "":
        raise _BadValue(f"the container side {target!r} must be an absolute path other than /")
    read_only = relabel = propagation = None
    no_copy = False
    for opt in parts[2].split(",") if len(parts) == 3 else ():
        if opt in ("ro", "rw") and read_only is None:
            read_only = opt == "ro"
        elif opt in ("z", "Z") and relabel is None:
            relabel = opt
        elif opt in _PROPAGATIONS and propagation is None:
            propagation = opt
        elif opt == "nocopy" and not no_copy:
            no_copy = True
        else:
            raise _BadValue(f"volume option {opt!r} is unknown or repeated; use a comma list of ro "
                            f"or rw, z or Z, nocopy, one of {', '.join(_PROPAGATIONS)}")
    if no_copy and type_ == "bind":
        raise _BadValue("nocopy applies to named volumes only, not to a host path")
    if propagation and type_ == "volume":
        raise _BadValue(f"{propagation} propagation applies to host paths only, not to a volume")
    read_only = read_only_default if read_only is None else read_only
    modes = ["ro" if read_only else "rw"] + [m for m in (relabel, propagation) if m]
    modes += ["nocopy"] if no_copy else []
    mount = _mount_dict(target, host, type_, read_only, propagation=propagation, no_copy=no_copy)
    return mount, modes, relabel


def _volume(spec: str, read_only_default: bool = False) -> dict:
    mount, modes, relabel = _parse_volume(spec, read_only_default)
    if relabel:
        return {"volumes": [f"{mount['Source']}:{mount['Target']}:{','.join(modes)}"]}
    return {"mounts": [mount]}


def volume_kwargs(spec: str, read_only_default: bool = False) -> dict:
    """A `-v host:container[:opts]` spec as a containers.create kwargs fragment, ready for
    `merge_kwargs`: `{"mounts": [mount]}`, or, for the SELinux relabel modes z/Z (which
    Docker's mount API cannot express), `{"volumes": ["host:container:rw,z"]}` (binds).
    `read_only_default` applies when the spec says neither ro nor rw."""
    try:
        return _volume(spec, read_only_default)
    except _BadValue as exc:
        raise OptionSyntaxError(f"Invalid volume {spec!r}: {exc}", spec) from None


def volume_mount(spec: str, read_only_default: bool = False) -> dict:
    """`host:container[:opts]` (host an absolute path -> bind, else a volume name) -> the
    `docker.types.Mount` dict. `opts`: comma list of ro, rw, z, Z, nocopy and a propagation
    mode. z/Z cannot be expressed as a mount: such a spec raises here; use `volume_kwargs`,
    which accepts every valid spec."""
    fragment = volume_kwargs(spec, read_only_default)
    if "mounts" not in fragment:
        raise OptionSyntaxError(f"Invalid volume {spec!r}: SELinux relabel (z/Z) needs a bind, "
                                "not a mount; use volume_kwargs()", spec)
    return fragment["mounts"][0]


def _choice(choices: tuple[str, ...], what: str):
    def parse(value: str) -> str:
        if value not in choices:
            raise _BadValue(f"{what} must be one of {', '.join(choices)}")
        return value
    return parse


def _octal(value: str) -> int:
    try:
        return int(value, 8)
    except ValueError:
        raise _BadValue("tmpfs-mode must be an octal mode like 1777") from None


# --mount field -> (Mount argument, the only mount type it applies to or None, parser)
_MOUNT_FIELDS = {
    "type": ("type_", None, _choice(("bind", "volume", "tmpfs"), "type")),
    "source": ("source", None, str), "src": ("source", None, str),
    "target": ("target", None, str), "destination": ("target", None, str), "dst": ("target", None, str),
    "readonly": ("read_only", None, _bool), "ro": ("read_only", None, _bool),
    "consistency": ("consistency", None, str),
    "bind-propagation": ("propagation", "bind", _choice(_PROPAGATIONS, "bind-propagation")),
    "volume-nocopy": ("no_copy", "volume", _bool),
    "volume-subpath": ("subpath", "volume", str),
    "volume-label": ("labels", "volume", lambda v: dict([_pair(v, "volume-label=KEY", False)])),
    "tmpfs-size": ("tmpfs_size", "tmpfs", _size),
    "tmpfs-mode": ("tmpfs_mode", "tmpfs", _octal),
}
_MOUNT_FLAGS = ("readonly", "ro", "volume-nocopy")  # may be given without =value


def _mount_option(value: str) -> dict:
    """`--mount type=bind,source=/a,target=/b,readonly` -> {"mounts": [mount]}."""
    args: dict = {"type_": "volume", "source": None, "target": None}
    for field in next(csv.reader([value]), []):
        key, sep, val = field.partition("=")
        if key not in _MOUNT_FIELDS:
            raise _BadValue(f"unknown --mount field {key!r}; known: {', '.join(_MOUNT_FIELDS)}")
        if not sep and key not in _MOUNT_FLAGS:
            raise _BadValue(f"the --mount field {key} needs a value ({key}=...)")
        name, _, parse = _MOUNT_FIELDS[key]
        parsed = parse(val if sep else "true")
        args[name] = {**args[name], **parsed} if isinstance(parsed, dict) and name in args else parsed
    kind = args["type_"]
    for key, (name, only, _) in _MOUNT_FIELDS.items():
        if only and only != kind and args.get(name):
            raise _BadValue(f"{key} does not apply to a {kind} mount")
    _abs_path(args["target"] or "", "target")
    if kind == "bind":
        _abs_path(args["source"] or "", "bind source")
    elif kind == "tmpfs" and args["source"]:
        raise _BadValue("a tmpfs mount takes no source")
    elif kind == "volume" and args["source"]:
        _match(_VOLUME_NAME, args["source"], "volume name")
    return {"mounts": [_mount_dict(args.pop("target"), args.pop("source"), args.pop("type_"), **args)]}


# ---------------------------------------------------------------------------- converters
# Each takes the option's value (a bool for boolean flags) and returns a kwargs fragment;
# fragments are combined with merge_kwargs.

def _env(value: str) -> dict:
    if "=" not in value:
        raise _BadValue("expected KEY=VALUE (a bare KEY would copy the server's environment)")
    return {"environment": dict([_pair(value, "KEY")])}


def _read_env_file(path: str) -> dict:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise _BadValue(f"cannot read env file {path}: {exc.strerror}") from None
    environment = {}
    for number, line in enumerate(lines, 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, val = line.partition("=")
        if not sep or not key or any(c.isspace() for c in key):
            raise _BadValue(f"{path} line {number}: expected KEY=VALUE")
        environment[key] = val
    return {"environment": environment}


def _restart(value: str) -> dict:
    name, sep, count = value.partition(":")
    if name not in _RESTART_POLICIES or (sep and name != "on-failure"):
        raise _BadValue("the restart policy must be no, always, unless-stopped or "
                        "on-failure[:max-retries]")
    return {"restart_policy": {"Name": name, "MaximumRetryCount": _int(count, 0) if sep else 0}}


def _swap(value: str) -> int:
    return -1 if value == "-1" else _size(value)


def _cpus(value: str) -> dict:
    try:
        cpus = float(value)
    except ValueError:
        raise _BadValue("expected a number of CPUs like 1.5") from None
    if not 0 < cpus < 1e6:
        raise _BadValue("expected a number of CPUs greater than 0")
    return {"nano_cpus": round(cpus * 1e9)}


def _network(value: str) -> str:
    return _match(_NETWORK, value, "network name")


def _link(value: str) -> dict:
    name, _, alias = value.partition(":")
    _match(_NAME, name.lstrip("/"), "container name")
    return {"links": {name: _match(_NAME, alias, "alias") if alias else name}}


def _host_ip(value: str) -> tuple[str, str]:
    host, sep, ip = value.partition("=") if "=" in value else value.partition(":")
    if not host or not sep or any(c.isspace() for c in host):
        raise _BadValue("expected HOST:IP, e.g. db.local:10.0.0.5")
    ip = ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
    return host, ip if ip == "host-gateway" else _ip(ip)


def _ulimit(value: str) -> dict:
    name, sep, limits = value.partition("=")
    if name not in _ULIMITS or not sep:
        raise _BadValue(f"expected NAME=SOFT[:HARD] with NAME one of {', '.join(_ULIMITS)}")
    soft, _, hard = limits.partition(":")
    soft_limit = _int(soft, -1)
    hard_limit = _int(hard, -1) if hard else soft_limit
    if hard_limit != -1 and (soft_limit == -1 or soft_limit > hard_limit):
        raise _BadValue("the soft limit must not exceed the hard limit")
    return {"ulimits": [{"Name": name, "Soft": soft_limit, "Hard": hard_limit}]}


def _device(value: str) -> dict:
    """`/dev/x`, `/dev/x:/dev/y`, `/dev/x:rw`, `/dev/x:/dev/y:rw` -> `host:container:perms`."""
    parts = value.split(":")
    if len(parts) == 2 and not parts[1].startswith("/"):
        parts.insert(1, parts[0])
    if len(parts) > 3:
        raise _BadValue("expected HOST-DEVICE[:CONTAINER-PATH][:PERMISSIONS]")
    host, container, perms = parts + [parts[0], "rwm"][len(parts) - 1:]
    _abs_path(host, "device")
    _abs_path(container, "container path")
    if not perms or set(perms) - set("rwm"):
        raise _BadValue("the permissions must be a combination of r, w and m")
    return {"devices": [f"{host}:{container}:{perms}"]}


def _tmpfs(value: str) -> dict:
    path, _, opts = value.partition(":")
    return {"tmpfs": {_abs_path(path, "tmpfs path"): opts}}


def _log_opt(value: str) -> dict:
    return {"log_config": {"Config": dict([_pair(value, "KEY")])}}


def _port_range(text: str) -> list[int]:
    low, sep, high = text.partition("-")
    ports = [_int(low, 1), _int(high, 1) if sep else _int(low, 1)]
    if ports[1] > 65535 or ports[0] > ports[1]:
        raise _BadValue(f"{text!r} is not a port or port range within 1-65535")
    return list(range(ports[0], ports[1] + 1))


def _publish(value: str) -> dict:
    """`5000`, `8080:5000`, `127.0.0.1:8080:5000`, `[::1]::5000`, `5000/udp`, port ranges."""
    rest, _, protocol = value.partition("/")
    if (protocol or "tcp") not in _PROTOCOLS:
        raise _BadValue(f"the protocol must be one of {', '.join(_PROTOCOLS)}")
    host_ip = ""
    if rest.startswith("["):  # [IPv6]:host-port:container-port
        host_ip, _, rest = rest[1:].partition("]")
        _ip(host_ip)
        rest = rest.removeprefix(":")
        if rest.count(":") != 1:
            raise _BadValue("expected [IP]:HOST-PORT:CONTAINER-PORT")
    elif rest.count(":") == 2:
        host_ip, _, rest = rest.partition(":")
        _ip(host_ip)
    elif rest.count(":") > 2:
        raise _BadValue("expected [IP:][HOST-PORT:]CONTAINER-PORT[/PROTOCOL]")
    host_port, _, container_port = rest.rpartition(":")
    container_ports = _port_range(container_port)
    host_range = _port_range(host_port) if host_port else []
    if len(container_ports) == 1:  # a host port range lets the engine pick a free port in it
        host_ports = [host_port if len(host_range) > 1 else str(host_range[0]) if host_range else ""]
    elif not host_range:
        host_ports = [""] * len(container_ports)
    elif len(host_range) == len(container_ports):
        host_ports = [str(port) for port in host_range]
    else:
        raise _BadValue("a host port range must be as long as the container port range")
    return {"ports": {f"{port}/{protocol or 'tcp'}": [{"HostIp": host_ip, "HostPort": host}]
                      for port, host in zip(container_ports, host_ports, strict=True)}}


def _security_opt(value: str, read_files: bool = True) -> dict:
    key, _, val = value.partition("=")
    if not key or any(c.isspace() for c in key):
        raise _BadValue("expected KEY[=VALUE], e.g. no-new-privileges or seccomp=unconfined")
    if key == "seccomp" and val not in ("unconfined", "builtin"):
        _abs_path(val, "seccomp profile")
        if read_files:
            import json

            try:
                with open(val, encoding="utf-8") as handle:
                    profile = json.load(handle)
            except (OSError, ValueError) as exc:
                raise _BadValue(f"cannot read the seccomp profile {val}: {exc}") from None
            value = "seccomp=" + json.dumps(profile, separators=(",", ":"))
    return {"security_opt": [value]}


def _build_arg(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise _BadValue("expected KEY=VALUE (a bare KEY would copy the server's environment)")
    return _pair(value, "KEY")


def _text(value: str) -> str:
    if not value.strip():
        raise _BadValue("expected a non-empty value")
    return value


def _pattern(pattern: re.Pattern, what: str):
    return lambda value: _match(pattern, value, what)


def _one(key: str, parse):
    """A converter giving `{key: parse(value)}` (a scalar: the last option wins)."""
    return lambda value: {key: parse(value)}


def _many(key: str, parse):
    """A converter giving `{key: [parse(value)]}` (a list: options accumulate)."""
    return lambda value: {key: [parse(value)]}


def _keyed(key: str, parse_pair):
    """A converter giving `{key: {k: v}}` from a `(k, v)` parser (a dict: options accumulate)."""
    return lambda value: {key: dict([parse_pair(value)])}


def _limit(key: str, parse):
    return lambda value: {"container_limits": {key: parse(value)}}


def _label_pair(value: str) -> tuple[str, str]:
    return _pair(value, "KEY", value_required=False)


def _count(value: str) -> int:
    return _int(value, 0)


def _count_or_unlimited(value: str) -> int:
    return _int(value, -1)


_capability = _pattern(_CAPABILITY, "capability")


# ---------------------------------------------------------------------------- the table

class _Spec:
    __slots__ = ("names", "phases", "takes_value", "container", "build", "check", "example")

    def __init__(self, names, phases, *, container=None, build=None, check=None,
                 takes_value=True, example=""):
        self.names, self.phases, self.takes_value = names, frozenset(phases), takes_value
        self.container, self.build, self.check = container, build, check
        self.example = example or names[-1]


_ALL, _CONTAINER, _BUILD = PHASES, (DEPLOY, RUN), (BUILD,)
_SPECS = [
    _Spec(("-v", "--volume"), _ALL, container=_volume,
          example="-v /var/lib/dokku/data/storage/app:/app/data"),
    _Spec(("--mount",), _ALL, container=_mount_option,
          example="--mount type=bind,source=/srv/data,target=/data"),
    _Spec(("-e", "--env"), _ALL, container=_env, example="-e KEY=value"),
    _Spec(("--env-file",), _CONTAINER, container=lambda v: _read_env_file(_abs_path(v, "env file")),
          check=lambda v: _abs_path(v, "env file"), example="--env-file /etc/app.env"),
    _Spec(("-l", "--label"), _ALL, container=_keyed("labels", _label_pair),
          build=_keyed("labels", _label_pair), example="--label com.example.team=web"),
    _Spec(("--restart",), _CONTAINER, container=_restart, example="--restart on-failure:5"),
    _Spec(("-m", "--memory"), _ALL, container=_one("mem_limit", _size),
          build=_limit("memory", _size), example="--memory 512m"),
    _Spec(("--memory-swap",), _ALL, container=_one("memswap_limit", _swap),
          build=_limit("memswap", _swap), example="--memory-swap 1g"),
    _Spec(("--cpus",), _CONTAINER, container=_cpus, example="--cpus 1.5"),
    _Spec(("--cpu-shares",), _ALL, container=_one("cpu_shares", _count),
          build=_limit("cpushares", _count), example="--cpu-shares 512"),
    _Spec(("--link",), _CONTAINER, container=_link, example="--link db:database"),
    _Spec(("--network",), _ALL, container=_one("network", _network),
          build=_one("network_mode", _network), example="--network my-network"),
    _Spec(("--add-host",), _ALL, container=_keyed("extra_hosts", _host_ip),
          build=_keyed("extra_hosts", _host_ip), example="--add-host db.local:10.0.0.5"),
    _Spec(("--ulimit",), _ALL, container=_ulimit, example="--ulimit nofile=1024:2048"),
    _Spec(("--shm-size",), _ALL, container=_one("shm_size", _size), build=_one("shmsize", _size),
          example="--shm-size 256m"),
    _Spec(("--cap-add",), _CONTAINER, container=_many("cap_add", _capability),
          example="--cap-add SYS_PTRACE"),
    _Spec(("--cap-drop",), _CONTAINER, container=_many("cap_drop", _capability),
          example="--cap-drop NET_RAW"),
    _Spec(("--device",), _CONTAINER, container=_device, example="--device /dev/fuse"),
    _Spec(("--dns",), _CONTAINER, container=_many("dns", _ip), example="--dns 1.1.1.1"),
    _Spec(("-h", "--hostname"), _CONTAINER, container=_one("hostname", _pattern(_HOSTNAME, "host name")),
          example="--hostname web.internal"),
    _Spec(("-u", "--user"), _CONTAINER, container=_one("user", _pattern(_USER, "user[:group]")),
          example="--user 1000:1000"),
    _Spec(("-w", "--workdir"), _CONTAINER, container=_one("working_dir", lambda v: _abs_path(v, "workdir")),
          example="--workdir /app"),
    _Spec(("--tmpfs",), _CONTAINER, container=_tmpfs, example="--tmpfs /tmp:rw,size=64m"),
    _Spec(("--init",), _CONTAINER, container=_one("init", bool), takes_value=False),
    _Spec(("--log-driver",), _CONTAINER, example="--log-driver syslog",
          container=lambda v: {"log_config": {"Type": _match(_DRIVER, v, "log driver")}}),
    _Spec(("--log-opt",), _CONTAINER, container=_log_opt, example="--log-opt max-size=10m"),
    _Spec(("-p", "--publish"), _CONTAINER, container=_publish, example="--publish 8080:5000"),
    _Spec(("--read-only",), _CONTAINER, container=_one("read_only", bool), takes_value=False),
    _Spec(("--security-opt",), _CONTAINER, container=_security_opt,
          check=lambda v: _security_opt(v, read_files=False), example="--security-opt no-new-privileges"),
    _Spec(("--sysctl",), _CONTAINER, container=_keyed("sysctls", lambda v: _pair(v, "KEY")),
          example="--sysctl net.core.somaxconn=1024"),
    _Spec(("--group-add",), _CONTAINER, container=_many("group_add", _text), example="--group-add audio"),
    _Spec(("--pids-limit",), _CONTAINER, container=_one("pids_limit", _count_or_unlimited),
          example="--pids-limit 200"),
    _Spec(("--stop-signal",), _CONTAINER, container=_one("stop_signal", _pattern(_SIGNAL, "signal")),
          example="--stop-signal SIGQUIT"),
    _Spec(("--stop-timeout",), _CONTAINER, container=_one(STOP_TIMEOUT_KEY, _count_or_unlimited),
          example="--stop-timeout 30"),
    _Spec(("--build-arg",), _BUILD, build=_keyed("buildargs", _build_arg), example="--build-arg KEY=value"),
    _Spec(("--target",), _BUILD, build=_one("target", _text), example="--target production"),
    _Spec(("--no-cache",), _BUILD, build=_one("nocache", bool), takes_value=False),
    _Spec(("--cache-from",), _BUILD, build=_many("cache_from", _text), example="--cache-from myapp:latest"),
    _Spec(("--platform",), _BUILD, container=_one("platform", _text), build=_one("platform", _text),
          example="--platform linux/amd64"),
]
# Docker flags this project knows but applies in no phase: grouped correctly by
# split_options, then refused by validate with the phase in the message.
_SPECS += [_Spec(names, (), takes_value=False) for names in (
    ("--privileged",), ("--rm",), ("-d", "--detach"), ("-i", "--interactive"), ("-P", "--publish-all"),
    ("--oom-kill-disable",), ("--no-healthcheck",), ("--squash",), ("--force-rm",))]
_SPECS += [_Spec(names, ()) for names in (
    ("--name",), ("--entrypoint",), ("--pid",), ("--ipc",), ("--userns",), ("--uts",), ("--cgroupns",),
    ("--volumes-from",), ("--runtime",), ("--cgroup-parent",), ("--gpus",), ("--isolation",),
    ("--device-cgroup-rule",), ("--ip",), ("--ip6",), ("--mac-address",), ("--network-alias",),
    ("--expose",), ("-f", "--file"), ("--tag",), ("--memory-reservation",), ("--cpuset-cpus",))]
_FLAGS = {name: spec for spec in _SPECS for name in spec.names}


# ---------------------------------------------------------------------------- splitting

class _Option:
    """One grouped option: its words, its spec, its value (str, or bool for boolean flags)."""

    __slots__ = ("text", "spec", "value")

    def __init__(self, words: list[str], spec: _Spec, value):
        self.text, self.spec, self.value = shlex.join(words), spec, value


def _lookup(token: str) -> tuple[_Spec | None, str | None]:
    """A word -> (its flag's spec or None, the value attached to it or None)."""
    if token.startswith("--"):
        name, sep, value = token.partition("=")
        return _FLAGS.get(name), value if sep else None
    if token.startswith("-") and len(token) > 1:
        spec, rest = _FLAGS.get(token[:2]), token[2:]
        if spec and rest and not spec.takes_value and not rest.startswith("="):
            return None, None  # combined short flags (-it) are not supported
        return spec, rest.removeprefix("=") if rest else None
    return None, None


def _group(tokens: list[str], phase: str | None) -> list[_Option]:
    options, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        spec, value = _lookup(token)
        if spec is None:
            if not token.startswith("-") or token == "-":
                raise OptionSyntaxError(f"Unexpected value {token!r} without a flag in docker options; "
                                        "quote a value that contains spaces", token)
            raise UnsupportedOption(token, phase)
        words = [token]
        if spec.takes_value and value is None:
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is None or following.startswith("--") or _lookup(following)[0]:
                raise OptionSyntaxError(f"Option {token} needs a value (e.g. {spec.example})", token)
            words.append(following)
            value = following
            i += 1
        elif not spec.takes_value:
            try:
                value = True if value is None else _bool(value)
            except _BadValue:
                flag = token.partition("=")[0]
                raise OptionSyntaxError(f"Option {flag} takes no value, or =true / =false", token) from None
        options.append(_Option(words, spec, value))
        i += 1
    return options


def _tokens(word: str) -> list[str]:
    try:
        return shlex.split(word)
    except ValueError:
        raise OptionSyntaxError(f"Unbalanced quote in docker options: {word}; close the quote "
                                "or escape it", word) from None


def _parse(options: list[str], phase: str | None = None) -> list[_Option]:
    return _group([token for word in options for token in _tokens(word)], phase)


def split_options(words: list[str], phase: str | None = None) -> list[str]:
    """The words after the phase on the command line -> one normalized string per option.

    Each word is split shell-style (never evaluated) and grouped per flag: `--link a --link b`
    is two options, `-v /a:/b` one, `--init` one; each is returned as `shlex.join` of its
    words. Raises OptionSyntaxError (unbalanced quote, value without flag, flag without value)
    or UnsupportedOption (unknown flag; `phase` only names the phase in that message)."""
    return [opt.text for opt in _parse(words, phase)]


# ---------------------------------------------------------------------------- translating

def _convert(convert, option: _Option) -> dict:
    try:
        return convert(option.value)
    except _BadValue as exc:
        raise OptionSyntaxError(f"Invalid docker option {option.text}: {exc} "
                                f"(e.g. {option.spec.example})", option.text) from None


def validate(phase: str, options: list[str]) -> None:
    """Refuse what `phase` cannot apply (UnsupportedOption) or a malformed value
    (OptionSyntaxError). Reads no file: --env-file and seccomp paths are read at translate time."""
    if phase not in PHASES:
        raise DockerOptionError(f"Phase(s) must be one of [{' '.join(PHASES)}]")
    for option in _parse(options, phase):
        spec = option.spec
        if phase not in spec.phases:
            raise UnsupportedOption(option.text, phase)
        for check in (spec.check,) if spec.check else (spec.container, spec.build):
            if check:
                _convert(check, option)


def merge_kwargs(*dicts: dict) -> dict:
    """Merge kwargs fragments into a new dict: lists are concatenated, dicts merged key by key
    (recursively), anything else: the last one wins. The inputs are not modified."""
    merged: dict = {}
    for fragment in dicts:
        for key, value in fragment.items():
            old = merged.get(key)
            if isinstance(old, list) and isinstance(value, list):
                merged[key] = old + value
            elif isinstance(old, dict) and isinstance(value, dict):
                merged[key] = merge_kwargs(old, value)
            else:
                merged[key] = merge_kwargs(value) if isinstance(value, dict) else (
                    list(value) if isinstance(value, list) else value)
    return merged


def container_kwargs(options: list[str]) -> dict:
    """Deploy/run options (or a buildpack build's build options) -> kwargs for
    `client.containers.create(image, command, **kwargs)`, minus STOP_TIMEOUT_KEY which the
    caller pops. Image-only flags are left out; flags no phase supports raise."""
    fragments = []
    for option in _parse(options):
        if not option.spec.phases:
            raise UnsupportedOption(option.text)
        if option.spec.container:
            fragments.append(_convert(option.spec.container, option))
    kwargs = merge_kwargs(*fragments)
    if "log_config" in kwargs:
        kwargs["log_config"] = {"Type": "", "Config": {}, **kwargs["log_config"]}
    if "ulimits" in kwargs:  # the last --ulimit for a name wins, as with docker run
        kwargs["ulimits"] = list({u["Name"]: u for u in kwargs["ulimits"]}.values())
    return kwargs


def _dockerfile_refusal(option: _Option) -> UnsupportedOption | None:
    if BUILD not in option.spec.phases:
        return UnsupportedOption(option.text, BUILD)
    if option.spec.build is None:
        return UnsupportedOption(option.text, BUILD, (
            f"Docker option {option.text} cannot be applied to a Dockerfile build (docker build "
            f"has no such setting); remove it with: dokku docker-options:remove <app> build "
            f"{shlex.quote(option.text)}"))
    return None


def build_kwargs(options: list[str]) -> dict:
    """Build-phase options -> kwargs for `client.images.build(path=..., **kwargs)` (Dockerfile
    builds). Raises UnsupportedOption for what docker build cannot apply (volumes, -e, --ulimit)."""
    fragments = []
    for option in _parse(options, BUILD):
        refusal = _dockerfile_refusal(option)
        if refusal:
            raise refusal
        fragments.append(_convert(option.spec.build, option))
    return merge_kwargs(*fragments)


def dockerfile_unsupported_options(options: list[str]) -> list[str]:
    """The build-phase options a Dockerfile build cannot apply (valid for buildpack builds)."""
    return [opt.text for opt in _parse(options, BUILD)
            if BUILD in opt.spec.phases and opt.spec.build is None]


def build_volume_options(options: list[str]) -> list[str]:
    """The volume options (-v, --volume, --mount) among build-phase options."""
    volume_specs = (_FLAGS["-v"], _FLAGS["--mount"])
    return [opt.text for opt in _parse(options, BUILD) if opt.spec in volume_specs]
