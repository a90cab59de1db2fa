"""The nginx server block as data: rendered from the template, no nginx needed."""
from pipeline import checks, proxy


def test_render_lists_every_web_port_and_domain(monkeypatch, tmp_path):
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path))
    text = proxy.render("shop", [49153, 49154], ["shop.example.test", "www.example.test"])
    assert "server 127.0.0.1:49153;" in text
    assert "server 127.0.0.1:49154;" in text
    assert "server_name shop.example.test www.example.test;" in text
    assert "listen 80;" in text


def test_render_forwards_headers_and_websockets(monkeypatch, tmp_path):
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path))
    text = proxy.render("shop", [1], ["shop.test"])
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port", "Upgrade $http_upgrade"):
        assert header in text


def test_listen_uses_global_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path))
    from pipeline import store
    store.put("proxy", None, "port", "8080")
    store.put("proxy", None, "bind-address", "127.0.0.1")
    assert "listen 127.0.0.1:8080;" in proxy.render("shop", [1], ["shop.test"])


def test_healthchecks_read_from_app_json():
    app_json = {"healthchecks": {"web": [{"path": "/health", "attempts": 2}]}}
    assert checks.healthchecks(app_json, "web") == [{"path": "/health", "attempts": 2}]
    assert checks.healthchecks(app_json, "worker") == []
    assert checks.healthchecks({}, "web") == []
