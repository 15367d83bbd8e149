"""Fixtures of the attack suite; the machinery is in attack_support.py."""

from __future__ import annotations

from typing import Iterator

import pytest

from attack_support import Attacks, Listener


@pytest.fixture(scope="session")
def attacks() -> Attacks:
    return Attacks()


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()
