"""Build-phase mounts: a Dockerfile build refuses them (docker build has no volumes) with the
option and the `docker-options:remove` fix; a buildpack build gets them, so the buildpack sees the
host's files at compile time; a build mount at or under /app is refused, host data intact."""
import base64
import hashlib
import io
import secrets
import zipfile

import pytest

from tests.e2e.conftest import HEROKUISH_UID, docker


def wheel(name: str, version: str, module_source: str) -> tuple[str, bytes]:
    """A minimal pure-Python wheel (file name, bytes) holding one module `<name>.py`."""
    dist = f"{name}-{version}"
    files = {
        f"{name}.py": module_source.encode(),
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return f"{dist}-py3-none-any.whl", buf.getvalue()


# ---------------------------------------------------------------- Dockerfile builds


def test_dockerfile_build_volume_is_refused_then_push_succeeds_without_it(platform):
    app = platform.new_app("df")
    platform.ok("apps:create", app)
    source = platform.base / "df-build-src"
    source.mkdir()
    option = f"-v {source}:/opt/test"
    platform.ok("docker-options:add", app, "build", option)
    repo = platform.repo("dockerfile-app")

    r = platform.push(app, repo)
    assert r.code != 0, f"the push should be rejected: {r}"
    assert f"{source}:/opt/test" in r.err, str(r)
    assert f"docker-options:remove {app} build" in r.err, str(r)
    assert platform.deployed_ref(app) is None, "a rejected push updates no branch"
    assert docker("images", "-q", f"dokku/{app}").out.strip() == "", "the build must not have started"
    assert platform.container_ids(app) == []

    platform.ok("docker-options:remove", app, "build", option)
    platform.pushed(app, repo)
    assert platform.answers(app, "/")[0] == 200
    assert platform.web(app)["Config"]["Labels"]["com.dokku.release"] == repo.head()

    # a Dockerfile image runs as its own USER (herokuishuser here), and mounts follow that user
    assert platform.get(app, "/whoami") == (200, f"{HEROKUISH_UID} {HEROKUISH_UID}")
    platform.ok("storage:ensure-directory", "--chown", "root", app)
    host = platform.storage(app)
    assert host.stat().st_uid == 0
    platform.ok("storage:mount", app, f"{host}:/storage", "--restart")
    assert (host.stat().st_uid, host.stat().st_gid) == (HEROKUISH_UID, HEROKUISH_UID)
    assert platform.get(app, "/write?name=df.txt&data=ok") == (200, "ok")
    assert (host / "df.txt").stat().st_uid == HEROKUISH_UID


# ---------------------------------------------------------------- buildpack builds


@pytest.fixture(scope="module")
def buildpack_app(platform):
    """A python app whose requirements come from a wheel in a host folder mounted at build time
    only: if the buildpack did not see /opt/test at compile time, pip could not install it."""
    token = secrets.token_hex(8)
    wheels = platform.base / "wheels"
    wheels.mkdir()
    name = "dokku_e2e_buildmount"
    filename, data = wheel(name, "1.0", f"TOKEN = {token!r}\n")
    (wheels / filename).write_bytes(data)
    app = platform.new_app("bp")
    platform.ok("apps:create", app)
    platform.ok("docker-options:add", app, "build", f"-v {wheels}:/opt/test:ro")
    repo = platform.repo("stdlib-web", files={"requirements.txt": f"--find-links /opt/test\n{name}==1.0\n"})
    push = platform.pushed(app, repo)
    return app, repo, push, name, token, wheels


def test_buildpack_sees_build_mount_at_compile_time(platform, buildpack_app):
    app, _, push, name, token, _ = buildpack_app
    assert name in push.err, f"pip should have installed {name} from /opt/test: {push}"
    r = platform.ok("run", app, "python3", "-c", f"import {name}; print({name}.TOKEN)")
    assert r.out.strip() == token
    # the build mount is build-only: the process containers do not get it
    for container in platform.containers(app):
        assert all(m["Destination"] != "/opt/test" for m in container["Mounts"])
    assert platform.answers(app, "/")[0] == 200


def test_build_mount_under_app_is_refused_and_host_data_intact(platform, buildpack_app):
    app, repo, _, _, _, _ = buildpack_app
    data = platform.base / "precious"
    data.mkdir()
    (data / "keep.txt").write_text("do not delete")
    before = platform.web(app)["Id"]
    platform.ok("docker-options:add", app, "build", f"-v {data}:/app/data")
    try:
        repo.commit("rebuild with a mount under /app")
        r = platform.push(app, repo)
        assert r.code != 0, str(r)
        assert "/app" in r.err and str(data) in r.err, str(r)
        assert (data / "keep.txt").read_text() == "do not delete"
        assert sorted(p.name for p in data.iterdir()) == ["keep.txt"]
        assert platform.web(app)["Id"] == before, "the running release is untouched"
        assert platform.answers(app, "/")[0] == 200
        # ps:rebuild goes through the same check
        r = platform.fails("ps:rebuild", app)
        assert "/app" in r.err
        assert (data / "keep.txt").read_text() == "do not delete"
    finally:
        platform.ok("docker-options:remove", app, "build", f"-v {data}:/app/data")
