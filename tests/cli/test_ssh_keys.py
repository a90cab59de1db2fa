"""ssh-keys: add (file or stdin), list, remove; refusals; the authorized_keys file they write."""
import os
import stat
import subprocess
from pathlib import Path

import pytest

WARN = " !     "
OPTIONS = "no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding"


def keygen(path: Path, kind: str = "ed25519", comment: str = "me@laptop") -> tuple[str, str]:
    """A fresh public key and its SHA256 fingerprint."""
    extra = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", comment, "-f", str(path)], check=True)
    pub = path.with_suffix(".pub").read_text().strip()
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path.with_suffix(".pub"))],
                        capture_output=True, text=True, check=True).stdout.split()[1]
    return pub, fp


@pytest.fixture
def key1(tmp_path):
    return keygen(tmp_path / "id_one")


@pytest.fixture
def key2(tmp_path):
    return keygen(tmp_path / "id_two", "rsa", "ci@build")


def authorized_keys(dokku) -> Path:
    return dokku.root / ".ssh" / "authorized_keys"


def refuses_input(dokku, args: list[str], text: str, message: str):
    before = dokku.snapshot()
    r = dokku(*args, input=text)
    assert r.code == 1, r.out + r.err
    assert f"{WARN}{message}" in r.err, r.err
    assert dokku.snapshot() == before
    return r


def test_add_from_file_and_stdin_then_list(dokku, tmp_path, key1, key2):
    r = dokku.ok("ssh-keys:add", "admin", str(tmp_path / "id_one.pub"))
    assert f"-----> Added ssh key admin ({key1[1]})" in r.out
    dokku.ok("ssh-keys:add", "ci", input=key2[0] + "\n")
    assert dokku.ok("ssh-keys:list").out.splitlines() == [
        f'{key1[1]} NAME="admin" SSHCOMMAND_ALLOWED_KEYS="none"',
        f'{key2[1]} NAME="ci" SSHCOMMAND_ALLOWED_KEYS="none"',
    ]
    assert dokku.ok_json("ssh-keys:list", "--format", "json") == [
        {"name": "admin", "fingerprint": key1[1], "SSHCOMMAND_ALLOWED_KEYS": "none"},
        {"name": "ci", "fingerprint": key2[1], "SSHCOMMAND_ALLOWED_KEYS": "none"},
    ]
    assert dokku.ok("ssh-keys:list", "ci").out.split()[0] == key2[1]


def test_authorized_keys_forces_every_session_through_dokku(dokku, key1):
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    lines = authorized_keys(dokku).read_text().splitlines()
    assert len(lines) == 1
    options, key = lines[0].split(" ssh-ed25519 ", 1)
    assert "ssh-ed25519 " + key == key1[0]
    command, _, flags = options.rpartition('",')
    assert flags == OPTIONS                                    # no forwarding of any kind...
    assert "no-pty" not in lines[0]                            # ...but a terminal for `dokku run -t`
    assert command.startswith('command="NAME=\\"admin\\" FINGERPRINT=' + key1[1] + " ")
    dokku_bin = command.split()[-1]
    assert os.path.isabs(dokku_bin) and os.path.basename(dokku_bin) == "dokku"
    assert "$SSH_ORIGINAL_COMMAND" not in lines[0]             # dokku reads it itself; no shell expands it


def test_authorized_keys_is_private_and_readable_by_sshd(dokku, key1, key2):
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    dokku.ok("ssh-keys:add", "ci", input=key2[0])
    path = authorized_keys(dokku)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # ssh-keygen parses authorized_keys lines, options included, as sshd does.
    listed = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    assert [line.split()[1] for line in listed if line] == [key1[1], key2[1]]
    assert not [p for p in path.parent.iterdir() if p.name != "authorized_keys"]   # no temp files left


def test_remove(dokku, key1, key2):
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    dokku.ok("ssh-keys:add", "ci", input=key2[0])
    assert "-----> Removed ssh key admin" in dokku.ok("ssh-keys:remove", "admin").out
    assert [line.split()[1] for line in dokku.ok("ssh-keys:list").out.splitlines()] == ['NAME="ci"']
    assert key1[0] not in authorized_keys(dokku).read_text()
    dokku.ok("ssh-keys:remove", "ci")
    assert authorized_keys(dokku).read_text() == ""
    dokku.refuses("ssh-keys:list", message="No public keys found.")


def test_remove_unknown_name(dokku, key1):
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    dokku.refuses("ssh-keys:remove", "nobody", message="No ssh key named nobody")
    dokku.refuses("ssh-keys:remove", message="Please specify a name for the key")


def test_lines_dokku_did_not_write_are_kept(dokku, key1, key2):
    folder = authorized_keys(dokku).parent
    folder.mkdir(mode=0o700)
    authorized_keys(dokku).write_text(f"# the admin's own key\n{key2[0]}\n")
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    dokku.ok("ssh-keys:remove", "admin")
    assert authorized_keys(dokku).read_text() == f"# the admin's own key\n{key2[0]}\n"


def test_duplicate_name(dokku, key1, key2):
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    refuses_input(dokku, ["ssh-keys:add", "admin"], key2[0], "Duplicate ssh key name")


def test_duplicate_key(dokku, key1):
    dokku.ok("ssh-keys:add", "admin", input=key1[0])
    refuses_input(dokku, ["ssh-keys:add", "other"], key1[0] + "\n", "Duplicate ssh public key specified")
    # the same key with another comment is still the same key
    kind, blob, _ = key1[0].split(" ", 2)
    refuses_input(dokku, ["ssh-keys:add", "other"], f"{kind} {blob} renamed", "Duplicate ssh public key specified")


@pytest.mark.parametrize("text,message", [
    ("", "No public key given"),
    ("garbage\n", "Key specified is not a valid ssh public key"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBAD\n", "Key specified is not a valid ssh public key"),
    ("ssh-ed25519 not*base64 x\n", "Key specified is not a valid ssh public key"),
])
def test_invalid_keys(dokku, text, message):
    refuses_input(dokku, ["ssh-keys:add", "admin"], text, message)


def test_a_key_with_options_is_refused(dokku, key1):
    refuses_input(dokku, ["ssh-keys:add", "admin"], 'command="/bin/sh",no-pty ' + key1[0],
                  "Key specified is not a valid ssh public key")


def test_one_key_per_name(dokku, key1, key2):
    refuses_input(dokku, ["ssh-keys:add", "admin"], f"{key1[0]}\n{key2[0]}\n", "Found 2 keys: add one public key per name")


@pytest.mark.parametrize("name", ['a"b', "-x", "has space", "a;b", "x" * 65, "a\\b"])
def test_invalid_names(dokku, key1, name):
    refuses_input(dokku, ["ssh-keys:add", name], key1[0], f"Invalid key name {name!r}")


def test_missing_file(dokku, tmp_path):
    dokku.refuses("ssh-keys:add", "admin", str(tmp_path / "nope.pub"), message=f"Cannot read key file {tmp_path / 'nope.pub'}")


def test_list_format_is_checked(dokku):
    dokku.refuses("ssh-keys:list", "--format", "yaml", message='Format must be "text" or "json": "yaml"')
