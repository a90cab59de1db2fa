"""domains, proxy and checks commands on apps that are not deployed (no engine, no nginx)."""
import json

import pytest


def test_default_vhost_follows_global_domain(dokku, app):
    dokku.ok("domains:set-global", "example.test")
    assert dokku.ok("domains:report", app, "--domains-app-vhosts").out.strip() == f"{app}.example.test"
    assert dokku.ok("proxy:report", app, "--proxy-urls").out.strip() == f"http://{app}.example.test"


def test_domains_add_remove_set_clear(dokku, app):
    dokku.ok("domains:add", app, "a.test", "b.test")
    assert dokku.ok("domains:report", app, "--domains-app-vhosts").out.split() == ["a.test", "b.test"]
    dokku.ok("domains:remove", app, "a.test")
    assert dokku.ok("domains:report", app, "--domains-app-vhosts").out.split() == ["b.test"]
    dokku.ok("domains:set", app, "c.test")
    assert dokku.ok("domains:report", app, "--domains-app-vhosts").out.split() == ["c.test"]
    dokku.ok("domains:clear", app)
    assert dokku.ok("domains:report", app, "--domains-app-vhosts").out.strip() == ""


@pytest.mark.parametrize("bad", ["has space.test", "UPPER.test", "a..b", "-x.test", "x_y.test", "a;b"])
def test_bad_domain_is_refused(dokku, app, bad):
    dokku.refuses("domains:add", app, bad, message=f"Invalid domain {bad!r}")


def test_domains_need_a_domain(dokku, app):
    dokku.refuses("domains:add", app, message="Please specify at least one domain")


def test_proxy_port_and_bind_address(dokku, app):
    dokku.ok("domains:set-global", "example.test")
    dokku.ok("proxy:set", "--global", "port", "8088")
    dokku.ok("proxy:set", "--global", "bind-address", "127.0.0.1")
    report = dokku.ok_json("proxy:report", app, "--format", "json")
    assert report["proxy-listen"] == "127.0.0.1:8088"
    assert report["proxy-urls"] == f"http://{app}.example.test:8088"


@pytest.mark.parametrize("args,message", [
    (["port", "http"], "Invalid port 'http'"),
    (["port", "70000"], "Invalid port '70000'"),
    (["bind-address", "localhost"], "Invalid bind address 'localhost'"),
    (["color", "red"], "Invalid key"),
])
def test_proxy_set_refuses_bad_values(dokku, args, message):
    dokku.refuses("proxy:set", "--global", *args, message=message)


def test_proxy_disable_enable(dokku, app):
    dokku.ok("domains:set-global", "example.test")
    dokku.ok("proxy:disable", app)
    assert dokku.ok("proxy:report", app, "--proxy-enabled").out.strip() == "false"
    assert dokku.ok("proxy:report", app, "--proxy-urls").out.strip() == ""
    dokku.ok("proxy:enable", app)
    assert dokku.ok("proxy:report", app, "--proxy-enabled").out.strip() == "true"


def test_checks_report_defaults_and_set(dokku, app):
    report = dokku.ok_json("checks:report", app, "--format", "json")
    assert report["checks-computed-wait-to-retire"] == "5"
    assert report["checks-computed-deploy-strategy"] == "start-first"
    dokku.ok("checks:set", app, "wait-to-retire", "0")
    dokku.ok("checks:set", app, "deploy-strategy", "stop-first")
    report = dokku.ok_json("checks:report", app, "--format", "json")
    assert report["checks-computed-wait-to-retire"] == "0"
    assert report["checks-computed-deploy-strategy"] == "stop-first"


def test_checks_global_wait_to_retire_is_inherited(dokku, app):
    dokku.ok("checks:set", "--global", "wait-to-retire", "12")
    assert dokku.ok("checks:report", app, "--checks-computed-wait-to-retire").out.strip() == "12"


@pytest.mark.parametrize("args,message", [
    (["wait-to-retire", "soon"], "Invalid wait-to-retire 'soon'"),
    (["deploy-strategy", "yolo"], "Invalid deploy-strategy 'yolo'"),
    (["bogus", "1"], "Invalid key"),
])
def test_checks_set_refuses_bad_values(dokku, app, args, message):
    dokku.refuses("checks:set", app, *args, message=message)


def test_checks_disable_skip_enable(dokku, app):
    dokku.ok("checks:disable", app, "worker")
    assert dokku.ok("checks:report", app, "--checks-disabled-list").out.strip() == "worker"
    dokku.ok("checks:skip", app)
    report = json.loads(dokku.ok("checks:report", app, "--format", "json").out)
    assert report["checks-skipped-list"] == "_all_"
    dokku.ok("checks:enable", app, "worker")
    assert dokku.ok("checks:report", app, "--checks-disabled-list").out.strip() == "none"
