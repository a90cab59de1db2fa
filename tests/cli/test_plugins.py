"""plugin:list, plugin:enable and plugin:disable, by subprocess in a throwaway root."""
import os

import pytest


def make_plugin(dokku, name: str, *points: str, where: str = "available"):
    folder = dokku.lib / "plugins" / where / name
    folder.mkdir(parents=True, exist_ok=True)
    for point in points:
        (folder / point).write_text("#!/bin/sh\ntrue\n")
        (folder / point).chmod(0o755)
    return folder


def enabled_link(dokku, name: str):
    return dokku.lib / "plugins" / "enabled" / name


def test_list_without_plugins_is_empty(dokku):
    assert dokku.ok("plugin:list").out == ""
    assert dokku.ok_json("plugin:list", "--format", "json") == []


def test_list_shows_state_and_hook_points(dokku):
    make_plugin(dokku, "audit", "post-deploy", "docker-args-deploy")
    make_plugin(dokku, "backup", "pre-delete")
    dokku.ok("plugin:enable", "audit")
    lines = dokku.ok("plugin:list").out.splitlines()
    assert [line.split(None, 2) for line in lines] == [
        ["audit", "enabled", "docker-args-deploy, post-deploy"],
        ["backup", "disabled", "pre-delete"],
    ]


def test_list_as_json(dokku):
    make_plugin(dokku, "audit", "post-deploy", "docker-args-deploy")
    dokku.ok("plugin:enable", "audit")
    assert dokku.ok_json("plugin:list", "--format", "json") == [
        {"name": "audit", "enabled": True, "hooks": ["docker-args-deploy", "post-deploy"]}]


def test_list_shows_a_plugin_placed_directly_in_enabled(dokku):
    make_plugin(dokku, "audit", "post-deploy", where="enabled")
    assert dokku.ok_json("plugin:list", "--format", "json") == [
        {"name": "audit", "enabled": True, "hooks": ["post-deploy"]}]


def test_list_warns_about_files_that_are_never_run(dokku):
    folder = make_plugin(dokku, "audit", "post_deploy")  # a typo: not a hook point
    (folder / "pre-deploy").write_text("#!/bin/sh\n")  # not executable
    r = dokku.ok("plugin:list")
    assert " !     Plugin audit: post_deploy is not a hook point" in r.err
    assert " !     Plugin audit: pre-deploy is not executable" in r.err


def test_list_rejects_a_bad_format(dokku):
    dokku.refuses("plugin:list", "--format", "yaml", message='Format must be "stdout" or "json"')


def test_enable_makes_a_link_to_available(dokku):
    folder = make_plugin(dokku, "audit", "post-deploy")
    r = dokku.ok("plugin:enable", "audit")
    assert r.out.strip() == "-----> Plugin audit enabled"
    link = enabled_link(dokku, "audit")
    assert link.is_symlink()
    assert link.resolve() == folder.resolve()


def test_enable_is_idempotent(dokku):
    make_plugin(dokku, "audit", "post-deploy")
    dokku.ok("plugin:enable", "audit")
    r = dokku.ok("plugin:enable", "audit")
    assert r.out.strip() == "-----> Plugin audit enabled"
    assert os.listdir(enabled_link(dokku, "audit").parent) == ["audit"]


def test_enable_a_plugin_that_does_not_exist(dokku):
    dokku.refuses("plugin:enable", "ghost", message="Plugin ghost does not exist")


@pytest.mark.parametrize("bad", ["Audit", "-x", "a/b", "..", "a b", "_x"])
def test_enable_refuses_a_bad_name(dokku, bad):
    dokku.refuses("plugin:enable", bad, message=f"Invalid plugin name {bad!r}")


def test_enable_needs_a_name(dokku):
    dokku.refuses("plugin:enable", message="Please specify a plugin name")


def test_enable_takes_one_name(dokku):
    make_plugin(dokku, "audit", "post-deploy")
    dokku.refuses("plugin:enable", "audit", "other", code=2, message="Too many arguments: other")


def test_disable_removes_the_link_and_keeps_the_plugin(dokku):
    folder = make_plugin(dokku, "audit", "post-deploy")
    dokku.ok("plugin:enable", "audit")
    r = dokku.ok("plugin:disable", "audit")
    assert r.out.strip() == "-----> Plugin audit disabled"
    assert not os.path.lexists(enabled_link(dokku, "audit"))
    assert (folder / "post-deploy").is_file()
    assert dokku.ok_json("plugin:list", "--format", "json")[0]["enabled"] is False


def test_disable_a_plugin_that_is_not_enabled(dokku):
    make_plugin(dokku, "audit", "post-deploy")
    dokku.refuses("plugin:disable", "audit", message="Plugin audit is not enabled")


def test_disable_a_plugin_that_does_not_exist(dokku):
    dokku.refuses("plugin:disable", "ghost", message="Plugin ghost is not enabled")


def test_disable_a_plugin_placed_in_enabled_moves_it_to_available(dokku):
    make_plugin(dokku, "audit", "post-deploy", where="enabled")
    dokku.ok("plugin:disable", "audit")
    assert (dokku.lib / "plugins" / "available" / "audit" / "post-deploy").is_file()
    dokku.ok("plugin:enable", "audit")
    assert dokku.ok_json("plugin:list", "--format", "json")[0]["enabled"] is True


def test_disable_a_link_whose_plugin_is_gone(dokku):
    link = enabled_link(dokku, "audit")
    link.parent.mkdir(parents=True)
    link.symlink_to(dokku.lib / "plugins" / "available" / "audit")
    assert dokku.ok_json("plugin:list", "--format", "json") == [
        {"name": "audit", "enabled": False, "hooks": []}]
    dokku.ok("plugin:disable", "audit")
    assert not os.path.lexists(link)


def test_help_lists_the_commands(dokku):
    out = dokku.ok("plugin:help").out
    for command in ("plugin:list", "plugin:enable", "plugin:disable"):
        assert f"dokku {command}" in out
