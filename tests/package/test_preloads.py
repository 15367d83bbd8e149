"""The warm paths preload modules by name (grader/preloads.py): a name that no longer exists
(a module moved or renamed) would be skipped there in silence, so it fails here."""

from __future__ import annotations

import importlib.util

import pytest

from grader import preloads
from grader.batch import workers

NAMES = sorted(
    {
        *preloads.CHECK_MODULES,
        *preloads.WORKER_MODULES,
        *preloads.WARM_SERVER_MODULES,
        preloads.WORKER_PRELOAD,
        *workers.PRELOAD,
    }
)


@pytest.mark.parametrize("name", NAMES)
def test_each_preloaded_module_exists(name):
    if name in preloads.OPTIONAL:
        pytest.skip(f"{name} is optional: preloaded when installed")
    assert importlib.util.find_spec(name) is not None, f"{name} is preloaded but does not exist"
