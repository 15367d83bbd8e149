"""Seeded inputs made on the CPU, so that every device grades the same numbers."""

from __future__ import annotations

from typing import Any


def generator(seed: int) -> Any:
    """A CPU generator; with seed s it draws what `torch.manual_seed(s)` then torch.randn... draws."""
    import torch

    return torch.Generator(device="cpu").manual_seed(seed)


def randn(*shape: int, seed: int | None = None, gen: Any = None, dtype: Any = None) -> Any:
    """torch.randn on the CPU from `gen`, or from a fresh generator seeded with `seed`."""
    import torch

    if gen is None:
        gen = generator(0 if seed is None else seed)
    return torch.randn(shape, generator=gen, dtype=dtype or torch.float32)


def seeded_draws(seed: int, *shapes: tuple[int, ...]) -> list[Any]:
    """Several tensors drawn in order after one seed, as a walkthrough draws them."""
    gen = generator(seed)
    return [randn(*shape, gen=gen) for shape in shapes]
