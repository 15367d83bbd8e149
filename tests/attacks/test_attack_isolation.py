"""Isolation: what a kernel under bubblewrap can see, write, reach and signal.

The probe notebooks look for the course (the venv's parent folder is the checkout), write a
PWNED file into every folder worth a try, connect to the host's loopback (where a listener
of this suite waits), to local services and to the internet, and signal every pid they can.
They report what they saw; the host is then checked for what they did.
"""

from __future__ import annotations

import os
import sys

import pytest

from attack_support import Attacks, Listener, host_problems, needs_sandbox

pytestmark = needs_sandbox


def test_the_kernel_sees_no_course_writes_nothing_to_the_host_and_reaches_no_network(
    attacks: Attacks, listener: Listener
) -> None:
    attack = attacks.grade("escape_filesystem_network_signals")
    assert (attack.result.score, attack.result.max_score) == (4, 4)
    report = attack.report()
    assert report["checkout"] == os.path.dirname(sys.prefix)
    # the checkout, its solutions, checks, tests and the grader's source are out of view
    assert report["seen"] == [], report["seen"]
    assert report["checks_found"] == []
    # what it could write is its own: a private /tmp, /var/tmp and home, all gone with it
    assert all(folder in ("/tmp", "/var/tmp") or "/home" in folder for folder in report["written"]), report["written"]
    assert "/tmp" in report["written"]  # a private /tmp the student can use
    assert "appended" not in report, report.get("appended")
    # no network at all: no loopback of the host, no local service, no DNS, no internet
    assert report["connected"] == [] and report["dns"] is False, report
    # its own pid namespace: only itself and the sandbox's init; nothing else to signal, not even init
    assert len(report["procs"]) <= 3 and max(report["procs"]) < 100, report["procs"]
    assert report["signalable"] == [], report["signalable"]
    # /tmp shows nothing of the host's but the path to the Python it runs (a checkout under /tmp)
    python_path = {
        os.path.realpath(p).split("/")[2]
        for p in (sys.prefix, sys.base_prefix)
        if os.path.realpath(p).startswith("/tmp/")
    }
    assert not [
        name
        for name in report["tmp"]
        if not name.startswith("grader-") and "PWNED" not in name and name not in python_path
    ], report["tmp"]
    assert host_problems(attack, listener) == []
    assert listener.connections == []


def test_the_kernel_reads_no_host_secret_and_inherits_no_environment(attacks: Attacks) -> None:
    attack = attacks.grade("read_host_secrets")
    assert (attack.result.score, attack.result.max_score) == (4, 4)
    found = attack.report()
    for secret in (
        "/etc/shadow",
        "/root/.ssh",
        "/root/.bash_history",
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/sys/kernel",
        "/dev/sda",
        "/dev/mem",
        "/proc/1/environ",
    ):
        assert secret not in found, (secret, found.get(secret))
    # the environment is the grader's short list, not the host's (no tokens, no keys)
    env = found["env"]
    leaked = {
        key
        for key in env
        if os.environ.get(key) == env[key]
        and key
        not in (
            "PATH",
            "HOME",
            "LANG",
            "LD_LIBRARY_PATH",
            "CUDA_VISIBLE_DEVICES",
            "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONNOUSERSITE",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "MPLBACKEND",
            "JUPYTER_PLATFORM_DIRS",
            "IPYTHONDIR",
            "JUPYTER_RUNTIME_DIR",
            "TERM",
            "PAGER",
            "GIT_PAGER",
            "CLICOLOR",
        )
    }
    assert not leaked, leaked
    assert host_problems(attack) == []


@pytest.mark.parametrize("mode", ["auto"])
def test_kernel_and_grader_talk_over_ipc_sockets_not_tcp(mode: str) -> None:
    from grader.course import load_assignment
    from grader.sandbox.kernel import Kernel
    from grader.sandbox.isolation import detect

    from attack_support import MINI

    kernel = Kernel(load_assignment(MINI).limits, sandbox=detect(mode))
    kernel.start()
    try:
        import json

        assert kernel.workdir is not None
        info = json.loads((kernel.workdir / "connection.json").read_text())
        assert info["transport"] == "ipc" and str(kernel.workdir) in info["ip"]
        reply = kernel.execute("import socket; socket.create_connection(('127.0.0.1', 22), timeout=1)", timeout=10)
        assert reply.status == "error" and reply.ename in ("OSError", "ConnectionRefusedError", "TimeoutError")
    finally:
        kernel.shutdown()
