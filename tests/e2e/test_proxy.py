"""The HTTP front door and zero-downtime redeploys, with the real nginx of the host and the real
engine: every request goes to 127.0.0.1:<a free port of this module> with a `Host:` header.

The module sets `proxy:set --global port <free port>`, `bind-address 127.0.0.1` and a global
domain on its throwaway root, so its vhosts (`/etc/nginx/dokku.d/<app>.conf`) listen on loopback
only and never meet another module's. One stdlib-web app (`front`, wait-to-retire 2) serves most
tests; they run in file order and leave it as they found it (deployed, proxied, start-first).

The load loops are honest: one request after another, each on a new connection, and every
answer that is not a 200, and every exception, counts as a failure; the bodies must then show the
old release first and the new one at the end. A loop runs until the operation under test has
returned, the old containers have been retired (stopped and removed after wait-to-retire), and a
second more, and sends at least 2,000 requests in all.

Why a new connection each: on a reload, nginx 1.22's old workers close their idle keep-alive
client connections at once (HTTP/1.1 has no way to announce it), so a keep-alive client that sends
on such a connection at that very instant gets "connection closed without response" and must
retry the request, as browsers do for idempotent requests; `http.client` does not. That race is
nginx's (1.22 has no setting that keeps them open during a graceful shutdown), not the switch's:
no request on a new connection may fail."""
import http.client
import json
import os
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import docker, free_port, inspect, wait_for

NGINX_DIR = Path(os.environ.get("DOKKU_NGINX_CONF_DIR", "/etc/nginx/dokku.d"))
MIN_REQUESTS = 2000
WAIT_TO_RETIRE = 2


# ---------------------------------------------------------------- helpers


def via_nginx(port: int, host: str, path: str = "/", timeout: float = 10) -> tuple[int, str]:
    """(status, body) of GET <path> sent to nginx at 127.0.0.1:<port> as `Host: <host>`;
    status 0 when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return 0, ""
    finally:
        conn.close()


class LoadLoop(threading.Thread):
    """Sequential GETs through nginx, a new connection each, until stopped and at least
    `minimum` were sent. Every non-200 answer and every exception is a failure; the 200 answers'
    bodies are kept as runs (body, count) in the order they came."""

    def __init__(self, port: int, host: str, path: str = "/", minimum: int = MIN_REQUESTS):
        super().__init__(daemon=True)
        self.port, self.host, self.path, self.minimum = port, host, path, minimum
        self.sent = 0
        self.failures: list[str] = []
        self.runs: list[list] = []  # [body, count] in order
        self._halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self._halt.is_set() or self.sent < self.minimum:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            at = time.monotonic() - started
            try:
                conn.request("GET", self.path, headers={"Host": self.host})
                response = conn.getresponse()
                body = response.read().decode(errors="replace")
                if response.status != 200:
                    self.failures.append(f"{at:.2f}s: HTTP {response.status} {body[:200]!r}")
                elif self.runs and self.runs[-1][0] == body:
                    self.runs[-1][1] += 1
                else:
                    self.runs.append([body, 1])
            except Exception as err:  # every exception is a failed request
                self.failures.append(f"{at:.2f}s: {type(err).__name__}: {err}")
            finally:
                conn.close()
                self.sent += 1

    def __enter__(self) -> "LoadLoop":
        self.start()
        # the loop is going (and answering) before the operation starts
        assert wait_for(lambda: self.sent >= 20, timeout=20, interval=0.05), "the load loop did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()
        self.join(timeout=300)
        assert not self.is_alive(), "the load loop did not stop"

    def bodies(self) -> list[str]:
        return [body for body, _ in self.runs]

    def summary(self) -> str:
        runs = ", ".join(f"{body[:60]!r} x{count}" for body, count in self.runs[:12])
        return (f"{self.sent} requests, {len(self.failures)} failed: {self.failures[:10]}; "
                f"answers in order: {runs}")


def vhost_file(app: str) -> Path:
    return NGINX_DIR / f"{app}.conf"


def old_gone(ids: list[str], within: float = 60) -> bool:
    """Wait until none of these containers exists any more."""
    return bool(wait_for(lambda: not inspect(*ids), timeout=within, interval=0.2))


def container_events(app: str, since: float, until: float) -> list[dict]:
    """The engine's container events of the app's containers between two unix times."""
    r = docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
               "--filter", "type=container", "--filter", f"label=com.dokku.app={app}",
               "--format", "{{json .}}")
    assert r.code == 0, str(r)
    return [json.loads(line) for line in r.out.splitlines() if line.strip()]


def first_event(events: list[dict], container_id: str, action: str) -> int:
    times = [e["timeNano"] for e in events if e.get("id") == container_id and e.get("Action") == action]
    assert times, f"no {action} event for {container_id[:12]} in {[(e['id'][:12], e['Action']) for e in events]}"
    return min(times)


def report_value(platform, command: str, app: str, flag: str) -> str:
    return platform.ok(command, app, flag).out.strip()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def front(platform):
    """The module's nginx port and domain, and the stdlib-web app `front` behind them."""
    port = free_port()
    domain = f"proxy-{os.getpid()}.test"
    platform.ok("proxy:set", "--global", "port", str(port))
    platform.ok("proxy:set", "--global", "bind-address", "127.0.0.1")
    platform.ok("domains:set-global", domain)
    app = platform.new_app("front")
    platform.ok("apps:create", app)
    platform.ok("checks:set", app, "wait-to-retire", str(WAIT_TO_RETIRE))
    repo = platform.repo("stdlib-web")
    platform.pushed(app, repo)

    class Front:
        pass

    f = Front()
    f.app, f.repo, f.port, f.domain, f.host = app, repo, port, domain, f"{app}.{domain}"
    assert wait_for(lambda: via_nginx(port, f.host)[0] == 200, timeout=10), "the app does not answer through nginx"
    return f


def web_ids(platform, app: str) -> list[str]:
    return [c["Id"] for c in platform.containers(app, "web", running_only=True)]


def current_web_port(platform, app: str) -> int:
    """The published port of the one running web container that is not waiting to retire."""
    webs = [c for c in platform.containers(app, "web", running_only=True) if ".retiring." not in c["Name"]]
    assert len(webs) == 1, [c["Name"] for c in webs]
    return int(webs[0]["NetworkSettings"]["Ports"]["5000/tcp"][0]["HostPort"])


def settled(platform, app: str, count: int = 1) -> list[str]:
    """Wait until the previous release's containers are retired: `count` left, running."""
    assert wait_for(lambda: len(platform.container_ids(app)) == count, timeout=30), \
        f"{app} still has {len(platform.container_ids(app))} containers"
    return web_ids(platform, app)


# ---------------------------------------------------------------- the front door


def test_pushed_app_answers_through_nginx_by_host_name(platform, front):
    assert via_nginx(front.port, front.host) == (200, f"stdlib-web ok {front.repo.head()}")
    assert via_nginx(front.port, front.host, "/env/DOKKU_APP_NAME") == (200, front.app)
    # the vhost is the app's own file, on the loopback port, pointing at the published web port
    conf = vhost_file(front.app).read_text()
    assert f"listen 127.0.0.1:{front.port};" in conf, conf
    assert f"server_name {front.host};" in conf, conf
    assert f"server 127.0.0.1:{platform.web_port(front.app)};" in conf, conf


def test_forwarded_headers(platform, front):
    status, body = via_nginx(front.port, front.host, "/headers")
    assert status == 200, body
    headers = {k.lower(): v for k, v in json.loads(body).items()}
    assert headers["host"] == front.host
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(front.port)
    assert headers["x-forwarded-host"] == front.host
    assert headers["x-real-ip"] == "127.0.0.1"
    # a client's own X-Forwarded-For is kept, and the client's address appended
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    conn.request("GET", "/headers", headers={"Host": front.host, "X-Forwarded-For": "203.0.113.9"})
    forwarded = {k.lower(): v for k, v in json.loads(conn.getresponse().read()).items()}
    conn.close()
    assert forwarded["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


def test_reports_list_the_url(platform, front):
    url = f"http://{front.host}:{front.port}"
    assert report_value(platform, "proxy:report", front.app, "--proxy-urls") == url
    assert report_value(platform, "proxy:report", front.app, "--proxy-enabled") == "true"
    assert report_value(platform, "proxy:report", front.app, "--proxy-listen") == f"127.0.0.1:{front.port}"
    assert report_value(platform, "ps:report", front.app, "--ps-proxy-urls") == url
    web_url = f"http://127.0.0.1:{platform.web_port(front.app)}"
    assert report_value(platform, "ps:report", front.app, "--ps-web-urls") == web_url
    assert report_value(platform, "domains:report", front.app, "--domains-app-vhosts") == front.host
    full = platform.ok("ps:report", front.app).out
    assert url in full, full


# ---------------------------------------------------------------- zero downtime


def test_push_redeploy_drops_no_request(platform, front):
    before_ids = settled(platform, front.app)
    old = f"stdlib-web ok {front.repo.head()}"
    front.repo.write("CHANGES", "a new release\n")
    new_sha = front.repo.commit("a new release")
    new = f"stdlib-web ok {new_sha}"
    with LoadLoop(front.port, front.host) as loop:
        platform.pushed(front.app, front.repo)
        assert old_gone(before_ids), "the old release's container was not retired"
        time.sleep(1)
    assert loop.failures == [], loop.summary()
    assert loop.sent >= MIN_REQUESTS
    assert loop.bodies()[0] == old and loop.bodies()[-1] == new, loop.summary()
    assert set(loop.bodies()) == {old, new}, loop.summary()
    assert via_nginx(front.port, front.host) == (200, new)


def test_restart_drops_no_request(platform, front):
    before_ids = settled(platform, front.app)
    assert len(before_ids) == 1
    with LoadLoop(front.port, front.host, "/env/HOSTNAME") as loop:
        platform.ok("ps:restart", front.app)
        after_ids = web_ids(platform, front.app)
        assert old_gone(before_ids), "the old container was not retired"
        time.sleep(1)
    assert loop.failures == [], loop.summary()
    assert loop.sent >= MIN_REQUESTS
    new_ids = [i for i in after_ids if i not in before_ids]
    assert len(new_ids) == 1, (before_ids, after_ids)
    # HOSTNAME is the container's short id: first the old container answered, at the end the new one
    assert before_ids[0].startswith(loop.bodies()[0]), loop.summary()
    assert new_ids[0].startswith(loop.bodies()[-1]), loop.summary()
    assert len(set(loop.bodies())) == 2, loop.summary()


def test_storage_mount_restart_drops_no_request(platform, front):
    first, second = platform.storage(f"{front.app}-a"), platform.storage(f"{front.app}-b")
    for folder, content in ((first, "from the first mount"), (second, "from the second mount")):
        folder.mkdir(parents=True)
        (folder / "marker.txt").write_text(content)
    platform.ok("storage:mount", front.app, f"{first}:/storage", "--restart")
    assert via_nginx(front.port, front.host, "/read?name=marker.txt") == (200, "from the first mount")
    settled(platform, front.app)
    # swap the mounts: unmount without a restart (the running container keeps the first), then
    # mount the second with --restart under load
    platform.ok("storage:unmount", front.app, f"{first}:/storage")
    before_ids = settled(platform, front.app)
    try:
        with LoadLoop(front.port, front.host, "/read?name=marker.txt") as loop:
            platform.ok("storage:mount", front.app, f"{second}:/storage", "--restart")
            assert old_gone(before_ids), "the old container was not retired"
            time.sleep(1)
        assert loop.failures == [], loop.summary()
        assert loop.sent >= MIN_REQUESTS
        # every answer came from one mount or the other, the second one at the end
        bodies = loop.bodies()
        assert bodies[0] == "from the first mount" and bodies[-1] == "from the second mount", loop.summary()
        assert set(bodies) == {"from the first mount", "from the second mount"}, loop.summary()
    finally:
        platform("storage:unmount", front.app, f"{second}:/storage", "--restart")
    assert via_nginx(front.port, front.host, "/read?name=marker.txt")[0] == 404


def test_failing_healthcheck_keeps_the_old_release_serving(platform, front):
    conf_before = vhost_file(front.app).read_text()
    ids_before = settled(platform, front.app)
    serving = f"stdlib-web ok {platform.deployed_ref(front.app)}"
    assert via_nginx(front.port, front.host) == (200, serving)
    checks = {"healthchecks": {"web": [{"path": "/missing", "attempts": 2, "wait": 1}]}}
    front.repo.write("app.json", json.dumps(checks))
    front.repo.commit("a healthcheck that fails")
    try:
        with LoadLoop(front.port, front.host) as loop:
            push = platform.push(front.app, front.repo)
        assert push.code != 0, f"the push should fail its healthcheck: {push}"
        assert "Healthcheck /missing failed" in push.err, push.err
        assert "attempt 1/2: GET /missing: HTTP 404" in push.err, push.err
        assert "attempt 2/2: GET /missing: HTTP 404" in push.err, push.err
        assert loop.failures == [], loop.summary()
        assert loop.bodies() == [serving], loop.summary()
        assert vhost_file(front.app).read_text() == conf_before
        assert web_ids(platform, front.app) == ids_before
        assert len(platform.containers(front.app)) == 1, "the failed release's container must go"
    finally:
        front.repo.git("reset", "-q", "--hard", "HEAD~1")


# ---------------------------------------------------------------- refused configs


def test_bad_vhost_is_refused_and_nginx_keeps_serving(platform, front):
    conf_before = vhost_file(front.app).read_text()
    r = platform.fails("domains:add", front.app, "bad domain.test")
    assert "Invalid domain 'bad domain.test'" in r.err, str(r)
    assert report_value(platform, "domains:report", front.app, "--domains-app-vhosts") == front.host
    assert vhost_file(front.app).read_text() == conf_before
    assert via_nginx(front.port, front.host) == (200, f"stdlib-web ok {platform.deployed_ref(front.app)}")


def test_config_that_fails_nginx_test_is_not_installed(platform, front):
    """An address nginx cannot bind passes `proxy:set` but fails `nginx -t`: the command fails
    with nginx's reason, the old vhost stays and serves, and the setting is not kept."""
    conf_before = vhost_file(front.app).read_text()
    r = platform.fails("proxy:set", front.app, "bind-address", "10.255.255.1")
    assert "nginx refused the new config" in r.err and "10.255.255.1" in r.err, str(r)
    assert vhost_file(front.app).read_text() == conf_before
    assert via_nginx(front.port, front.host)[0] == 200
    assert report_value(platform, "proxy:report", front.app, "--proxy-listen") == f"127.0.0.1:{front.port}"
    # and the next deploy is not refused because of it
    platform.ok("ps:restart", front.app)
    assert via_nginx(front.port, front.host)[0] == 200


def test_install_restores_the_previous_file_when_nginx_rejects(platform, monkeypatch):
    """proxy.install itself, with text nginx rejects, against the real nginx."""
    from pipeline import errors, proxy
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(platform.lib))
    monkeypatch.setenv("DOKKU_ROOT", str(platform.root))
    name = platform.new_app("raw")
    path = proxy.conf_file(name)
    try:
        with pytest.raises(errors.DokkuError, match="nginx refused the new config"):
            proxy.install(name, "this is not nginx;\n")
        assert not path.exists(), "a rejected new file must not stay"
        good = "# a valid and empty vhost\n"
        proxy.install(name, good)
        assert path.read_text() == good
        with pytest.raises(errors.DokkuError, match="unknown directive"):
            proxy.install(name, "server { bogus_directive on; }\n")
        assert path.read_text() == good, "the previous file must be put back"
    finally:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------- strategies and retiring


def test_stop_first_stops_the_old_container_before_starting_the_new(platform, front):
    platform.ok("checks:set", front.app, "deploy-strategy", "stop-first")
    try:
        assert report_value(platform, "checks:report", front.app, "--checks-computed-deploy-strategy") == "stop-first"
        old = settled(platform, front.app)
        since = time.time() - 1
        platform.ok("ps:restart", front.app)
        new = web_ids(platform, front.app)
        assert len(old) == 1 and len(new) == 1 and old != new
        events = container_events(front.app, since, time.time() + 1)
        old_died = first_event(events, old[0], "die")
        old_removed = first_event(events, old[0], "destroy")
        new_created = first_event(events, new[0], "create")
        new_started = first_event(events, new[0], "start")
        assert old_died <= old_removed < new_created < new_started, events
    finally:
        platform.ok("checks:set", front.app, "deploy-strategy")
    assert report_value(platform, "checks:report", front.app, "--checks-computed-deploy-strategy") == "start-first"
    assert via_nginx(front.port, front.host)[0] == 200


def test_start_first_overlaps_and_wait_to_retire_keeps_the_old_container(platform, front):
    platform.ok("checks:set", front.app, "wait-to-retire", "3")
    try:
        old = settled(platform, front.app)
        since = time.time() - 1
        restarted = time.monotonic()
        platform.ok("ps:restart", front.app)
        returned = time.monotonic() - restarted
        # right after the restart both run, and nginx already sends requests to the new one only
        still = inspect(*old)
        assert still and still[0]["State"]["Running"], "the old container must keep running for wait-to-retire"
        new = [i for i in web_ids(platform, front.app) if i not in old]
        assert len(new) == 1
        assert new[0].startswith(via_nginx(front.port, front.host, "/env/HOSTNAME")[1])
        assert old_gone(old, within=20), "the old container was not retired"
        gone_after = time.monotonic() - restarted
        assert gone_after >= 3, f"retired {gone_after:.1f}s after the restart began, before wait-to-retire"
        assert gone_after - returned < 15
        events = container_events(front.app, since, time.time() + 1)
        assert first_event(events, new[0], "start") < first_event(events, old[0], "die"), events
    finally:
        platform.ok("checks:set", front.app, "wait-to-retire", str(WAIT_TO_RETIRE))


# ---------------------------------------------------------------- proxy:disable / enable


def test_proxy_disable_and_enable(platform, front):
    platform.ok("proxy:disable", front.app)
    try:
        assert not vhost_file(front.app).exists()
        assert report_value(platform, "proxy:report", front.app, "--proxy-enabled") == "false"
        assert report_value(platform, "proxy:report", front.app, "--proxy-urls") == ""
        # the app still answers on its published loopback port, not through nginx any more
        assert platform.get(front.app, "/env/DOKKU_APP_NAME") == (200, front.app)
        assert via_nginx(front.port, front.host, "/env/DOKKU_APP_NAME") != (200, front.app)
        # a restart while disabled writes no vhost either
        platform.ok("ps:restart", front.app)
        assert not vhost_file(front.app).exists()
    finally:
        platform.ok("proxy:enable", front.app)
    # the vhost is back, with the current web container only (the restart's old one is still
    # waiting to retire)
    conf = vhost_file(front.app).read_text()
    assert conf.count("server 127.0.0.1:") == 1, conf
    assert f"server 127.0.0.1:{current_web_port(platform, front.app)};" in conf, conf
    assert via_nginx(front.port, front.host, "/env/DOKKU_APP_NAME") == (200, front.app)
    assert report_value(platform, "proxy:report", front.app, "--proxy-urls") == f"http://{front.host}:{front.port}"


# ---------------------------------------------------------------- checks:skip / checks:disable


def test_checks_skip_disable_enable(platform, front):
    """An app whose app.json healthcheck always fails: skipped, the deploy checks nothing and
    succeeds at once; disabled, it waits the fixed 5 s and succeeds; enabled again, the restart
    fails with the check's output and the old container keeps serving."""
    app = platform.new_app("chk")
    platform.ok("apps:create", app)
    platform.ok("checks:skip", app)
    assert report_value(platform, "checks:report", app, "--checks-skipped-list") == "_all_"
    repo = platform.repo("stdlib-web", files={
        "app.json": json.dumps({"healthchecks": {"web": [{"path": "/missing", "attempts": 3, "wait": 2}]}})})
    push = platform.pushed(app, repo)
    assert "Healthcheck" not in push.err, push.err
    host = f"{app}.{front.domain}"
    assert wait_for(lambda: via_nginx(front.port, host)[0] == 200, timeout=10)

    started = time.monotonic()
    platform.ok("ps:restart", app)
    skipped = time.monotonic() - started
    assert skipped < 4, f"a skipped restart took {skipped:.1f}s"

    platform.ok("checks:disable", app)
    assert report_value(platform, "checks:report", app, "--checks-disabled-list") == "_all_"
    assert report_value(platform, "checks:report", app, "--checks-skipped-list") == "none"
    started = time.monotonic()
    platform.ok("ps:restart", app)
    disabled = time.monotonic() - started
    assert 5 <= disabled < 5 + 4, f"a restart with checks disabled took {disabled:.1f}s, expected ~5s"
    assert via_nginx(front.port, host)[0] == 200

    platform.ok("checks:enable", app)
    assert report_value(platform, "checks:report", app, "--checks-disabled-list") == "none"
    before = settled(platform, app)
    r = platform.fails("ps:restart", app)
    assert "Healthcheck /missing failed" in r.err and "attempt 3/3: GET /missing: HTTP 404" in r.err, str(r)
    assert web_ids(platform, app) == before
    assert via_nginx(front.port, host)[0] == 200


# ---------------------------------------------------------------- domains and listen addresses


def test_domains_follow_into_the_vhost(platform, front):
    alt = f"www.alt-{front.domain}"
    platform.ok("domains:add", front.app, alt)
    assert f"server_name {front.host} {alt};" in vhost_file(front.app).read_text()
    for host in (front.host, alt):
        assert via_nginx(front.port, host, "/env/DOKKU_APP_NAME") == (200, front.app), host
    assert report_value(platform, "proxy:report", front.app, "--proxy-urls") == \
        f"http://{front.host}:{front.port} http://{alt}:{front.port}"

    platform.ok("domains:remove", front.app, front.host)
    assert f"server_name {alt};" in vhost_file(front.app).read_text()
    assert report_value(platform, "domains:report", front.app, "--domains-app-vhosts") == alt

    platform.ok("domains:clear", front.app)
    assert not vhost_file(front.app).exists(), "an app without domains has no vhost"
    assert report_value(platform, "proxy:report", front.app, "--proxy-urls") == ""
    assert platform.get(front.app, "/env/DOKKU_APP_NAME") == (200, front.app)

    platform.ok("domains:set", front.app, front.host)
    assert f"server_name {front.host};" in vhost_file(front.app).read_text()
    assert via_nginx(front.port, front.host)[0] == 200


def test_ipv6_bind_address(platform, front):
    platform.ok("proxy:set", front.app, "bind-address", "::1")
    try:
        assert f"listen [::1]:{front.port};" in vhost_file(front.app).read_text()
        assert report_value(platform, "proxy:report", front.app, "--proxy-listen") == f"[::1]:{front.port}"
        conn = http.client.HTTPConnection("::1", front.port, timeout=10)
        conn.request("GET", "/env/DOKKU_APP_NAME", headers={"Host": front.host})
        response = conn.getresponse()
        assert (response.status, response.read().decode()) == (200, front.app)
        conn.close()
    finally:
        platform.ok("proxy:set", front.app, "bind-address")
    assert f"listen 127.0.0.1:{front.port};" in vhost_file(front.app).read_text()
    assert via_nginx(front.port, front.host)[0] == 200


def test_scale_down_leaves_only_current_containers_in_nginx(platform, front):
    """Two web containers share the vhost; after scaling to one, the containers waiting to
    retire (web.1's predecessor and web.2) are in no later render of the vhost and no report."""
    alt = f"scaled-{front.domain}"
    platform.ok("ps:scale", front.app, "web=2")
    try:
        settled(platform, front.app, count=2)
        conf = vhost_file(front.app).read_text()
        assert conf.count("server 127.0.0.1:") == 2, conf
        answered = {via_nginx(front.port, front.host, "/env/HOSTNAME")[1] for _ in range(20)}
        assert len(answered) == 2, f"nginx should balance over both web containers: {answered}"

        platform.ok("checks:set", front.app, "wait-to-retire", "5")
        platform.ok("ps:scale", front.app, "web=1")
        assert len(platform.container_ids(front.app)) == 3, "the old two wait to retire"
        platform.ok("domains:add", front.app, alt)  # renders the vhost again from what runs
        conf = vhost_file(front.app).read_text()
        assert conf.count("server 127.0.0.1:") == 1, conf
        assert f"server 127.0.0.1:{current_web_port(platform, front.app)};" in conf, conf
        report = platform.ok("ps:report", front.app).out
        assert "Status web 1:" in report and "Status web 2:" not in report, report
        assert len(report_value(platform, "ps:report", front.app, "--ps-web-urls").split()) == 1
    finally:
        platform.ok("ps:scale", front.app, "web=1")
        platform.ok("checks:set", front.app, "wait-to-retire", str(WAIT_TO_RETIRE))
        platform("domains:remove", front.app, alt)
    settled(platform, front.app)
    assert via_nginx(front.port, front.host)[0] == 200
