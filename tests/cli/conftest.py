"""Call `dokku` by subprocess, in a throwaway DOKKU_ROOT/DOKKU_LIB_ROOT."""
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DOKKU_CMD

# The contract's exact line (cli-contract.md), not the code's copy of it.
APP_NAME_ERROR = ("App name must begin with lowercase alphanumeric character, "
                  "and cannot include uppercase characters, colons, or underscores")

# The bad app names, with the contract's error for each.
BAD_APP_NAMES = {
    "../x": APP_NAME_ERROR,
    "-rf": APP_NAME_ERROR,
    "App": APP_NAME_ERROR,
    "a_b": APP_NAME_ERROR,
    "a:b": APP_NAME_ERROR,
    "a" * 64: APP_NAME_ERROR,
    "a\nb": APP_NAME_ERROR,
    "": "Please specify an app to run the command on",
}


@dataclass
class Result:
    code: int
    out: str
    err: str


class Dokku:
    def __init__(self, env: dict):
        self.env = {**os.environ, "DOKKU_ROOT": env["DOKKU_ROOT"], "DOKKU_LIB_ROOT": env["DOKKU_LIB_ROOT"]}
        self.lib = Path(env["DOKKU_LIB_ROOT"])
        self.root = Path(env["DOKKU_ROOT"])

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None) -> Result:
        proc = subprocess.run([*DOKKU_CMD, *args], capture_output=True, text=True, input=input,
                              env={**self.env, **(env or {})}, timeout=60)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kw) -> Result:
        r = self(*args, **kw)
        assert r.code == 0, f"dokku {' '.join(args)} exited {r.code}: {r.err}"
        return r

    def ok_json(self, *args: str):
        return json.loads(self.ok(*args).out)

    def refuses(self, *args: str, code: int = 1, message: str | None = None) -> Result:
        """The command fails with `code`, says ` !     ...` on stderr, and changes no state."""
        before = self.snapshot()
        r = self(*args)
        assert r.code == code, f"dokku {' '.join(args)}: expected exit {code}, got {r.code}: {r.out}{r.err}"
        assert " !     " in r.err, r.err
        if message is not None:
            assert f" !     {message}" in r.err, r.err
        assert self.snapshot() == before, "state changed"
        return r

    def snapshot(self) -> dict:
        """Every file under DOKKU_LIB_ROOT and DOKKU_ROOT with a hash of its bytes (locks aside)."""
        out = {}
        for base in (self.lib, self.root):
            for p in sorted(base.rglob("*")):
                if ".locks" in p.parts:
                    continue
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        return out


@pytest.fixture
def dokku(dokku_env) -> Dokku:
    return Dokku(dokku_env)


@pytest.fixture
def app(dokku) -> str:
    dokku.ok("apps:create", "node-js-app")
    return "node-js-app"
