"""ssh-keys: the public keys that may push and run commands over SSH.

Each key is a record in `$DOKKU_LIB_ROOT/config/ssh-keys/--global/keys` (JSON lines: name,
fingerprint, key). `$DOKKU_ROOT/.ssh/authorized_keys` is regenerated from the records under one
lock, atomically; every entry forces the session through dokku, with no forwarding:

    command="NAME=\\"admin\\" FINGERPRINT=SHA256:... DOKKU_BIN=/usr/local/bin/dokku /usr/local/bin/dokku",no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding ssh-ed25519 AAAA... comment

dokku reads the user's command from $SSH_ORIGINAL_COMMAND itself, so no shell ever sees it.
`no-pty` is deliberately absent: `dokku run -t` needs a terminal. Lines of authorized_keys that
dokku did not write (an admin's own key) are kept as they are.
"""
import contextlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline import cliargs, errors, log, paths, store

DESCRIPTION = "Manage the ssh keys that may push to and run dokku"

PLUGIN = "ssh-keys"
OPTIONS = "no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding"
OURS = 'command="NAME=\\"'   # how a line that dokku wrote starts
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
KEY_TYPES = {
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
}
KEY_LINE = re.compile(r"^(?P<type>\S+) (?P<blob>[A-Za-z0-9+/]+={0,3})(?: (?P<comment>[^\x00-\x1f\x7f]*))?$")
DEFAULT_DOKKU_BIN = "/usr/local/bin/dokku"   # where scripts/install links it
SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./+-]+$")


def authorized_keys_path() -> Path:
    return paths.dokku_root() / ".ssh" / "authorized_keys"


def records() -> list[dict]:
    return store.read_json_lines(PLUGIN, None, "keys")


def _forced_command(record: dict) -> str:
    dokku = shutil.which("dokku") or DEFAULT_DOKKU_BIN
    if not SAFE_PATH.fullmatch(dokku):
        raise errors.DokkuError(f"The dokku path {dokku!r} cannot go into authorized_keys: install dokku under a plain path such as /usr/local/bin/dokku")
    return f'NAME=\\"{record["name"]}\\" FINGERPRINT={record["fingerprint"]} DOKKU_BIN={dokku} {dokku}'


def entry(record: dict) -> str:
    return f'command="{_forced_command(record)}",{OPTIONS} {record["key"]}'


def _dokku_user() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam("dokku")
    except KeyError:
        return None
    return user.pw_uid, user.pw_gid


def write_authorized_keys(keys: list[dict]) -> None:
    """Replace our entries in authorized_keys with `keys` (temp file, fsync, rename; mode 600,
    folder 700; owned by the dokku user when root writes it)."""
    target = authorized_keys_path()
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    owner = _dokku_user()
    if owner:
        os.chown(folder, *owner)
    try:
        kept = [line for line in target.read_text().splitlines() if line.strip() and not line.startswith(OURS)]
    except FileNotFoundError:
        kept = []
    text = "".join(line + "\n" for line in kept + [entry(r) for r in keys])
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".authorized_keys.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), 0o600)
            if owner:
                os.fchown(f.fileno(), *owner)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def parse_key(text: str) -> str:
    """The one public key in `text`, as `<type> <base64> [comment]`."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        raise errors.DokkuError("No public key given: name a key file, or pipe the key on stdin")
    if len(lines) > 1:
        raise errors.DokkuError(f"Found {len(lines)} keys: add one public key per name")
    line = " ".join(lines[0].split())
    match = KEY_LINE.fullmatch(line)
    if not match or match["type"] not in KEY_TYPES:
        raise errors.DokkuError("Key specified is not a valid ssh public key: expected '<type> <base64> [comment]' "
                                "as in ~/.ssh/id_ed25519.pub, without options")
    return line


def fingerprint(key: str) -> str:
    """The key's SHA256 fingerprint, from `ssh-keygen -l`, which also proves the key is valid."""
    with tempfile.NamedTemporaryFile("w", suffix=".pub") as f:
        f.write(key + "\n")
        f.flush()
        try:
            proc = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f.name],
                                  capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise errors.DokkuError("ssh-keygen is missing: install openssh-client") from None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) < 2 or not words[1].startswith("SHA256:"):
        raise errors.DokkuError("Key specified is not a valid ssh public key")
    return words[1]


def _read_key(source: str | None) -> str:
    if source is None or source == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise errors.DokkuError("No public key given: name a key file, or pipe the key on stdin")
        return sys.stdin.read()
    try:
        return Path(source).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise errors.DokkuError(f"Cannot read key file {source}: {err.strerror if isinstance(err, OSError) else err}") from None


def _name(positional: list[str], usage: str) -> str:
    name = positional[0] if positional else ""
    if not name:
        raise errors.DokkuError(f"Please specify a name for the key: dokku {usage}")
    if not NAME.fullmatch(name):
        raise errors.DokkuError(f"Invalid key name {name!r}: use letters, digits, '.', '_', '@' and '-', "
                                f"starting with a letter or digit (at most 64)")
    return name


def cmd_add(args: list[str]) -> None:
    usage = "ssh-keys:add <name> [<file>]"
    positional, _ = cliargs.parse(args, {})
    cliargs.expect_at_most(positional, 2, usage)
    name = _name(positional, usage)
    key = parse_key(_read_key(positional[1] if len(positional) > 1 else None))
    fp = fingerprint(key)
    with store.lock(PLUGIN):
        keys = records()
        if any(r["name"] == name for r in keys):
            raise errors.DokkuError("Duplicate ssh key name")
        if any(r["fingerprint"] == fp for r in keys):
            raise errors.DokkuError("Duplicate ssh public key specified")
        keys.append({"name": name, "fingerprint": fp, "key": key})
        store.write_json_lines(PLUGIN, None, "keys", keys)
        write_authorized_keys(keys)
    log.step(f"Added ssh key {name} ({fp})")


def cmd_remove(args: list[str]) -> None:
    usage = "ssh-keys:remove <name>"
    positional, _ = cliargs.parse(args, {})
    cliargs.expect_at_most(positional, 1, usage)
    name = _name(positional, usage)
    with store.lock(PLUGIN):
        keys = records()
        kept = [r for r in keys if r["name"] != name]
        if len(kept) == len(keys):
            raise errors.DokkuError(f"No ssh key named {name}: see dokku ssh-keys:list")
        store.write_json_lines(PLUGIN, None, "keys", kept)
        write_authorized_keys(kept)
    log.step(f"Removed ssh key {name}")


def cmd_list(args: list[str]) -> None:
    """Dokku's lines: `<fingerprint> NAME="<name>" SSHCOMMAND_ALLOWED_KEYS="none"`."""
    positional, found = cliargs.parse(args, {"--format": True})
    fmt = cliargs.output_format(found, default="text", allowed=("text", "json"))
    cliargs.expect_at_most(positional, 1, "ssh-keys:list [--format text|json] [<name>]")
    keys = [r for r in records() if not positional or r["name"] == positional[0]]
    if fmt == "json":
        log.data(json.dumps([{"name": r["name"], "fingerprint": r["fingerprint"], "SSHCOMMAND_ALLOWED_KEYS": "none"}
                             for r in keys]))
        return
    if not keys:
        raise errors.DokkuError("No public keys found.")
    for r in keys:
        log.data(f'{r["fingerprint"]} NAME="{r["name"]}" SSHCOMMAND_ALLOWED_KEYS="none"')


COMMANDS = {
    "ssh-keys:add": (cmd_add, "ssh-keys:add <name> [<file>]", "Add a public key (from the file, or stdin)"),
    "ssh-keys:list": (cmd_list, "ssh-keys:list [--format text|json] [<name>]", "List the keys that may use dokku"),
    "ssh-keys:remove": (cmd_remove, "ssh-keys:remove <name>", "Remove a key by name"),
}
