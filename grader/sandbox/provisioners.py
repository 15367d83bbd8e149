"""The grader's sandbox as jupyter_client kernel provisioners, for any Jupyter client.

A kernelspec whose metadata names one of these (entry points of the group
`jupyter_client.kernel_provisioners`, see pyproject.toml) gets a sandboxed kernel from a plain
`KernelManager`, nbclient, JupyterLab or `jupyter console`:

- `grader-bubblewrap-provisioner` starts the kernelspec's argv under bubblewrap, through the
  same `start_process` as the grader's own plain kernels;
- `grader-fork-provisioner` forks an ipykernel from the grader's zygote (torch imported
  already), through the same `fork_kernel` as the grader's own fast kernels.

Both make the kernel's SandboxSpec from the provisioner's config (`sandbox`: auto, require or
none; `limits`: the keys of an assignment's [limits] table) and a private folder with the
kernel's ipc sockets and connection file: the kernel talks over no TCP port. Interrupt with
messages (`"interrupt_mode": "message"` in the kernelspec): a signal to the sandbox's outer
process does not reach a kernel in a pid namespace and session of its own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Dict, Unicode

from grader.config import Limits
from grader.errors import KernelError
from grader.sandbox.forked import ForkedProcess, kill_forked
from grader.sandbox.forkkernel import fork_kernel
from grader.sandbox.isolation import Isolation, detect
from grader.sandbox.kernel import KernelProcess
from grader.sandbox.launch import start_process
from grader.sandbox.reaper import reap_kernel
from grader.sandbox.spec import SandboxSpec, kernel_spec
from grader.sandbox.zygote_process import ForkServerUnavailable, server_for, usable

__all__ = ["BubblewrapProvisioner", "ForkProvisioner", "SandboxProvisioner"]


class SandboxProvisioner(KernelProvisionerBase):  # type: ignore[misc]
    """What both provisioners share: the kernel's folder and connection file, its spec, its life.

    Subclasses say how the kernel's process starts (`start`) and dies (`kill`).
    """

    sandbox = Unicode("auto", config=True, help="auto (bubblewrap where it works), require, or none (limits only)")
    limits = Dict(config=True, help="the kernel's limits, as an assignment's [limits] table (memory_mb, ...)")

    process: KernelProcess | None = None
    workdir: Path | None = None
    spec: SandboxSpec | None = None

    def isolation(self) -> Isolation:
        return detect(self.sandbox)

    def folder_parent(self) -> str | None:
        """Where the kernel's folder is made (None: the system's temporary folder)."""
        return None

    @property
    def has_process(self) -> bool:
        return self.process is not None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """The kernel's folder (kept across restarts, so that clients keep their address), its
        connection file on ipc sockets in it, and the command with that file in it."""
        km = self.parent
        if km is None:
            raise KernelError("a grader provisioner runs under a KernelManager (its parent)")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="grader-kernel-", dir=self.folder_parent()))
            os.chmod(self.workdir, 0o755)
            for name in ("ipc", "home"):
                (self.workdir / name).mkdir()
            km.transport = "ipc"
            km.ip = str(self.workdir / "ipc" / "kernel")
            km.connection_file = str(self.workdir / "connection.json")
        km.write_connection_file()
        self.connection_info = km.get_connection_info()
        cmd = km.format_kernel_cmd(extra_arguments=kwargs.pop("extra_arguments", []))
        kwargs = await super().pre_launch(cmd=cmd, **kwargs)
        # the kernel's environment is the sandbox's short list and the kernelspec's own entries,
        # never the client's (tokens, keys)
        extra = {k: str(v) for k, v in (self.kernel_spec.env or {}).items()}
        self.spec = kernel_spec(self.isolation(), Limits(**self.limits), self.workdir, extra)
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        assert self.spec is not None
        try:
            self.process = await self.start(self.spec, cmd)
        except OSError as exc:
            raise KernelError(f"could not start a kernel: {exc}") from None
        return self.connection_info

    async def start(self, spec: SandboxSpec, cmd: list[str]) -> KernelProcess:
        raise NotImplementedError

    async def poll(self) -> int | None:
        return self.process.poll() if self.process is not None else 0

    async def wait(self) -> int | None:
        if self.process is None:
            return 0
        while self.process.poll() is None:
            await asyncio.sleep(0.05)
        code = self.process.returncode
        self.forget_process()
        return code

    def forget_process(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    async def send_signal(self, signum: int) -> None:
        if self.process is None:
            return
        if signum == signal.SIGKILL:
            await self.kill()
            return
        try:
            os.killpg(self.process.pid, signum)  # the sandbox's session; the kernel leads its own inside
        except OSError:
            pass

    async def terminate(self, restart: bool = False) -> None:
        await self.kill(restart)  # the kernel holds nothing worth a graceful goodbye

    async def cleanup(self, restart: bool = False) -> None:
        if not restart and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return min(recommended, 1.0)


class BubblewrapProvisioner(SandboxProvisioner):
    """The kernelspec's argv under bubblewrap (a missing sandbox is an error, unless `sandbox` says otherwise)."""

    sandbox = Unicode("require", config=True, help="require (the default), auto, or none (limits only)")

    async def start(self, spec: SandboxSpec, cmd: list[str]) -> KernelProcess:
        assert self.workdir is not None
        # the kernel's stderr goes to a file in its folder (bounded by its file size limit), never
        # to the client's terminal
        with open(self.workdir / "kernel.log", "ab") as log:
            return start_process(spec, self.isolation(), cmd, stderr=log)

    async def kill(self, restart: bool = False) -> None:
        if self.process is None:
            return
        spec = self.spec
        reap_kernel(self.process.pid, spec.uid if spec else None, spec.tag if spec else "")
        try:
            await asyncio.to_thread(self.process.wait, 5)
        except subprocess.TimeoutExpired:
            pass


class ForkProvisioner(SandboxProvisioner):
    """An ipykernel forked from the grader's zygote: the kernelspec's argv must run
    `-m ipykernel_launcher` (its arguments are IPKernelApp's)."""

    def folder_parent(self) -> str | None:
        isolation = self.isolation()
        reason = usable(isolation)
        if reason:
            raise KernelError(f"the fork provisioner cannot fork a kernel here: {reason}")
        try:
            return server_for(isolation).spool
        except ForkServerUnavailable as exc:
            raise KernelError(f"the fork provisioner cannot fork a kernel here: {exc}") from None

    async def start(self, spec: SandboxSpec, cmd: list[str]) -> KernelProcess:
        if "ipykernel_launcher" not in cmd:
            raise KernelError(
                "the fork provisioner forks ipykernel only: the kernelspec's argv must run "
                "`python -m ipykernel_launcher -f {connection_file}`"
            )
        kernel_argv = cmd[cmd.index("ipykernel_launcher") + 1 :]
        server = server_for(self.isolation())
        return await asyncio.to_thread(fork_kernel, server, spec, kernel_argv)

    async def kill(self, restart: bool = False) -> None:
        if isinstance(self.process, ForkedProcess):
            await asyncio.to_thread(kill_forked, self.process, self.spec)

    def forget_process(self) -> None:
        proc = self.process
        super().forget_process()
        if isinstance(proc, ForkedProcess):
            proc.close()
