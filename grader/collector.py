"""The garbage collector while a grader process starts: paused for its imports, then frozen.

Each full collection walks every object built so far, and an import as large as torch's sets
off dozens of them as its heap grows: a third of `import torch` on the 2-core machine this was
measured on (1.4 s, 0.95 s with the collector paused). A process pauses it while it loads
torch, pytest and the grader, and resumes it after, freezing what was loaded: later
collections neither walk those objects nor, in a forked child (a batch worker, a warm check),
copy their pages. Pauses nest, from any thread; the collector runs again when the last one
ends, if it ran before the first.

Nothing here is for a student's kernel: the zygote, which never imports the grader, pauses its
own collector the same way for its imports, and every kernel it forks collects as any Python.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["paused"]

_lock = threading.Lock()
_holds = 0
_was_enabled = True


@contextmanager
def paused() -> Iterator[None]:
    """No collection while the block runs (imports); at the end of the outermost pause, what the
    process holds is frozen and the collector runs again (if it did before)."""
    global _holds, _was_enabled
    with _lock:
        if _holds == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holds += 1
    try:
        yield
    finally:
        with _lock:
            _holds -= 1
            if _holds == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()
