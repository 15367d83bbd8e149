"""Every pair of a class compared on their fingerprints: the share of each side's own code that
matches the other's, where, and the groups of three or more that share code.

A pair is compared on the whole of its own code (every exercise and the code outside them, in
any order: a function moved to another cell still matches) and on each exercise alone. Answers
of fewer than `min_tokens` tokens are left out of both (a one-line sigmoid is written the same
way by everyone); a fingerprint held by more than `common` of the class, and by more than
COMMON_FLOOR submissions, is what everyone writes and counts for nobody (MOSS's -m).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.similarity.settings import Similarity
from grader.similarity.fingerprint import Part
from grader.similarity.store import Prints
from grader.similarity.winnow import NOISE, coverage

COMMON_FLOOR = 10
WHOLE = ""  # the scope of a comparison of the whole own code


@dataclass(frozen=True)
class Region:
    exercise: str  # the part it lies in ("" for the code outside the exercises)
    start: int  # characters of that part's code
    end: int


@dataclass(frozen=True)
class Side:
    student: str
    share: float  # of this side's own code (in the scope) that matches the other side
    tokens: int  # the own code the share rests on
    regions: tuple[Region, ...]
    earlier: str = ""  # the earlier gradebook it came from ("" for this class)

    @property
    def label(self) -> str:
        return f"{self.student} ({self.earlier})" if self.earlier else self.student


@dataclass(frozen=True)
class Pair:
    exercise: str  # WHOLE, or the exercise compared alone
    a: Side
    b: Side

    @property
    def top(self) -> float:
        return max(self.a.share, self.b.share)

    def row(self) -> dict[str, Any]:
        """As `grader similarity --json` writes it."""
        return {
            "a": self.a.student,
            "b": self.b.student,
            "a_share": round(self.a.share, 4),
            "b_share": round(self.b.share, 4),
            "exercise": self.exercise or None,
            "a_tokens": self.a.tokens,
            "b_tokens": self.b.tokens,
            "b_earlier": self.b.earlier or None,
        }


@dataclass
class Findings:
    """What the comparison found, for the report section and --json."""

    config: Similarity
    students: int
    pairs: list[Pair] = field(default_factory=list)  # at or above the threshold, best first
    clusters: list[tuple[str, ...]] = field(default_factory=list)
    too_short: dict[str, list[str]] = field(default_factory=dict)  # exercise -> students left out of it
    no_code: list[str] = field(default_factory=list)  # nothing of their own beyond what was handed out
    code: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (earlier, student) -> part -> code
    earlier: int = 0  # submissions of earlier terms compared with

    def whole(self) -> list[Pair]:
        return [p for p in self.pairs if p.exercise == WHOLE]


@dataclass
class Doc:
    """One submission in one scope: its parts long enough to count, their hashes end to end."""

    index: int
    parts: list[Part]
    hashes: Any
    positions: Any  # normalised characters, parts laid end to end with a gap of NOISE
    part_of: Any
    length: int
    tokens: int
    covered: int = 0  # normalised characters its fingerprints cover: a share's denominator


def doc_of(index: int, parts: list[Part]) -> Doc:
    import numpy as np

    offsets, at = [], 0
    for p in parts:
        offsets.append(at)
        at += p.length + NOISE

    def cat(xs: list[Any]) -> Any:
        return np.concatenate(xs) if xs else np.zeros(0, np.int64)

    hashes, positions = cat([p.hashes for p in parts]), cat([p.positions + off for p, off in zip(parts, offsets)])
    return Doc(
        index,
        parts,
        hashes,
        positions,
        cat([np.full(len(p.hashes), i, np.int64) for i, p in enumerate(parts)]),
        sum(p.length for p in parts),
        sum(p.tokens for p in parts),
        coverage(positions),
    )


def shared_counts(docs: list[Doc], common: int) -> tuple[Any, Any, Any]:
    """(pair keys a * n + b with a < b; for each pair, how many times the hashes it shares occur
    in a, and in b), from an inverted index: hashes held by more than `common` docs are left out."""
    import numpy as np

    n = len(docs)
    none = np.zeros(0, np.int64)
    held = [np.unique(d.hashes, return_counts=True) for d in docs]
    ids = np.concatenate([np.full(len(h), i, np.int64) for i, (h, _) in enumerate(held)] or [none])
    hs = np.concatenate([h for h, _ in held] or [none])
    times = np.concatenate([c for _, c in held] or [none])
    order = np.argsort(hs, kind="stable")
    hs, ids, times = hs[order], ids[order], times[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(hs)) + 1]) if len(hs) else none
    sizes = np.diff(np.concatenate([starts, [len(hs)]])) if len(hs) else none
    keys, lo, hi = [], [], []
    for g in np.unique(sizes):
        if g < 2 or g > common:
            continue
        first = starts[sizes == g]
        i, j = np.triu_indices(int(g), 1)
        at_i, at_j = (first[:, None] + i[None, :]).ravel(), (first[:, None] + j[None, :]).ravel()
        a, b = ids[at_i], ids[at_j]  # ids ascend within a hash's group (stable sort): a < b
        keys.append(a * n + b)
        lo.append(times[at_i])
        hi.append(times[at_j])
    if not keys:
        return none, none, none
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    return (unique, np.bincount(inverse, weights=np.concatenate(lo)), np.bincount(inverse, weights=np.concatenate(hi)))


def side(doc: Doc, other: Doc, prints: Prints) -> Side:
    """The share of `doc` matched by `other`, and where."""
    import numpy as np

    hit = np.isin(doc.hashes, other.hashes)
    # of the code its fingerprints cover (a copy is 100%, though winnowing leaves a few characters
    # at the ends and around boilerplate unseen)
    share = coverage(doc.positions[hit]) / doc.covered if doc.covered else 0.0
    regions: list[Region] = []
    for i, part in enumerate(doc.parts):
        mine = hit[doc.part_of == i]
        regions += merged(part.exercise, part.starts[mine], part.ends[mine])
    return Side(prints.student, min(share, 1.0), doc.tokens, tuple(regions), prints.earlier)


def merged(exercise: str, starts: Any, ends: Any) -> list[Region]:
    import numpy as np

    out: list[Region] = []
    for s, e in sorted(zip(np.asarray(starts).tolist(), np.asarray(ends).tolist())):
        if out and s <= out[-1].end:
            if e > out[-1].end:
                out[-1] = Region(exercise, out[-1].start, e)
        else:
            out.append(Region(exercise, s, e))
    return out


def compare(current: list[Prints], config: Similarity, earlier: list[Prints] | None = None) -> Findings:
    """Every pair of `current`, and each of `current` with each of `earlier`: the pairs at or above
    the threshold, best first, per exercise and whole; the clusters; what was too short to count."""
    everyone = list(current) + list(earlier or [])
    found = Findings(config, len(current), earlier=len(everyone) - len(current))
    for p in everyone:
        found.code[(p.earlier, p.student)] = {part.exercise: part.code for part in p.parts}
    found.no_code = [p.student for p in current if sum(part.tokens for part in p.parts) == 0]
    scopes = [WHOLE] + sorted({part.exercise for p in everyone for part in p.parts} - {""})
    for scope in scopes:
        docs = []
        for index, p in enumerate(everyone):
            inside = [part for part in p.parts if scope == WHOLE or part.exercise == scope]
            if scope and any(part.tokens < config.min_tokens for part in inside) and not p.earlier:
                found.too_short.setdefault(scope, []).append(p.student)
            counted = [part for part in inside if part.tokens >= config.min_tokens and len(part.hashes)]
            if counted:
                docs.append(doc_of(index, counted))
        found.pairs += scope_pairs(scope, docs, everyone, len(current), config)
    found.pairs.sort(key=lambda p: (p.exercise != WHOLE, -p.top, -(p.a.tokens + p.b.tokens), p.a.label, p.b.label))
    found.clusters = clusters(found.whole())
    return found


def scope_pairs(scope: str, docs: list[Doc], everyone: list[Prints], n_current: int, config: Similarity) -> list[Pair]:
    """The pairs of one scope at or above the threshold."""
    import numpy as np

    if len(docs) < 2:
        return []
    holders = sum(1 for d in docs if d.index < n_current)
    keys, in_a, in_b = shared_counts(docs, max(COMMON_FLOOR, int(config.common * holders)))
    n = len(docs)
    a_idx, b_idx = keys // n, keys % n
    # a cheap bound first: each occurrence of a shared hash covers at most NOISE characters of a side
    covered = np.array([max(d.covered, 1) for d in docs])
    bound = np.maximum(in_a * NOISE / covered[a_idx], in_b * NOISE / covered[b_idx])
    pairs = []
    for a, b in zip(a_idx[bound >= config.threshold].tolist(), b_idx[bound >= config.threshold].tolist()):
        da, db = docs[a], docs[b]
        if da.index >= n_current and db.index >= n_current:
            continue  # two earlier submissions: not this class's business
        if da.index >= n_current:
            da, db = db, da  # this class's student first
        pa, pb = everyone[da.index], everyone[db.index]
        one, two = side(da, db, pa), side(db, da, pb)
        if max(one.share, two.share) >= config.threshold:
            pairs.append(Pair(scope, one, two))
    return pairs


def clusters(pairs: list[Pair]) -> list[tuple[str, ...]]:
    """Groups of three or more joined by pairs that share code (connected components)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[root(p.a.label)] = root(p.b.label)
    groups: dict[str, list[str]] = {}
    for member in list(parent):
        groups.setdefault(root(member), []).append(member)
    return sorted((tuple(sorted(g)) for g in groups.values() if len(g) >= 3), key=lambda g: (-len(g), g))
