"""pipeline.mounts: parsing and validating `host:container[:options]`, and the stored record."""
import json

import pytest

from pipeline import docker_args
from pipeline.errors import DokkuError
from pipeline.mounts import GENERIC_ERROR, MAX_SPEC, Mount, parse_spec

VALID = {
    # spec: (host, container, readonly, volume_options, spec() back)
    "/var/lib/dokku/data/storage/app:/app/storage":
        ("/var/lib/dokku/data/storage/app", "/app/storage", False, [], "/var/lib/dokku/data/storage/app:/app/storage"),
    "/srv/data:/data:ro": ("/srv/data", "/data", True, [], "/srv/data:/data:ro"),
    "/srv/data:/data:rw": ("/srv/data", "/data", False, [], "/srv/data:/data"),
    "/srv/data:/data:ro,z": ("/srv/data", "/data", True, ["z"], "/srv/data:/data:ro,z"),
    "/srv/data:/data:Z,rshared": ("/srv/data", "/data", False, ["Z", "rshared"], "/srv/data:/data:Z,rshared"),
    "/srv/data:/data:rprivate": ("/srv/data", "/data", False, ["rprivate"], "/srv/data:/data:rprivate"),
    "my-volume:/data": ("my-volume", "/data", False, [], "my-volume:/data"),
    "v1:/data:nocopy": ("v1", "/data", False, ["nocopy"], "v1:/data:nocopy"),
    "Vol_1.x-y:/data:ro,nocopy": ("Vol_1.x-y", "/data", True, ["nocopy"], "Vol_1.x-y:/data:ro,nocopy"),
    "/srv//data/:/data/": ("/srv/data", "/data", False, [], "/srv/data:/data"),
    "/srv/a.b_c-d@e+f=g~h%i:/x": ("/srv/a.b_c-d@e+f=g~h%i", "/x", False, [], "/srv/a.b_c-d@e+f=g~h%i:/x"),
}


@pytest.mark.parametrize("spec", list(VALID))
def test_valid_specs_parse(spec):
    host, container, readonly, options, back = VALID[spec]
    mount = parse_spec(spec)
    assert mount.host_path == host
    assert mount.container_path == container
    assert mount.readonly is readonly
    assert mount.volume_options == options
    assert mount.spec() == back


@pytest.mark.parametrize("spec", list(VALID))
def test_every_accepted_spec_translates(spec):
    """What storage accepts, the deploy can apply (the translator agrees)."""
    fragment = docker_args.volume_kwargs(parse_spec(spec).spec())
    assert fragment.get("mounts") or fragment.get("volumes")


def test_defaults_apply_to_deploy_and_run_for_every_process():
    mount = parse_spec("/a:/b")
    assert mount.phases == ["deploy", "run"]
    assert mount.process_type == "_default_"


BAD = {
    "": "",
    "/a": "expected host:container",
    "/a:": "expected host:container",
    ":/b": "expected host:container",
    "/a:/b:": "expected host:container",
    "/a:/b:ro:z": "expected host:container",
    "/a:b": "container path 'b' must be an absolute path",
    "/a:/": "container path must not be /",
    "/a://": "container path must not be /",
    "/:/b": "host path must not be /",
    "/a:/b:bogus": "Unknown mount option 'bogus'",
    "/a:/b:ro,rw": "conflicts with or repeats",
    "/a:/b:z,Z": "conflicts with or repeats",
    "/a:/b:ro,ro": "conflicts with or repeats",
    "/a:/b:shared,slave": "conflicts with or repeats",
    "/a:/b:ro,": "Unknown mount option ''",
    "/a:/b:nocopy": "nocopy option applies to docker volumes only",
    "vol:/b:shared": "propagation applies to host paths only",
    "x:/b": "docker volume name of two or more characters",
    "-vol:/b": "docker volume name",
    ".vol:/b": "docker volume name",
    "relative/path:/b": "docker volume name",
    "/a:/b --privileged": "must not contain spaces or newlines",
    "/a:/b\n": "must not contain spaces or newlines",
    "/a\n:/b": "must not contain spaces or newlines",
    "/a\t:/b": "must not contain spaces or newlines",
    "$(id):/b": "docker volume name",
    "/a/$(id):/b": "not '$'",
    "/a:/b`id`": "not '`'",
    "/a;rm:/b": "not ';'",
    "/a|b:/c": "not '|'",
    "/a&b:/c": "not '&'",
    "/a'b:/c": "not \"'\"",
    "/a\\b:/c": "not '\\\\'",
    "/a/../etc:/b": "must not contain . or .. segments",
    "/a:/b/../..": "must not contain . or .. segments",
    "/a/./b:/c": "must not contain . or .. segments",
    "/" + "a" * 5000 + ":/b": f"at most {MAX_SPEC}",
}


@pytest.mark.parametrize("spec", list(BAD), ids=[repr(s[:40]) for s in BAD])
def test_bad_specs_are_refused_with_the_contract_message(spec):
    with pytest.raises(DokkuError) as caught:
        parse_spec(spec)
    message = str(caught.value)
    assert message.startswith(GENERIC_ERROR)
    assert BAD[spec] in message
    assert "\n" not in message, "an error is one line"
    assert len(message) < 400, "long input is not echoed in full"


def test_record_round_trip_has_every_key():
    mount = parse_spec("v1:/data:ro,nocopy")
    record = mount.to_record()
    assert record == {"host_path": "v1", "container_path": "/data", "readonly": True,
                      "volume_options": ["nocopy"], "phases": ["deploy", "run"], "process_type": "_default_"}
    assert Mount.from_record(json.loads(json.dumps(record))) == mount


def test_from_record_fills_missing_keys_with_defaults():
    mount = Mount.from_record({"host_path": "/a", "container_path": "/b"})
    assert mount == Mount("/a", "/b")
    assert mount.to_record()["phases"] == ["deploy", "run"]


def test_instances_do_not_share_lists():
    a, b = Mount("/a", "/b"), Mount("/c", "/d")
    a.phases.append("build")
    a.volume_options.append("z")
    assert b.phases == ["deploy", "run"] and b.volume_options == []


def test_copy_changes_only_what_is_named():
    mount = parse_spec("/a:/b:ro")
    other = mount.copy(phases=["build"])
    assert other.phases == ["build"] and mount.phases == ["deploy", "run"]
    assert other.spec() == mount.spec()


def test_is_bind():
    assert parse_spec("/a:/b").is_bind()
    assert not parse_spec("vol:/b").is_bind()


def test_same_paths_ignores_options():
    assert parse_spec("/a:/b:ro").same_paths(parse_spec("/a/:/b"))
    assert not parse_spec("/a:/b").same_paths(parse_spec("/a:/c"))


@pytest.mark.parametrize(("phases", "process", "phase", "asked", "expected"), [
    (["deploy", "run"], "_default_", "deploy", None, True),
    (["deploy", "run"], "_default_", "deploy", "worker", True),
    (["deploy", "run"], "_default_", "run", None, True),
    (["deploy", "run"], "_default_", "build", None, False),
    (["deploy"], "worker", "deploy", "worker", True),
    (["deploy"], "worker", "deploy", "web", False),
    (["deploy"], "worker", "deploy", None, False),
    (["deploy"], "_default_", "run", None, False),
])
def test_applies_to(phases, process, phase, asked, expected):
    mount = Mount("/a", "/b", phases=phases, process_type=process)
    assert mount.applies_to(phase, asked) is expected
