"""One request to a submission's kernel through nbclient: sent, its output bounded as it streams, timed out.

KernelRequests is the NotebookClient subclass the Runner (runner.py) builds on, and holds what any
request needs, a cell of the notebook or the grader's own code: nbclient's asyncio client connected
to the kernel grader/sandbox/ started (through a KernelHandle, its KernelManager) by a handshake of
its own; a float budget per request, the kernel interrupted once at its deadline and given up on a
grace period later if it ignored the interrupt, the process watched every POLL seconds; every message
read by grader/sandbox/replies.py (the one reader of the kernel's own messages) into the request's
ExecReply, bounded by the output cap as it streams.
"""

from __future__ import annotations

import asyncio
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from nbclient.util import ensure_async
from nbformat import NotebookNode

from grader.execute.handle import KernelHandle, drain
from grader.sandbox.kernel import Kernel, TimeLimit
from grader.sandbox.replies import RECORDED, ExecReply, content_of, record_output, take_reply

POLL = 0.05  # seconds between looks at the kernel process while a request runs
CELL_GRACE = 3.0  # after the interrupt at a cell's timeout: how long before the hard stop


class KernelRequests(NotebookClient):
    """nbclient's client of one kernel: one request at a time, each with its budget and its record."""

    def __init__(self, nb: NotebookNode, kernel: Kernel, *, cap: int, connect_timeout: float) -> None:
        handle = KernelHandle(kernel)
        super().__init__(
            nb,
            km=handle,
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            record_timing=False,
        )
        self.kernel = kernel
        self.handle = handle  # self.km too, until nbclient's cleanup lets go of it
        self.cap = cap  # characters of a request's outputs kept
        self.connect_timeout = connect_timeout
        self.record = ExecReply()  # the request in flight: what it printed, how it ended
        self.kept = 0  # characters of its outputs kept so far
        self.budget, self.grace = 0.0, CELL_GRACE

    # -- the connection -------------------------------------------------------------------
    async def async_connect(self) -> None:
        """Connect nbclient's client to the kernel: our own handshake, not `wait_for_ready`.

        jupyter_client's wait_for_ready spends 0.2 s and more flushing iopub. Here one
        kernel_info reply proves shell works, and any iopub message after it proves the
        subscription is live (a late subscriber misses the first messages, so the request is
        repeated until one gets through): a millisecond or two on a kernel that is up.
        """
        await self.async_disconnect()
        kc: AsyncKernelClient = self.handle.async_client()
        self.kc = kc
        deadline = time.monotonic() + self.connect_timeout
        replied = heard = False
        while not (replied and heard) and self.handle.is_alive() and time.monotonic() < deadline:
            msg_id = kc.kernel_info()
            sent = time.monotonic()
            while not (replied and heard) and time.monotonic() - sent < (0.05 if replied else 1.0):
                if not replied:
                    replied = await self._async_shell_reply(msg_id, 0.01) is not None
                try:
                    await kc.iopub_channel.get_msg(timeout=0.002 if not replied else 0.01)
                    heard = True
                except Empty:
                    pass
        # not connected (a dead or silent kernel): installing the agent fails and says so

    async def async_disconnect(self) -> None:
        if self.kc is not None:
            await ensure_async(self.kc.stop_channels())  # type: ignore[func-returns-value]
            self.kc = None

    # -- one request: send, collect, bound, time out ----------------------------------
    def _begin(self, budget: float, grace: float) -> None:
        self.record, self.kept = ExecReply(), 0
        self.budget, self.grace = budget, grace
        if self.kc is not None:
            drain(self.kc.iopub_channel.socket)  # what the bridge's requests left there

    def _end(self) -> ExecReply:
        reply = self.record
        if reply.interrupted and reply.status != "dead":
            reply.status = "timeout"
        return reply

    async def async_run_node(self, position: int, budget: float) -> ExecReply:
        """Run the notebook's cell at `position` through nbclient's `async_execute_cell`."""
        if self.kc is None or not self.kernel.alive:
            return ExecReply(status="dead")
        self._begin(budget, CELL_GRACE)
        node = self.nb.cells[position]
        try:
            await self.async_execute_cell(node, position, store_history=True)
        except DeadKernelError:
            self.record.status = "dead"
        node.outputs = self.record.outputs
        return self._end()

    async def async_run_code(
        self, code: str, budget: float, grace: float = CELL_GRACE, *, store_history: bool = True
    ) -> ExecReply:
        """Run the grader's own code (the agent, a probe): no cell of the notebook, no hooks.

        Not `async_execute_cell`: it skips empty code, and the probe is empty code on purpose
        (IPython answers it without running any input transformer the notebook installed)."""
        if self.kc is None or not self.kernel.alive:
            return ExecReply(status="dead")
        self._begin(budget, grace)
        msg_id = await ensure_async(self.kc.execute(code, store_history=store_history, stop_on_error=False))
        scratch = NotebookNode(cell_type="code", source=code, metadata=NotebookNode(), outputs=[])
        outputs = asyncio.ensure_future(self._async_poll_output_msg(msg_id, scratch, -1))
        try:
            await self._async_await_reply(msg_id, outputs)
        except DeadKernelError:
            self.record.status = "dead"
        return self._end()

    async def _async_poll_for_reply(
        self,
        msg_id: str,
        cell: NotebookNode,
        timeout: float | None,
        task_poll_output_msg: asyncio.Future[Any],
        task_poll_kernel_alive: asyncio.Future[Any],
    ) -> dict[str, Any]:
        # nbclient's version waits for the reply with the (integer) cell timeout, and after an
        # interrupt waits a whole timeout again, with no end for a kernel that ignores it. The
        # grader's request has its own budget (`self.budget`, a float: what is left of the total)
        # and ends at the interrupt's grace; the iopub side is bounded by the same clock.
        task_poll_kernel_alive.cancel()
        return await self._async_await_reply(msg_id, task_poll_output_msg)

    async def _async_poll_kernel_alive(self) -> None:
        # the process is watched every POLL seconds by _async_await_reply (nbclient: every 1 s)
        return None

    async def _async_check_alive(self) -> None:
        if not self.handle.is_alive():
            raise DeadKernelError("Kernel died")

    async def _async_await_reply(self, msg_id: str, outputs: asyncio.Future[Any]) -> dict[str, Any]:
        """Until the request's reply and its idle status (the end of its outputs) have come.

        Interrupt once at the deadline; hard stop `grace` seconds later (the record says
        "timeout" and the reply is made up, as nbclient's `error_on_timeout` makes one up);
        DeadKernelError as soon as the process is gone."""
        limit = TimeLimit(time.monotonic() + self.budget, self.grace)
        reply: dict[str, Any] | None = None
        try:
            while True:
                if limit.expired(time.monotonic(), self.handle.interrupt_kernel):
                    self.record.interrupted, self.record.status = True, "timeout"
                    return {"parent_header": {"msg_id": msg_id}, "content": {"status": "timeout"}}
                self.record.interrupted = limit.interrupted
                await self._async_check_alive()
                if reply is None:
                    reply = await self._async_shell_reply(msg_id, POLL)
                elif outputs.done():
                    outputs.result()
                    return reply
                else:
                    await asyncio.wait([outputs], timeout=POLL)
        finally:
            outputs.cancel()

    async def _async_shell_reply(self, msg_id: str, timeout: float) -> dict[str, Any] | None:
        """The reply to `msg_id` if it comes within `timeout` (replies to earlier requests are dropped)."""
        assert self.kc is not None
        try:
            msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=timeout))
        except Empty:
            return None
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            return None
        content = content_of(msg)
        if msg.get("msg_type") == "kernel_info_reply":
            if "language_info" in content:
                self.nb.metadata["language_info"] = content["language_info"]
        else:
            take_reply(self.record, content, self.cap)
        return msg

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        # The record is what the grader reads, not a rendered page: clear_output, display
        # updates and widget messages are not applied, so everything a cell printed counts
        # against its budget and stays readable to the checks.
        kind = msg.get("msg_type")
        content = content_of(msg)
        if kind == "status":
            if content.get("execution_state") == "idle":
                raise CellExecutionComplete()
        elif kind in RECORDED:
            return self.output(cell.outputs, msg, None, cell_index)
        return None

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        # bounded as it streams: nothing past the cap is kept (see outputs.py)
        content = content_of(msg)
        self.kept = record_output(self.record, str(msg.get("msg_type")), content, self.cap, self.kept)
        return None
