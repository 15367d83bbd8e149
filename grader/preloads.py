"""The modules each warm path imports ahead of time, named once (a test checks that each exists).

CHECK_MODULES: what running a submission's checks imports (a forkserver's pre-import while its
kernel boots, grader/sandbox/forkserver.py). WORKER_MODULES: a batch worker server's imports
(grader/batch/_warm.py), the check's among them. WARM_SERVER_MODULES: what a `grader check`
imports beyond the batch's (grader/warm/server.py). WORKER_PRELOAD: the module the batch's
forkserver imports once before it forks workers (grader/batch/workers.py). A name that is not
installed is skipped where it is imported (safetensors is optional); a grader module that does
not exist fails tests/package/test_preloads.py.
"""

from __future__ import annotations

CHECK_MODULES = (
    "torch",
    "pytest",
    "grader.checks.plugin",
    "grader.nb.proxy",
    "grader.nb.kernel",
    "grader.checks",
    "grader.feedback",
)
WORKER_MODULES = (
    "grader.batch.workers",
    "grader.batch.tasks",
    "grader.batch.run",
    "grader.grade",
    "grader.execute",
    "jupyter_client",
    "jupyter_client.blocking",
    "jupyter_client.connect",
    "nbformat",
    "grader.sandbox.forkserver",
    "grader.bridge.codec",
    "grader.nb.cells",
    "grader.batch.outputs",
    "safetensors.torch",
) + CHECK_MODULES
WARM_SERVER_MODULES = (
    "grader.cli.main",
    "grader.cli.check",
    "grader.warm.client",
    "grader.checking",
    "grader.bridge.door",
    "grader.integrations.github",
)
WORKER_PRELOAD = "grader.batch._warm"
OPTIONAL = frozenset({"safetensors.torch"})  # imported when installed (not a dependency)
