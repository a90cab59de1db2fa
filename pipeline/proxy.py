"""proxy: nginx in front of every app's web processes.

One server block per app, rendered from `templates/nginx.conf.j2` into the nginx include folder.
Every change is checked with `nginx -t` before the reload; a config that fails the check is taken
back, the old one keeps serving, and the error says why. A reload returns only once nginx's old
workers have stopped accepting, so the caller can retire the old containers right after.
"""
import contextlib
import fcntl
import os
import subprocess
import time
from pathlib import Path

from pipeline import cliargs, errors, log, report, store

DESCRIPTION = "Manage the proxy (nginx) in front of apps"
PLUGIN = "proxy"
KEYS = {"port": "80", "bind-address": ""}


def conf_dir() -> Path:
    return Path(os.environ.get("DOKKU_NGINX_CONF_DIR", "/etc/nginx/dokku.d"))


def conf_file(app: str) -> Path:
    return conf_dir() / f"{app}.conf"


def setting(app: str | None, key: str) -> str:
    value = store.get(PLUGIN, app, key) if app else ""
    return value or store.get(PLUGIN, None, key) or KEYS[key]


def listen(app: str) -> str:
    address = setting(app, "bind-address")
    port = setting(app, "port")
    if ":" in address:
        address = f"[{address}]"  # nginx takes an IPv6 address in brackets: listen [::1]:80
    return f"{address}:{port}" if address else port


def is_enabled(app: str) -> bool:
    return store.get(PLUGIN, app, "disabled") != "true"


def urls(app: str) -> list[str]:
    from pipeline import domains
    port = setting(app, "port")
    suffix = "" if port == "80" else f":{port}"
    return [f"http://{domain}{suffix}" for domain in domains.app_domains(app)] if is_enabled(app) else []


def render(app: str, ports: list[int], domain_names: list[str]) -> str:
    import jinja2
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline", "templates"), autoescape=False,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template("nginx.conf.j2").render(app=app, ports=ports, domains=domain_names,
                                                    listen=listen(app))


def _nginx(*args: str) -> subprocess.CompletedProcess:
    command = ["nginx", *args] if os.geteuid() == 0 else ["sudo", "-n", "/usr/sbin/nginx", *args]
    return subprocess.run(command, capture_output=True, text=True)


def _workers() -> set[int]:
    """nginx worker processes that still accept connections."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "cmdline").read_bytes().rstrip(b"\0") == b"nginx: worker process":
                    found.add(int(entry.name))
    return found


def reload() -> None:
    """Reload nginx and wait until every worker accepting connections runs the new config."""
    before = _workers()
    result = _nginx("-s", "reload")
    if result.returncode != 0:
        raise errors.DokkuError(f"nginx reload failed: {result.stderr.strip()}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = _workers()
        if now and not (now & before):
            return
        time.sleep(0.02)
    log.warn("nginx did not replace its workers within 10s; continuing")


@contextlib.contextmanager
def _conf_lock():
    """One change of nginx's config at a time, for every dokku on the host: `nginx -t` reads
    every app's file, so a file under test must not meet another process's file under test. The
    lock is the include folder itself (nginx is one per host, whatever DOKKU_LIB_ROOT says)."""
    folder = conf_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def install(app: str, text: str | None) -> None:
    """Put the app's server block in place (or remove it with None), test, reload; on a failed
    test put the previous file back and raise with nginx's message."""
    path = conf_file(app)
    with _conf_lock():
        previous = path.read_text() if path.exists() else None
        if text == previous:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.unlink(missing_ok=True)
        else:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
        test = _nginx("-t")
        if test.returncode != 0:
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(previous)
            lines = [line for line in test.stderr.splitlines() if "emerg" in line or "failed" in line]
            raise errors.DokkuError("nginx refused the new config, the old one keeps serving: "
                                    + ("; ".join(lines) or test.stderr.strip()))
        reload()


def apply(app: str, ports: list[int]) -> None:
    """Point the app's vhost at these web ports (called by the deploy before old containers
    are retired). Without domains, or with the proxy disabled, the app has no vhost."""
    from pipeline import domains
    names = domains.app_domains(app)
    if not is_enabled(app) or not names or not ports:
        install(app, None)
        return
    install(app, render(app, sorted(ports), names))


def refresh(app: str) -> None:
    """Render again from the running web containers (after a domains or proxy change)."""
    from pipeline import ps
    if not ps.is_deployed(app):
        return
    from pipeline import deploy
    apply(app, deploy.running_web_ports(app))


def _app_arg(args: list[str]) -> str:
    positional, _ = cliargs.parse(args, {})
    return cliargs.require_app(positional[0] if positional else "")


def cmd_enable(args):
    app = _app_arg(args)
    log.step(f"Enabling proxy for {app}")
    store.delete(PLUGIN, app, "disabled")
    refresh(app)


def cmd_disable(args):
    app = _app_arg(args)
    log.step(f"Disabling proxy for {app}")
    store.put(PLUGIN, app, "disabled", "true")
    install(app, None)


def cmd_set(args):
    app, key, value = cliargs.property_args(args, KEYS, COMMANDS["proxy:set"][1])
    if key == "port" and value and not (value.isdigit() and 0 < int(value) < 65536):
        raise errors.DokkuError(f"Invalid port {value!r}: use a number from 1 to 65535")
    if key == "bind-address" and value:
        import ipaddress
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise errors.DokkuError(f"Invalid bind address {value!r}: use an IP address such as 127.0.0.1") from None
    previous = store.get(PLUGIN, app, key)
    _store(app, key, value)
    log.step(f"Set {key} to {value or 'its default'}")
    done = []
    try:
        for target in [app] if app else cliargs.all_apps():
            done.append(target)
            refresh(target)
    except errors.DokkuError as err:
        # nginx refused it (an address it cannot bind, say): keep the setting that serves, or
        # every later deploy of the app would fail at the switch
        _store(app, key, previous)
        for target in done[:-1]:
            with contextlib.suppress(errors.DokkuError):
                refresh(target)
        raise errors.DokkuError(f"{err}\n{key} stays {previous or 'the default'}") from None


def _store(app: str | None, key: str, value: str) -> None:
    if value:
        store.put(PLUGIN, app, key, value)
    else:
        store.delete(PLUGIN, app, key)


def rows(app: str) -> dict:
    return {
        "--proxy-enabled": "true" if is_enabled(app) else "false",
        "--proxy-type": "nginx",
        "--proxy-listen": listen(app),
        "--proxy-urls": " ".join(urls(app)),
    }


def cmd_report(args):
    return report.run(args, "proxy", rows)


def remove_app(app: str) -> None:
    """pre-delete: the app's vhost goes."""
    if conf_file(app).exists():
        install(app, None)


COMMANDS = {
    "proxy:enable": (cmd_enable, "proxy:enable <app>", "Route the app's domains to it through nginx"),
    "proxy:disable": (cmd_disable, "proxy:disable <app>", "Remove the app's vhost (ports stay on loopback)"),
    "proxy:set": (cmd_set, "proxy:set [--global|<app>] port|bind-address [<value>]", "Set where nginx listens"),
    "proxy:report": (cmd_report, "proxy:report [<app>] [<flag>]", "Display the proxy information"),
}
