"""The sandbox as an ordinary Jupyter provisioner: a plain jupyter_client.KernelManager, given a
kernelspec whose metadata names the grader's provisioner, gets a sandboxed kernel: no network
(no interface but lo, the host's loopback unreachable) and no checkout (no solutions/, no
grader package, no tests).

The provisioners are found through their entry points (`jupyter_client.kernel_provisioners`),
which need the package's metadata: run with an environment where the grader is installed
(`pip install -e .`). Without bubblewrap the test skips, unless GRADER_REQUIRE_SANDBOX_TESTS=1
(CI), which makes it fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVISIONERS = {"bubblewrap": "grader-bubblewrap-provisioner", "fork": "grader-fork-provisioner"}


def _sandbox_reason() -> str:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    from grader.sandbox.isolation import bwrap_works

    reason = bwrap_works(bwrap)
    return f"bubblewrap cannot run here: {reason}" if reason else ""


def _registered() -> str:
    names = {ep.name for ep in entry_points(group="jupyter_client.kernel_provisioners")}
    missing = sorted(set(PROVISIONERS.values()) - names)
    return f"not registered as entry points (install the package: pip install -e .): {missing}" if missing else ""


SANDBOX_REASON = _sandbox_reason() or _registered()
if SANDBOX_REASON and os.environ.get("GRADER_REQUIRE_SANDBOX_TESTS"):
    raise RuntimeError(f"GRADER_REQUIRE_SANDBOX_TESTS is set (CI) but {SANDBOX_REASON}")
pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(bool(SANDBOX_REASON), reason=f"needs the sandbox: {SANDBOX_REASON}"),
]


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[Any]]]:
    """A TCP server on the host's 127.0.0.1; the list fills with the connections it accepted."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(0.2)
    accepted: list[Any] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = sock.accept()
            except OSError:
                continue
            accepted.append(addr)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=2)
    sock.close()


def kernelspec(folder: Path, provisioner: str) -> str:
    """A kernelspec in a JUPYTER_PATH of its own, naming `provisioner`; returns its name."""
    spec_dir = folder / "kernels" / "grader-sandboxed"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (grader sandbox)",
                "language": "python",
                "interrupt_mode": "message",
                "metadata": {
                    "kernel_provisioner": {"provisioner_name": provisioner, "config": {"limits": {"memory_mb": 2048}}}
                },
            }
        )
    )
    return "grader-sandboxed"


PROBE = """
import json, os, socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    reached = True
except OSError:
    reached = False
root = {root!r}
print(json.dumps({{
    "reached": reached,
    "interfaces": sorted(name for _, name in socket.if_nameindex()),
    "checkout": sorted(os.listdir(root)) if os.path.isdir(root) else None,
    "seen": [p for p in ("solutions", "grader", "tests", "assignments", "pyproject.toml", ".git")
             if os.path.exists(os.path.join(root, p))],
    "uid": os.getuid(), "pid": os.getpid(),
}}))
"""


def run_cell(client: Any, code: str) -> str:
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


@pytest.mark.parametrize("kind", ["bubblewrap", "fork"])
def test_a_plain_kernel_manager_gets_a_kernel_without_network_or_checkout(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_listener: tuple[int, list[Any]]
) -> None:
    from jupyter_client import KernelManager

    if kind == "fork":
        from grader.sandbox.isolation import detect
        from grader.sandbox.zygote_process import usable

        if usable(detect("require")):
            pytest.skip(f"no sandboxed fork server here: {usable(detect('require'))}")
    port, accepted = host_listener
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    km = KernelManager(kernel_name=kernelspec(tmp_path / "jupyter", PROVISIONERS[kind]))
    km.start_kernel()
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        assert type(km.provisioner).__module__ == "grader.sandbox.provisioners"
        workdir = Path(km.connection_file).parent
        assert km.transport == "ipc" and str(workdir) in km.ip  # no TCP port, not even on loopback
        report = json.loads(run_cell(client, PROBE.format(port=port, root=str(ROOT))))
        # no network: nothing but lo, and the host's loopback unreachable
        assert report["interfaces"] == ["lo"], report
        assert report["reached"] is False and accepted == []
        # no checkout: of the project's folder at most the venv this test runs from shows
        assert report["seen"] == [], report
        assert report["checkout"] in (None, [], [".venv"]), report
        assert report["pid"] < 100, report  # its own pid namespace
        if os.geteuid() == 0:
            assert report["uid"] != 0, report  # and, as root, a uid of its own
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    assert not km.is_alive()
    assert not workdir.exists()
