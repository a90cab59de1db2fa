"""pipeline.docker_args: option words -> Docker SDK kwargs, checked against the SDK's own types
and argument handling (docker-py imported here only; no engine needed)."""
import inspect
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from docker.api.build import BuildApiMixin
from docker.constants import CONTAINER_LIMITS_KEYS
from docker.models.containers import RUN_CREATE_KWARGS, RUN_HOST_CONFIG_KWARGS, _create_container_args
from docker.types import LogConfig, Mount, Ulimit
from docker.utils import parse_bytes, parse_devices

from pipeline import docker_args as da
from pipeline.docker_args import DockerOptionError, OptionSyntaxError, UnsupportedOption
from pipeline.errors import DokkuError

ROOT = Path(__file__).resolve().parents[2]
MiB, GiB = 1024**2, 1024**3

# One valid option per supported flag spelling.
CONTAINER_SAMPLES = [
    "-v /srv/a:/a", "--volume data:/d", "--mount type=bind,source=/srv/a,target=/a", "-e A=1",
    "--env A=1", "--env-file /etc/app.env", "-l a=b", "--label a=b", "--restart always", "-m 512m",
    "--memory 512m", "--memory-swap 1g", "--cpus 1.5", "--cpu-shares 512", "--link db",
    "--network net", "--add-host h:10.0.0.1", "--ulimit nofile=10:20", "--shm-size 64m",
    "--cap-add SYS_PTRACE", "--cap-drop NET_RAW", "--device /dev/fuse", "--dns 1.1.1.1",
    "--hostname web", "-h web", "-u 1000", "--user app:app", "-w /app", "--workdir /app",
    "--tmpfs /tmp", "--init", "--log-driver syslog", "--log-opt tag=x", "-p 8080:5000",
    "--publish 5000/udp", "--read-only", "--security-opt no-new-privileges",
    "--sysctl net.core.somaxconn=1024", "--group-add audio", "--pids-limit 100",
    "--stop-signal SIGQUIT", "--stop-timeout 30",
]
BUILD_SAMPLES = [
    "--build-arg A=1", "-l a=b", "--label a=b", "--target prod", "--no-cache", "--network host",
    "--add-host h:10.0.0.1", "--shm-size 64m", "--ulimit nofile=10", "-m 1g", "--memory 1g",
    "--memory-swap -1", "--cpu-shares 512", "--cache-from img:latest", "--platform linux/amd64",
    "-v /srv/a:/a", "--volume data:/d", "--mount type=volume,target=/c", "-e A=1", "--env A=1",
]
BUILD_ONLY = ["--build-arg A=1", "--target prod", "--no-cache", "--cache-from img", "--platform linux/amd64"]
_BUILD_FLAGS = {shlex.split(option)[0] for option in BUILD_SAMPLES}
CONTAINER_ONLY = [option for option in CONTAINER_SAMPLES if shlex.split(option)[0] not in _BUILD_FLAGS]
FULL_OPTIONS = [option for option in CONTAINER_SAMPLES if not option.startswith("--env-file")]


def sdk_create_args(kwargs: dict) -> dict:
    """What containers.create(image, **kwargs) hands to the low-level API (no engine)."""
    kwargs = {key: value for key, value in kwargs.items() if key != da.STOP_TIMEOUT_KEY}
    return _create_container_args(dict(image="img", command=None, version="1.41", **kwargs))


def host_config(options: list[str]) -> dict:
    return sdk_create_args(da.container_kwargs(options))["host_config"]


# ---------------------------------------------------------------------------- split_options

@pytest.mark.parametrize(("words", "options"), [
    (["--link a --link b"], ["--link a", "--link b"]),
    (["-v /a:/b --link x"], ["-v /a:/b", "--link x"]),
    (["--link", "a"], ["--link a"]),
    (["--init --read-only --no-cache"], ["--init", "--read-only", "--no-cache"]),
    (["--memory=512m"], ["--memory=512m"]),
    (["-m512m"], ["-m512m"]),
    (["-e=A=1"], ["-e=A=1"]),
    (["--memory-swap -1"], ["--memory-swap -1"]),
    (["-e 'A=hello world'"], ["-e 'A=hello world'"]),
    (["-e", "'A=hello world'"], ["-e 'A=hello world'"]),
    (["--init=false"], ["--init=false"]),
    (["--privileged --name x"], ["--privileged", "--name x"]),
    ([], []),
])
def test_split_options_groups_per_flag(words, options):
    assert da.split_options(words) == options


@pytest.mark.parametrize(("word", "words"), [
    ("--label=x=$(id)", ["--label=x=$(id)"]),
    ("'--label=x=$(id)'", ["--label=x=$(id)"]),
    ("--label 'x=$(id)'", ["--label", "x=$(id)"]),
])
def test_split_options_keeps_command_substitution_literal(word, words):
    assert shlex.split(da.split_options([word])[0]) == words


@pytest.mark.parametrize("words", [
    ["-e", "A=hello world"], ["-l", "x=$(id)"], ["--log-opt", "tag={{.Name}} `x`"],
    ["-e", "Q='\"q\"'"], ["--label=a=b c"], ["--init"], ["-v", "/a b:/c"],
])
def test_split_options_round_trips(words):
    assert shlex.split(da.split_options([shlex.join(words)])[0]) == words


def test_split_options_is_idempotent():
    options = da.split_options(["-v /a:/b --link x -e 'A=1 2' --label=x=$(id) --init"])
    assert da.split_options(options) == options


@pytest.mark.parametrize(("words", "message"), [
    (["-e 'A=1"], "Unbalanced quote in docker options: -e 'A=1"),
    (["--memory"], "Option --memory needs a value"),
    (["--memory --cpus 2"], "Option --memory needs a value"),
    (["-v"], "Option -v needs a value"),
    (["-m", "-v", "/a:/b"], "Option -m needs a value"),
    (["512m"], "Unexpected value '512m' without a flag"),
    (["--init yes"], "Unexpected value 'yes' without a flag"),
    (["--init=maybe"], "Option --init takes no value"),
    (["-e", "A=hello world"], "Unexpected value 'world' without a flag"),
])
def test_split_options_refuses_malformed(words, message):
    with pytest.raises(OptionSyntaxError, match=re.escape(message)):
        da.split_options(words)


@pytest.mark.parametrize("word", ["--memroy 1g", "-x", "-it", "--", "--privilegedx"])
def test_split_options_refuses_unknown_flags(word):
    with pytest.raises(UnsupportedOption):
        da.split_options([word])


def test_unknown_flag_names_the_flag():
    with pytest.raises(UnsupportedOption) as caught:
        da.split_options(["--memroy 1g"], phase="deploy")
    assert (caught.value.option, caught.value.phase) == ("--memroy", "deploy")


def test_unknown_flag_message_names_the_phase():
    with pytest.raises(UnsupportedOption, match=r"^Unsupported docker option for the run phase: --memroy$"):
        da.split_options(["--memroy 1g"], phase="run")


# ---------------------------------------------------------------------------- validate

@pytest.mark.parametrize("phase", ["deploy", "run"])
@pytest.mark.parametrize("option", CONTAINER_SAMPLES)
def test_validate_accepts_in_deploy_and_run(phase, option):
    da.validate(phase, [option])


@pytest.mark.parametrize("option", BUILD_SAMPLES)
def test_validate_accepts_in_build(option):
    da.validate("build", [option])


@pytest.mark.parametrize(("phase", "option"), [
    *[(phase, option) for phase in ("deploy", "run") for option in BUILD_ONLY],
    *[("build", option) for option in CONTAINER_ONLY],
    *[(phase, option) for phase in da.PHASES for option in ("--privileged", "--rm", "--name web", "-d")],
])
def test_validate_refuses_outside_its_phases(phase, option):
    message = f"Unsupported docker option for the {phase} phase: {option}"
    with pytest.raises(UnsupportedOption, match=f"^{re.escape(message)}$"):
        da.validate(phase, [option])


def test_unsupported_option_carries_option_and_phase():
    with pytest.raises(UnsupportedOption) as caught:
        da.validate("deploy", ["-v /a:/b --build-arg A=1"])
    assert (caught.value.option, caught.value.phase) == ("--build-arg A=1", "deploy")


@pytest.mark.parametrize("error", [UnsupportedOption("--x", "run"), OptionSyntaxError("bad")])
def test_errors_are_value_errors_printed_by_the_cli(error):
    assert isinstance(error, ValueError) and isinstance(error, DokkuError) and error.exit_code == 1


def test_validate_refuses_unknown_phase():
    with pytest.raises(DockerOptionError, match=re.escape("Phase(s) must be one of [build deploy run]")):
        da.validate("release", ["--init"])


@pytest.mark.parametrize(("phase", "option"), [
    *[("deploy", option) for option in [
        "-m notanumber", "--memory 12x", "--memory-swap x", "--shm-size 1q", "--cpus abc", "--cpus 0",
        "--cpu-shares -1", "-v /a", "-v relative/path:/x", "-v x:/b", "-v /a:relative", "-v /a:/",
        "-v /a:/b:", "-v /a:/b:bogus", "-v /a:/b:ro,rw", "-v /a:/b:z,Z", "-v /a:/b:nocopy",
        "-v vol:/b:rshared", "-v /a:/b:c:d", "--mount type=bind,target=/b",
        "--mount type=nfs,target=/b", "--mount type=volume,target=/b,bogus=1",
        "--mount type=volume,source=/abs,target=/b", "--mount type=bind,src=/a,dst=/b,volume-nocopy",
        "--mount type=tmpfs,src=x,dst=/t", "--mount type=volume,src=v", "--mount type=volume,target",
        "--mount type=tmpfs,target=/t,tmpfs-mode=9", "--ulimit nofile=a", "--ulimit bogus=1",
        "--ulimit nofile", "--ulimit nofile=20:10", "--restart bogus", "--restart always:3",
        "--restart on-failure:x", "-e A", "--env =1", "--env-file relative.env", "-l =x",
        "--link 'bad name'", "--add-host h", "--add-host h:not-an-ip", "--device relative",
        "--device /dev/x:rwx", "--device /dev/a:/dev/b:r:x", "--dns x", "--hostname -bad",
        "-w relative", "--tmpfs relative", "--log-opt novalue", "--log-driver ''", "-p 70000",
        "-p 0:80", "-p 8080:5000/icmp", "-p 1.2.3:80:80", "-p 7000-7002:8000-8001", "-p a:b:c:d",
        "-p 9-8", "--sysctl k", "--pids-limit x", "--stop-signal 'SIG TERM'", "--stop-timeout x",
        "--security-opt seccomp=relative.json", "--security-opt ''", "--cap-add 'A B'",
        "--group-add ''", "-u 'a b'", "--network 'a b'", "--init=2",
    ]],
    *[("build", option) for option in [
        "--build-arg A", "--build-arg =1", "--target ''", "--cache-from ''", "--platform ' '",
        "--ulimit nofile=a", "-v /a", "-e A", "-m 1x",
    ]],
])
def test_validate_refuses_malformed_values(phase, option):
    with pytest.raises(OptionSyntaxError):
        da.validate(phase, [option])


def test_malformed_value_message_names_option_and_example():
    with pytest.raises(OptionSyntaxError, match=re.escape("Invalid docker option -m notanumber: ")) as caught:
        da.validate("deploy", ["-m notanumber"])
    assert "(e.g. --memory 512m)" in str(caught.value)


def test_validate_reads_no_env_file(tmp_path):
    da.validate("deploy", [f"--env-file {tmp_path}/missing.env"])


# ---------------------------------------------------------------------------- container_kwargs

@pytest.mark.parametrize(("option", "key", "expected"), [
    ("-e A=1", "environment", {"A": "1"}),
    ("--env 'A=x y'", "environment", {"A": "x y"}),
    ("-e A=", "environment", {"A": ""}),
    ("-e=A=b=c", "environment", {"A": "b=c"}),
    ("-l a=b", "labels", {"a": "b"}),
    ("--label=x=$(id)", "labels", {"x": "$(id)"}),
    ("-l flag", "labels", {"flag": ""}),
    ("--restart always", "restart_policy", {"Name": "always", "MaximumRetryCount": 0}),
    ("--restart no", "restart_policy", {"Name": "no", "MaximumRetryCount": 0}),
    ("--restart on-failure:5", "restart_policy", {"Name": "on-failure", "MaximumRetryCount": 5}),
    ("-m 512m", "mem_limit", 512 * MiB),
    ("-m512m", "mem_limit", 512 * MiB),
    ("--memory 1.5g", "mem_limit", int(1.5 * GiB)),
    ("--memory 1GiB", "mem_limit", GiB),
    ("--memory 2048", "mem_limit", 2048),
    ("--memory-swap -1", "memswap_limit", -1),
    ("--memory-swap 2g", "memswap_limit", 2 * GiB),
    ("--cpus 1.5", "nano_cpus", 1_500_000_000),
    ("--cpus .5", "nano_cpus", 500_000_000),
    ("--cpu-shares 512", "cpu_shares", 512),
    ("--link db", "links", {"db": "db"}),
    ("--link db:database", "links", {"db": "database"}),
    ("--network net", "network", "net"),
    ("--network container:web", "network", "container:web"),
    ("--add-host h:10.0.0.1", "extra_hosts", {"h": "10.0.0.1"}),
    ("--add-host h=::1", "extra_hosts", {"h": "::1"}),
    ("--add-host h:[::1]", "extra_hosts", {"h": "::1"}),
    ("--add-host h:host-gateway", "extra_hosts", {"h": "host-gateway"}),
    ("--ulimit nofile=1024", "ulimits", [{"Name": "nofile", "Soft": 1024, "Hard": 1024}]),
    ("--ulimit core=-1", "ulimits", [{"Name": "core", "Soft": -1, "Hard": -1}]),
    ("--shm-size 64m", "shm_size", 64 * MiB),
    ("--cap-add SYS_PTRACE", "cap_add", ["SYS_PTRACE"]),
    ("--cap-drop ALL", "cap_drop", ["ALL"]),
    ("--device /dev/fuse", "devices", ["/dev/fuse:/dev/fuse:rwm"]),
    ("--device /dev/sda:/dev/xvdc", "devices", ["/dev/sda:/dev/xvdc:rwm"]),
    ("--device /dev/sda:r", "devices", ["/dev/sda:/dev/sda:r"]),
    ("--device /dev/sda:/dev/xvdc:rw", "devices", ["/dev/sda:/dev/xvdc:rw"]),
    ("--dns 1.1.1.1", "dns", ["1.1.1.1"]),
    ("--hostname web", "hostname", "web"),
    ("-h web.internal", "hostname", "web.internal"),
    ("-u 1000:1000", "user", "1000:1000"),
    ("--user herokuishuser", "user", "herokuishuser"),
    ("-w /app", "working_dir", "/app"),
    ("--tmpfs /tmp:rw,size=64m", "tmpfs", {"/tmp": "rw,size=64m"}),
    ("--tmpfs /run", "tmpfs", {"/run": ""}),
    ("--init", "init", True),
    ("--init=false", "init", False),
    ("--read-only", "read_only", True),
    ("--log-driver syslog", "log_config", {"Type": "syslog", "Config": {}}),
    ("--log-opt max-size=10m", "log_config", {"Type": "", "Config": {"max-size": "10m"}}),
    ("--security-opt no-new-privileges", "security_opt", ["no-new-privileges"]),
    ("--security-opt seccomp=unconfined", "security_opt", ["seccomp=unconfined"]),
    ("--sysctl net.core.somaxconn=1024", "sysctls", {"net.core.somaxconn": "1024"}),
    ("--group-add audio", "group_add", ["audio"]),
    ("--pids-limit 100", "pids_limit", 100),
    ("--stop-signal SIGQUIT", "stop_signal", "SIGQUIT"),
    ("--stop-timeout 30", da.STOP_TIMEOUT_KEY, 30),
    ("--platform linux/arm64", "platform", "linux/arm64"),
    ("-p 8080:5000", "ports", {"5000/tcp": [{"HostIp": "", "HostPort": "8080"}]}),
    ("-p 127.0.0.1:8080:5000", "ports", {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}),
    ("-p 127.0.0.1::5000", "ports", {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}),
    ("-p [::1]:8080:5000", "ports", {"5000/tcp": [{"HostIp": "::1", "HostPort": "8080"}]}),
    ("-p 5000/udp", "ports", {"5000/udp": [{"HostIp": "", "HostPort": ""}]}),
    ("--publish 53:53/udp", "ports", {"53/udp": [{"HostIp": "", "HostPort": "53"}]}),
    ("-p 8000-8010:5000", "ports", {"5000/tcp": [{"HostIp": "", "HostPort": "8000-8010"}]}),
    ("-p 8000-8001:5000-5001", "ports", {"5000/tcp": [{"HostIp": "", "HostPort": "8000"}],
                                         "5001/tcp": [{"HostIp": "", "HostPort": "8001"}]}),
])
def test_container_kwargs_value(option, key, expected):
    assert da.container_kwargs([option])[key] == expected


@pytest.mark.parametrize(("option", "mount"), [
    ("-v /srv/a:/a", Mount("/a", "/srv/a", type="bind")),
    ("-v /srv/a:/a:ro", Mount("/a", "/srv/a", type="bind", read_only=True)),
    ("-v /srv/a:/a:rw,rshared", Mount("/a", "/srv/a", type="bind", propagation="rshared")),
    ("-v data:/d", Mount("/d", "data", type="volume")),
    ("--volume data:/d:ro,nocopy", Mount("/d", "data", type="volume", read_only=True, no_copy=True)),
    ("--mount type=bind,source=/srv/a,target=/a,readonly",
     Mount("/a", "/srv/a", type="bind", read_only=True)),
    ("--mount type=bind,src=/srv/a,dst=/a,ro=false,bind-propagation=rslave",
     Mount("/a", "/srv/a", type="bind", propagation="rslave")),
    ("--mount type=bind,source=/srv/a,target=/a,consistency=cached",
     Mount("/a", "/srv/a", type="bind", consistency="cached")),
    ("--mount source=data,destination=/d,volume-nocopy,volume-subpath=sub",
     Mount("/d", "data", type="volume", no_copy=True, subpath="sub")),
    ("--mount type=volume,src=data,dst=/d,volume-label=a=b", Mount("/d", "data", labels={"a": "b"})),
    ("--mount type=volume,target=/anon", Mount("/anon", None)),
    ("--mount type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1777",
     Mount("/t", None, type="tmpfs", tmpfs_size="64m", tmpfs_mode=0o1777)),
])
def test_mounts_equal_sdk_mount(option, mount):
    assert da.container_kwargs([option])["mounts"] == [mount]


def test_selinux_relabel_becomes_a_bind():
    assert da.container_kwargs(["-v /srv/a:/a:Z"])["volumes"] == ["/srv/a:/a:rw,Z"]


def test_sdk_passes_relabel_bind_through():
    assert host_config(["-v /srv/a:/a:ro,z,rshared"])["Binds"] == ["/srv/a:/a:ro,z,rshared"]


@pytest.mark.parametrize(("options", "key", "expected"), [
    (["-v /a:/b -v /c:/d"], "mounts", [Mount("/b", "/a", type="bind"), Mount("/d", "/c", type="bind")]),
    (["-e A=1 -e B=2"], "environment", {"A": "1", "B": "2"}),
    (["-e A=1", "-e A=2"], "environment", {"A": "2"}),
    (["-l a=1 --label b=2"], "labels", {"a": "1", "b": "2"}),
    (["--log-driver syslog --log-opt a=1 --log-opt b=2"], "log_config",
     {"Type": "syslog", "Config": {"a": "1", "b": "2"}}),
    (["-p 8080:5000 -p 8081:5000"], "ports",
     {"5000/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "", "HostPort": "8081"}]}),
    (["--ulimit nofile=1 --ulimit nproc=3 --ulimit nofile=2"], "ulimits",
     [{"Name": "nofile", "Soft": 2, "Hard": 2}, {"Name": "nproc", "Soft": 3, "Hard": 3}]),
    (["--memory 1g --memory 2g"], "mem_limit", 2 * GiB),
    (["--cap-add A --cap-add B"], "cap_add", ["A", "B"]),
    (["--link a --link b:c"], "links", {"a": "a", "b": "c"}),
    (["--restart on-failure:3 --restart always"], "restart_policy",
     {"Name": "always", "MaximumRetryCount": 0}),
])
def test_container_kwargs_accumulate(options, key, expected):
    assert da.container_kwargs(options)[key] == expected


def test_ulimit_equals_sdk_ulimit():
    ulimits = da.container_kwargs(["--ulimit nofile=1024:2048"])["ulimits"]
    assert ulimits == [Ulimit(name="nofile", soft=1024, hard=2048)]


def test_log_config_equals_sdk_log_config():
    kwargs = da.container_kwargs(["--log-driver syslog --log-opt tag=web"])
    assert kwargs["log_config"] == LogConfig(type="syslog", config={"tag": "web"})


@pytest.mark.parametrize("size", ["512m", "1g", "64k", "100", "1.5g", "2b"])
def test_sizes_match_sdk_parse_bytes(size):
    assert da.container_kwargs([f"--memory {size}"])["mem_limit"] == parse_bytes(size)


def test_devices_match_sdk_parse_devices():
    assert parse_devices(da.container_kwargs(["--device /dev/sda:/dev/xvdc:r"])["devices"]) == [
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/xvdc", "CgroupPermissions": "r"}]


@pytest.mark.parametrize(("option", "sdk_ports"), [
    ("-p 8080:5000", {5000: 8080}),
    ("-p 127.0.0.1:8080:5000", {"5000/tcp": ("127.0.0.1", 8080)}),
    ("-p 127.0.0.1::5000", {"5000/tcp": ("127.0.0.1",)}),
    ("-p 5000/udp", {"5000/udp": None}),
])
def test_port_bindings_match_sdk_forms(option, sdk_ports):
    sdk_bindings = sdk_create_args({"ports": sdk_ports})["host_config"]["PortBindings"]
    assert host_config([option])["PortBindings"] == sdk_bindings


def test_env_file_is_read_at_translate_time(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("# comment\n\nA=1\n  B=x=y\nC=\n")
    assert da.container_kwargs([f"--env-file {env_file} -e D=4"])["environment"] == {
        "A": "1", "B": "x=y", "C": "", "D": "4"}


@pytest.mark.parametrize("content", [None, "JUSTAKEY\n", "A B=1\n"])
def test_env_file_unreadable_or_malformed_is_refused(tmp_path, content):
    env_file = tmp_path / "app.env"
    if content is not None:
        env_file.write_text(content)
    with pytest.raises(OptionSyntaxError, match=re.escape(str(env_file))):
        da.container_kwargs([f"--env-file {env_file}"])


def test_seccomp_profile_is_read_at_translate_time(tmp_path):
    profile = tmp_path / "seccomp.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}, indent=2))
    assert da.container_kwargs([f"--security-opt seccomp={profile}"])["security_opt"] == [
        'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']


def test_container_kwargs_leave_out_image_only_flags():
    assert da.container_kwargs(["--build-arg A=1 --no-cache --target t --cache-from x"]) == {}


@pytest.mark.parametrize("option", ["--privileged", "--name web"])
def test_container_kwargs_refuse_flags_no_phase_supports(option):
    with pytest.raises(UnsupportedOption, match=f"^Unsupported docker option: {option}$"):
        da.container_kwargs([option])


def test_stop_timeout_is_not_a_containers_create_kwarg():
    assert "stop_timeout" not in RUN_CREATE_KWARGS + RUN_HOST_CONFIG_KWARGS


def test_every_key_is_a_containers_create_kwarg():
    kwargs = da.container_kwargs([*FULL_OPTIONS, "-v /a:/b:z", "--platform x"])
    assert set(kwargs) - {da.STOP_TIMEOUT_KEY} <= {*RUN_CREATE_KWARGS, *RUN_HOST_CONFIG_KWARGS,
                                                   "ports", "volumes", "network"}


@pytest.fixture(scope="module")
def full_create_args():
    return sdk_create_args(da.container_kwargs(FULL_OPTIONS))


@pytest.mark.parametrize(("key", "expected"), [
    ("Mounts", [Mount("/a", "/srv/a", type="bind"), Mount("/d", "data"),
                Mount("/a", "/srv/a", type="bind")]),
    ("RestartPolicy", {"Name": "always", "MaximumRetryCount": 0}),
    ("Memory", 512 * MiB),
    ("MemorySwap", GiB),
    ("NanoCpus", 1_500_000_000),
    ("CpuShares", 512),
    ("Links", ["db:db"]),
    ("NetworkMode", "net"),
    ("ExtraHosts", ["h:10.0.0.1"]),
    ("Ulimits", [Ulimit(name="nofile", soft=10, hard=20)]),
    ("ShmSize", 64 * MiB),
    ("CapAdd", ["SYS_PTRACE"]),
    ("CapDrop", ["NET_RAW"]),
    ("Devices", [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}]),
    ("Dns", ["1.1.1.1"]),
    ("Tmpfs", {"/tmp": ""}),
    ("Init", True),
    ("LogConfig", LogConfig(type="syslog", config={"tag": "x"})),
    ("PortBindings", {"5000/tcp": [{"HostIp": "", "HostPort": "8080"}],
                      "5000/udp": [{"HostIp": "", "HostPort": ""}]}),
    ("ReadonlyRootfs", True),
    ("SecurityOpt", ["no-new-privileges"]),
    ("Sysctls", {"net.core.somaxconn": "1024"}),
    ("GroupAdd", ["audio"]),
    ("PidsLimit", 100),
])
def test_sdk_host_config_carries(full_create_args, key, expected):
    assert full_create_args["host_config"][key] == expected


@pytest.mark.parametrize(("key", "expected"), [
    ("environment", {"A": "1"}), ("labels", {"a": "b"}), ("hostname", "web"), ("user", "app:app"),
    ("working_dir", "/app"), ("stop_signal", "SIGQUIT"), ("networking_config", {"net": None}),
])
def test_sdk_create_args_carry(full_create_args, key, expected):
    assert full_create_args[key] == expected


def test_create_host_config_accepts_the_host_config_kwargs():
    kwargs = da.container_kwargs(FULL_OPTIONS)
    host_kwargs = {key: value for key, value in kwargs.items() if key in RUN_HOST_CONFIG_KWARGS}
    config = docker.APIClient(version="1.41").create_host_config(
        port_bindings=kwargs["ports"], network_mode=kwargs["network"], **host_kwargs)
    assert config["Memory"] == 512 * MiB


# ---------------------------------------------------------------------------- build_kwargs

@pytest.mark.parametrize(("option", "key", "expected"), [
    ("--build-arg A=1", "buildargs", {"A": "1"}),
    ("--build-arg 'A=x y'", "buildargs", {"A": "x y"}),
    ("-l a=b", "labels", {"a": "b"}),
    ("--target prod", "target", "prod"),
    ("--no-cache", "nocache", True),
    ("--no-cache=false", "nocache", False),
    ("--network host", "network_mode", "host"),
    ("--add-host h:10.0.0.1", "extra_hosts", {"h": "10.0.0.1"}),
    ("--shm-size 64m", "shmsize", 64 * MiB),
    ("-m 1g", "container_limits", {"memory": GiB}),
    ("--memory-swap -1", "container_limits", {"memswap": -1}),
    ("--cpu-shares 512", "container_limits", {"cpushares": 512}),
    ("--cache-from img:latest", "cache_from", ["img:latest"]),
    ("--platform linux/amd64", "platform", "linux/amd64"),
])
def test_build_kwargs_value(option, key, expected):
    assert da.build_kwargs([option])[key] == expected


@pytest.mark.parametrize(("options", "key", "expected"), [
    (["-m 1g --memory-swap 2g"], "container_limits", {"memory": GiB, "memswap": 2 * GiB}),
    (["--build-arg A=1 --build-arg B=2"], "buildargs", {"A": "1", "B": "2"}),
    (["--cache-from a --cache-from b"], "cache_from", ["a", "b"]),
])
def test_build_kwargs_accumulate(options, key, expected):
    assert da.build_kwargs(options)[key] == expected


@pytest.fixture(scope="module")
def full_build_kwargs():
    refused = da.dockerfile_unsupported_options(BUILD_SAMPLES)
    return da.build_kwargs([option for option in BUILD_SAMPLES if option not in refused])


def test_build_kwargs_are_images_build_parameters(full_build_kwargs):
    inspect.signature(BuildApiMixin.build).bind(None, path=".", **full_build_kwargs)


def test_build_container_limits_are_sdk_keys(full_build_kwargs):
    assert set(full_build_kwargs["container_limits"]) <= set(CONTAINER_LIMITS_KEYS)


def test_sdk_build_accepts_the_kwargs(full_build_kwargs, tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    client, sent = docker.APIClient(version="1.41"), {}
    monkeypatch.setattr(client, "_post", lambda url, params=None, **_: sent.update(params) or None)
    client.build(path=str(tmp_path), **full_build_kwargs)
    assert json.loads(sent["buildargs"]) == {"A": "1"}


def test_sdk_images_build_has_no_ulimits():
    assert "ulimits" not in inspect.signature(BuildApiMixin.build).parameters


@pytest.mark.parametrize("option", ["-v /a:/b", "--volume data:/d", "--mount type=volume,target=/c",
                                    "-e A=1", "--ulimit nofile=10"])
def test_build_kwargs_refuse_what_docker_build_cannot_apply(option):
    fix = f"docker-options:remove <app> build {shlex.quote(option)}"
    with pytest.raises(UnsupportedOption, match=re.escape(fix)):
        da.build_kwargs([option])


def test_build_kwargs_refuse_other_phases_flags():
    with pytest.raises(UnsupportedOption, match=(
            "^Unsupported docker option for the build phase: --restart always$")):
        da.build_kwargs(["--restart always"])


def test_build_volume_options():
    options = ["-v /a:/b -e A=1", "--mount type=volume,target=/c", "--volume /c:/d", "-m 1g"]
    assert da.build_volume_options(options) == ["-v /a:/b", "--mount type=volume,target=/c", "--volume /c:/d"]


def test_dockerfile_unsupported_options():
    assert da.dockerfile_unsupported_options(["-v /a:/b -e A=1 --ulimit nofile=1 -m 1g --no-cache"]) == [
        "-v /a:/b", "-e A=1", "--ulimit nofile=1"]


# ---------------------------------------------------------------------------- volume_mount / volume_kwargs

@pytest.mark.parametrize(("spec", "read_only_default", "mount"), [
    ("/srv/a:/a", False, Mount("/a", "/srv/a", type="bind")),
    ("/srv/a:/a", True, Mount("/a", "/srv/a", type="bind", read_only=True)),
    ("/srv/a:/a:rw", True, Mount("/a", "/srv/a", type="bind")),
    ("/srv/a:/a:ro,private", False,
     Mount("/a", "/srv/a", type="bind", read_only=True, propagation="private")),
    ("my-vol_1.x:/data", False, Mount("/data", "my-vol_1.x")),
    ("relative:/x", False, Mount("/x", "relative")),
    ("data:/d:nocopy", False, Mount("/d", "data", no_copy=True)),
])
def test_volume_mount(spec, read_only_default, mount):
    assert da.volume_mount(spec, read_only_default=read_only_default) == mount


@pytest.mark.parametrize("spec", [
    "/a", "/a:/b:c:d", "rel/path:/b", "x:/b", "/a:b", "/a:/", "/a:/b:", "/a:/b:bogus", "/a:/b:ro,ro",
    "/a:/b:z,Z", "/a:/b:nocopy", "vol:/b:shared", ":/b", "/a:/b:Z",
])
def test_volume_mount_refuses(spec):
    with pytest.raises(OptionSyntaxError, match=re.escape(f"Invalid volume {spec!r}")):
        da.volume_mount(spec)


@pytest.mark.parametrize(("spec", "fragment"), [
    ("/a:/b", {"mounts": [Mount("/b", "/a", type="bind")]}),
    ("/a:/b:z", {"volumes": ["/a:/b:rw,z"]}),
    ("/a:/b:Z,ro,rshared", {"volumes": ["/a:/b:ro,Z,rshared"]}),
    ("vol:/b:z,nocopy", {"volumes": ["vol:/b:rw,z,nocopy"]}),
])
def test_volume_kwargs(spec, fragment):
    assert da.volume_kwargs(spec) == fragment


# ---------------------------------------------------------------------------- merge_kwargs

@pytest.mark.parametrize(("dicts", "merged"), [
    ([], {}),
    ([{"mounts": [1]}, {"mounts": [2]}], {"mounts": [1, 2]}),
    ([{"environment": {"A": "1"}}, {"environment": {"B": "2"}}], {"environment": {"A": "1", "B": "2"}}),
    ([{"environment": {"A": "1"}}, {"environment": {"A": "2"}}], {"environment": {"A": "2"}}),
    ([{"log_config": {"Config": {"a": "1"}}}, {"log_config": {"Config": {"b": "2"}}}],
     {"log_config": {"Config": {"a": "1", "b": "2"}}}),
    ([{"mem_limit": 1}, {"mem_limit": 2}], {"mem_limit": 2}),
    ([{"init": True}, {"user": "x"}], {"init": True, "user": "x"}),
])
def test_merge_kwargs(dicts, merged):
    assert da.merge_kwargs(*dicts) == merged


def test_merge_kwargs_leaves_inputs_alone():
    first, second = {"mounts": [1], "environment": {"A": "1"}}, {"mounts": [2], "environment": {"B": "2"}}
    da.merge_kwargs(first, second)
    assert first == {"mounts": [1], "environment": {"A": "1"}}


def test_merge_kwargs_result_shares_nothing_with_inputs():
    first = {"mounts": [1], "environment": {"A": "1"}}
    merged = da.merge_kwargs(first)
    merged["mounts"].append(2)
    assert first["mounts"] == [1]


# ---------------------------------------------------------------------------- import cost

def test_importing_does_not_import_docker():
    code = "import sys, pipeline.docker_args; assert 'docker' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_phases():
    assert da.PHASES == ("build", "deploy", "run")
