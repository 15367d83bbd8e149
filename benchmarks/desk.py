"""The desk's speed on a large class: 1,000 students with 25 checks each, written through the real
gradebook code (Gradebook.record), 50 of them adjusted through grader.batch.adjustments; then a
real `grader serve` answers the assignment page, a student page and the API's student list,
each --n times (after one warm-up request); medians and the server's peak RSS are printed.

    .venv/bin/python benchmarks/desk.py                 # 1,000 x 25, 15 requests each
    .venv/bin/python benchmarks/desk.py --students 200 --n 5

Each page is also timed right after an adjustment through the API (the class read again, the page
made again: what a grader waits for after each save, or while a batch writes).

Targets (issue 28): each median at most 0.3 s, the server under 300 MB.
"""

from __future__ import annotations

from typing import Any

import argparse
import http.cookiejar
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "neural-net-basics"
EXERCISES = ("activation", "reshape_weights", "single_neuron", "two_layer_forward")


def make_result(i: int, checks: int) -> Any:  # grader.results.Result
    from grader.results import CheckResult, Result

    made = []
    for k in range(checks):
        failed = (i * 7 + k * 3) % 11 == 0
        made.append(
            CheckResult(
                name=f"test_check_{k:02d}",
                exercise=EXERCISES[k % len(EXERCISES)],
                points=2.0,
                score=0.0 if failed else 2.0,
                status="failed" if failed else "passed",
                message=f"check {k} of student {i}: values differ" if failed else "Passed.",
                diagnosis="the sign inside exp is flipped" if failed and k % 2 else "",
            )
        )
    score = sum(c.score for c in made)
    return Result(
        submission=f"s{i:04d}.ipynb",
        assignment=SLUG,
        checks=made,
        score=score,
        max_score=2.0 * checks,
        sha256=f"{i:064x}",
        exercises={e: e for e in EXERCISES},
        execution_time=1.0 + (i % 7) / 10,
    )


def write_class(out: Path, students: int, checks: int) -> float:
    from grader.batch.adjustments import Change, save
    from grader.batch.gradebook import Gradebook, default_url

    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    book = Gradebook(default_url(out))
    for i in range(students):
        result = make_result(i, checks)
        status = "passed" if result.score == result.max_score else "failed"
        book.record(
            assignment=SLUG,
            student=f"student{i:04d}",
            sha256=result.sha256,
            source=f"student{i:04d}.ipynb",
            status=status,
            result=result,
        )  # type: ignore[arg-type]
    for i in range(0, students, max(1, students // 50)):
        save(
            book,
            Change(
                SLUG,
                f"student{i:04d}",
                "check",
                "test_check_00",
                1.0,
                "partial credit",
                "bench",
                f"{i:064x}",
                None,
                True,
            ),
        )
    book.close()
    return time.monotonic() - started


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of `pid`, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def timed(opener: urllib.request.OpenerDirector, url: str, n: int) -> float:
    with opener.open(url, timeout=60) as reply:  # warm-up (and the facts cache)
        reply.read()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        with opener.open(url, timeout=60) as reply:
            reply.read()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def after_change(opener: urllib.request.OpenerDirector, url: str, base: str, token: str, n: int) -> float:
    """Median time of `url` right after an adjustment (the class is read again, the page made again)."""
    import json

    times = []
    for i in range(n):
        body = json.dumps({"check": "test_check_01", "points": i % 3, "reason": f"round {i}"}).encode()
        request = urllib.request.Request(
            f"{base}/api/assignments/{SLUG}/students/student{(i * 37) % 1000:04d}/adjustments",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=60).read()
        started = time.perf_counter()
        with opener.open(url, timeout=60) as reply:
            reply.read()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def serve(out: Path, port: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "serve", str(out), "--course", str(ROOT), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "?token=" in line:
            return proc, line.strip()
    raise SystemExit("grader serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--checks", type=int, default=25)
    parser.add_argument("--n", type=int, default=15)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grader-desk-bench-") as tmp:
        out = Path(tmp) / "out"
        seconds = write_class(out, args.students, args.checks)
        print(
            f"wrote {args.students} students x {args.checks} checks through Gradebook.record in {seconds:.1f} s "
            f"(load average {os.getloadavg()[0]:.2f})"
        )
        proc, url = serve(out, args.port)
        try:
            time.sleep(1.0)
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            opener.open(url, timeout=60).read()
            base = url.split("/?token=")[0]
            pages = {
                "assignment page": f"{base}/assignments/{SLUG}",
                "student page": f"{base}/assignments/{SLUG}/students/student0500",
                "API student list": f"{base}/api/assignments/{SLUG}/students",
            }
            for name, page in pages.items():
                median = timed(opener, page, args.n)
                changed = after_change(opener, page, base, url.split("?token=")[1], max(3, args.n // 3))
                print(
                    f"{name:<18} median {median:.3f} s over {args.n} requests  "
                    f"({'within' if median <= 0.3 else 'OVER'} the 0.3 s target); right after an adjustment "
                    f"{changed:.3f} s"
                )
            now, peak = rss_mb(proc.pid)
            print(
                f"server RSS {now:.0f} MB, peak {peak:.0f} MB ({'under' if peak < 300 else 'OVER'} the 300 MB target); "
                f"load average {os.getloadavg()[0]:.2f}"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
