"""The replica harness: nginx's configuration comes from deploy/, and a missing nginx says what to run."""

from __future__ import annotations

import subprocess

import pytest

from tests.fakes import replicas
from tests.fakes.replicas import ClusterError, nginx_binary, nginx_config


def test_the_config_is_the_deployed_one_pointed_at_the_replicas(tmp_path):
    config = nginx_config(18080, [18001, 18002], tmp_path)
    assert "server 127.0.0.1:18001 max_fails=2" in config and "server 127.0.0.1:18002 max_fails=2" in config
    assert "relais-1:8000" not in config and "listen 127.0.0.1:18080;" in config
    assert "proxy_buffering off;" in config and "proxy_next_upstream error timeout;" in config  # from deploy/
    (tmp_path / "nginx.conf").write_text(config)
    checked = subprocess.run([nginx_binary(), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def test_without_nginx_the_error_says_to_run_make_e2e_deps(monkeypatch):
    monkeypatch.setattr(replicas.shutil, "which", lambda name: None)
    monkeypatch.setattr(replicas.os, "access", lambda path, mode: False)
    with pytest.raises(ClusterError, match="make e2e-deps"):
        nginx_binary()
