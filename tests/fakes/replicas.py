"""Relais replicas as a deployment runs them: `relais serve` processes behind a real nginx.

The nginx configuration is deploy/nginx/relais.conf itself, with the upstream servers and the listen
port replaced, so the tests exercise the file operators deploy. Each replica has its own data folder:
anything a replica kept on its disk would show up as a failure on the other one.

    with ReplicaCluster(env, replicas=2) as cluster:
        cluster.url                 # nginx
        cluster.replica_urls[0]     # one replica, directly
        cluster.kill(0)             # SIGKILL, as a crashed pod
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_NGINX = ROOT / "deploy" / "nginx" / "relais.conf"
INSTALL_HINT = "nginx is not installed: run `make e2e-deps` (it installs Debian's nginx-light)"


class ClusterError(RuntimeError):
    """A replica or nginx did not start; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_binary() -> str:
    """The nginx executable. Raises ClusterError saying how to install it."""
    found = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                           if os.access(path, os.X_OK)), None)
    if found is None:
        raise ClusterError(INSTALL_HINT)
    return found


def nginx_config(port: int, upstreams: list[int], prefix: Path) -> str:
    """deploy/nginx/relais.conf pointed at `upstreams` on 127.0.0.1, wrapped for a standalone nginx."""
    site = DEPLOY_NGINX.read_text(encoding="utf-8")
    servers = "".join(f"    server 127.0.0.1:{upstream} max_fails=2 fail_timeout=10s;\n" for upstream in upstreams)
    site, replaced = re.subn(r"(?m)^(    server relais-\d+:8000[^\n]*\n)+", servers, site)
    site, listened = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", site)
    if (replaced, listened) != (1, 1):
        raise ClusterError(f"{DEPLOY_NGINX} no longer has the upstream servers and `listen 8080;` this harness "
                           "replaces: update tests/fakes/replicas.py with it")
    temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers can then write the temp folders made here
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log {prefix}/access.log;\n"
            + "".join(f"  {name}_temp_path {folder};\n" for name, folder in temp.items())
            + site + "}\n")


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClusterError(f"{url}: exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise ClusterError(f"{url} not answering after {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


class ReplicaCluster:
    """`replicas` Relais processes (same environment, own data folders) and nginx in front of them."""

    def __init__(self, env: dict[str, str], workdir: Path, replicas: int = 2, start_timeout_s: float = 90) -> None:
        self.env = env
        self.workdir = workdir
        self.start_timeout_s = start_timeout_s
        self.ports = [free_port() for _ in range(replicas)]
        self.nginx_port = free_port()
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.replica_urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.processes: list[subprocess.Popen | None] = [None] * replicas
        self.nginx: subprocess.Popen | None = None

    def __enter__(self) -> ReplicaCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start every replica (in parallel: they start at once, as after a deployment) and nginx."""
        binary = nginx_binary()
        for index in range(len(self.ports)):
            self._spawn(index)
        for index in range(len(self.ports)):
            self._wait(index)
        prefix = self.workdir / "nginx"
        prefix.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(self.nginx_port, self.ports, prefix), encoding="utf-8")
        log = prefix / "stderr.log"
        self.nginx = subprocess.Popen([binary, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
                                      stdout=log.open("wb"), stderr=subprocess.STDOUT)
        wait_for(f"{self.url}/nginx-health", self.nginx, log, 15)

    def _spawn(self, index: int) -> None:
        data_dir = self.workdir / f"replica-{index}"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "RELAIS_DATA_DIR": str(data_dir)}
        command = [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(self.ports[index]),
                   "--log-level", "warning"]
        log = data_dir / "serve.log"
        self.processes[index] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                                                 stderr=subprocess.STDOUT)

    def _wait(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        wait_for(f"{self.replica_urls[index]}/health", process, self.workdir / f"replica-{index}" / "serve.log",
                 self.start_timeout_s)

    def alive(self, index: int) -> bool:
        process = self.processes[index]
        return process is not None and process.poll() is None

    def revive(self) -> None:
        """Start again any replica that exited (a test killed it): nginx takes it back by itself."""
        dead = [index for index in range(len(self.ports)) if not self.alive(index)]
        for index in dead:
            self._spawn(index)
        for index in dead:
            self._wait(index)

    def kill(self, index: int) -> None:
        """SIGKILL one replica: no shutdown handler runs, as when a machine or a pod dies."""
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def log(self, index: int) -> str:
        return _tail(self.workdir / f"replica-{index}" / "serve.log")

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
