"""Regrades started from the desk: `grader batch --regrade --student ...` in a child process
(the batch engine, its local workers or the Dask scheduler the desk was given), its progress read
from the lines it prints. Adjustments live beside the verdicts, so a regrade keeps them."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError

PROGRESS = re.compile(r"^\[\s*(\d+)/(\d+)\]")


@dataclass
class Job:
    id: int
    slug: str
    students: list[str]
    by: str
    total: int
    done: int = 0
    state: str = "running"  # running, done, failed
    message: str = ""
    started: float = field(default_factory=time.time)

    @property
    def words(self) -> str:
        if self.state == "running":
            return f"Regrading: {self.done} of {self.total} graded"
        if self.state == "done":
            return f"Regrade finished: {self.done} of {self.total} graded. {self.message}".strip()
        return f"Regrade failed: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "assignment": self.slug,
            "students": len(self.students),
            "total": self.total,
            "done": self.done,
            "state": self.state,
            "words": self.words,
            "by": self.by,
        }


@dataclass(frozen=True)
class Plan:
    """What a regrade runs: the class folder, the assignment, where the batch writes."""

    submissions: Path
    assignment_dir: Path
    out: Path
    url: str
    scheduler: str | None = None
    workers: int | None = None
    extensions: Path | None = None  # grader serve --extensions, handed on to the batch


class Jobs:
    def __init__(self) -> None:
        self.jobs: dict[int, Job] = {}
        self.lock = threading.Lock()

    def latest(self, slug: str) -> Job | None:
        with self.lock:
            mine = [j for j in self.jobs.values() if j.slug == slug]
        return mine[-1] if mine else None

    def get(self, ident: int) -> Job | None:
        return self.jobs.get(ident)

    def start(self, plan: Plan, slug: str, students: list[str], by: str) -> Job:
        if not students:
            raise UsageError("no student to regrade")
        with self.lock:
            if any(j.state == "running" and j.slug == slug for j in self.jobs.values()):
                raise UsageError(f"a regrade of {slug} is running; wait for it to finish")
            job = Job(len(self.jobs) + 1, slug, students, by, total=len(students))
            self.jobs[job.id] = job
        threading.Thread(target=run, args=(job, plan), name=f"desk-regrade-{job.id}", daemon=True).start()
        return job


def command(plan: Plan, students: list[str]) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "grader.cli",
        "batch",
        str(plan.submissions),
        "--assignment",
        str(plan.assignment_dir),
        "--out",
        str(plan.out),
        "--db",
        plan.url,
        "--regrade",
    ]
    if plan.scheduler:
        argv += ["--scheduler", plan.scheduler]
    elif plan.workers:
        argv += ["--workers", str(plan.workers)]
    if plan.extensions:
        argv += ["--extensions", str(plan.extensions)]
    for student in students:
        argv += ["--student", student]
    return argv


def run(job: Job, plan: Plan) -> None:
    tail: list[str] = []
    try:
        proc = subprocess.Popen(
            command(plan, job.students), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            found = PROGRESS.match(line)
            if found:
                job.done, job.total = int(found.group(1)), int(found.group(2))
            tail = (tail + [line.rstrip()])[-5:]
        code = proc.wait()
    except OSError as exc:
        job.state, job.message = "failed", str(exc)
        return
    if code == 0:
        job.state = "done"
        job.message = next((t for t in tail if t.startswith("graded ")), "")
    else:
        job.state, job.message = "failed", " ".join(t for t in tail if "error" in t) or f"grader batch exited {code}"
