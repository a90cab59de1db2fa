"""The cheap ownership rule: one stat of the mount root, and system paths are never chowned."""
import os

import pytest

from pipeline import errors, ownership


def test_correctly_owned_root_needs_nothing(tmp_path):
    st = os.stat(tmp_path)
    assert not ownership.needs_chown(str(tmp_path), st.st_uid, st.st_gid)


def test_wrong_owner_needs_chown(tmp_path):
    st = os.stat(tmp_path)
    assert ownership.needs_chown(str(tmp_path), st.st_uid + 1, st.st_gid)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_ensure_owned_hands_the_whole_tree_over(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("x")
    ownership.ensure_owned("app", [str(tmp_path)], 32767, 32767)
    for p in [tmp_path, tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "f"]:
        assert (os.stat(p).st_uid, os.stat(p).st_gid) == (32767, 32767)


@pytest.mark.parametrize("path", ["/", "/etc", "/etc/ssl", "/usr/lib", "/var/lib/dokku", "/home", "/root/x"])
def test_system_paths_are_recognised(path):
    assert ownership.is_system_path(path)


@pytest.mark.parametrize("path", ["/var/lib/dokku/data/storage/app", "/srv/data", "/home/dokku/uploads", "/tmp/x"])
def test_app_paths_are_not_system_paths(path):
    assert not ownership.is_system_path(path)


def test_a_system_path_with_the_wrong_owner_is_refused_not_chowned():
    with pytest.raises(errors.DokkuError, match="Refusing to change the owner of system path /etc"):
        ownership.ensure_owned("app", ["/etc"], 32767, 32767)
    assert os.stat("/etc").st_uid != 32767


def test_missing_sources_are_reported(tmp_path):
    assert ownership.missing_sources([str(tmp_path), str(tmp_path / "nope")]) == [str(tmp_path / "nope")]
