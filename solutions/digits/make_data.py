"""Make the digits data set: `python solutions/digits/make_data.py` (torch only, seeded).

Small synthetic handwriting: each image is an 8x8 grey picture of a digit, drawn from a 5x7
bitmap font at a random place in the frame, with a random stroke strength, a few strokes
missing, and noise. Written as two files of the master folder:

    data/digits-train.pt   500 images (50 of each digit): public, the students train on it
    data/digits-test.pt    200 images (20 of each digit): hidden, the held-out split the hidden
                           checks grade on; never in a kernel, never in the students' folder

Each file is a dict {"images": uint8 (N, 8, 8), 0..255; "labels": int64 (N,)}, loadable with
torch.load(path, weights_only=True). The same seed makes the same numbers: rerunning this
script after no change writes the same tensors.
"""

from __future__ import annotations

from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
FONT = {  # 5 wide, 7 high
    0: [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    1: ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    2: [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    3: ["####.", "....#", "....#", ".###.", "....#", "....#", "####."],
    4: ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    5: ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    6: ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
    7: ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    8: [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    9: [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
}
SPLITS = {"digits-train.pt": (50, 2024), "digits-test.pt": (20, 4048)}  # per digit, seed


def glyph(digit: int) -> torch.Tensor:
    return torch.tensor([[1.0 if ch == "#" else 0.0 for ch in row] for row in FONT[digit]])


def draw(digit: int, gen: torch.Generator) -> torch.Tensor:
    """One 8x8 image of `digit`, values in [0, 1]."""
    image = torch.zeros(8, 8)
    top = int(torch.randint(0, 2, (1,), generator=gen))
    left = int(torch.randint(1, 3, (1,), generator=gen))
    strength = 0.55 + 0.45 * float(torch.rand(1, generator=gen))
    strokes = glyph(digit) * (torch.rand(7, 5, generator=gen) > 0.08).float()  # some strokes missing
    image[top : top + 7, left : left + 5] = strokes * strength
    image += 0.15 * torch.randn(8, 8, generator=gen)
    return image.clamp(0.0, 1.0)


def make_split(per_digit: int, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_digit)
    labels = labels[torch.randperm(len(labels), generator=gen)]
    images = torch.stack([draw(int(d), gen) for d in labels])
    return {"images": (images * 255).round().to(torch.uint8), "labels": labels.to(torch.int64)}


def main() -> None:
    for name, (per_digit, seed) in SPLITS.items():
        split = make_split(per_digit, seed)
        path = HERE / "data" / name
        old = torch.load(path, weights_only=True) if path.is_file() else None
        if old is None or any(not torch.equal(old[k], split[k]) for k in split):
            torch.save(split, path)
        print(f"{path.relative_to(HERE)}: {len(split['labels'])} images, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
