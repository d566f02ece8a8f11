"""The cross-file set of ``bench quality``: holes that need a name another module defines.

The sources are real multi-module projects (``data/crossfile/``, copied from their PyPI
wheels; ``SOURCES.md`` records each licence). A hole is a reference ``module.name`` in
one file, where ``module`` is a sibling module the file imports, ``name`` is defined at
the top level of that module and the file names it nowhere else — so only the other
module can tell it. Each such reference makes two holes:

- member: the cursor right after ``module.``, the way a user types it; scored on
  whether the completion's first identifier is ``name``;
- line: the whole line masked (the prefix ends with the newline before it, as in
  HumanEval single-line); scored by exact match.

Each hole is completed four times through the engine: with the file alone; with the
project's other modules open (``extra_context.Sources`` fed as the server's didOpen
handler feeds it, chunks chosen for the cursor as for an editor's request); with only
the file open and the project's folder as the workspace (its modules on disk, found by
the ``workspace_index``); and with both.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..context import Cursor
from ..errors import BackendError
from ..extra_context import Chunk, Extra, Sources
from ..options import Settings
from ..workspace_index import WorkspaceIndex

DATA = Path(__file__).parent / "data" / "crossfile"
KINDS = ("member", "line")
MODES = ("alone", "other-files", "workspace", "both")
PER_FILE = 4  # references per file at most, so that a few big modules do not dominate
MAX_TOKENS = {"member": 8, "line": 48}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Hole:
    project: str
    path: str  # the file, relative to the project folder (``jinja2/compiler.py``)
    kind: str  # member | line
    prefix: str
    suffix: str
    target: str  # member: the name; line: the masked line
    module: str  # the file that defines the name


def definitions(text: str) -> set[str]:
    """Names defined at the top level of a Python module."""
    names: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def module_aliases(text: str, package: str, modules: Sequence[str]) -> dict[str, str]:
    """alias -> sibling module for ``from . import m``, ``from package import m`` and
    ``import package.m as alias``."""
    out: dict[str, str] = {}
    for m in re.finditer(rf"^from (?:\.|{package}) import ([\w, ()\n]+?)(?:\n\S|\Z)", text, re.M):
        for part in re.split(r"[,()\s]+", m.group(1)):
            if part in modules:
                out[part] = part
    for m in re.finditer(rf"^import {package}\.(\w+) as (\w+)", text, re.M):
        if m.group(1) in modules:
            out[m.group(2)] = m.group(1)
    return out


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def holes(data: Path = DATA) -> list[Hole]:
    """Every hole of the set, in a fixed order (project, file, position)."""
    out: list[Hole] = []
    for project_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        for package_dir in sorted(p for p in project_dir.iterdir() if p.is_dir()):
            files = {p.stem: p for p in sorted(package_dir.glob("*.py"))}
            defs = {stem: definitions(p.read_text(encoding="utf-8")) for stem, p in files.items()}
            for stem, path in files.items():
                out += _file_holes(project_dir, path, package_dir.name, files, defs)
    return out


def _file_holes(project_dir: Path, path: Path, package: str, files: dict[str, Path], defs: dict[str, set[str]]) -> list[Hole]:
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(project_dir).as_posix()
    found: list[Hole] = []
    refs = 0
    for alias, module in sorted(module_aliases(text, package, list(files)).items()):
        for m in re.finditer(rf"\b{re.escape(alias)}\.(\w+)", text):
            name = m.group(1)
            if refs == PER_FILE:
                break
            if name not in defs[module] or len(re.findall(rf"\b{re.escape(name)}\b", text)) != 1:
                continue
            refs += 1
            where = files[module].relative_to(project_dir).as_posix()
            found.append(Hole(project_dir.name, rel, "member", text[: m.start(1)], text[m.end(1) :], name, where))
            start, end = _line_bounds(text, m.start())
            line = text[start:end]
            if line.strip() and not line.lstrip().startswith(("import ", "from ", "#")) and len(line) <= 120:
                found.append(Hole(project_dir.name, rel, "line", text[:start], text[end:], line, where))
    return found


def first_identifier(text: str) -> str:
    m = _IDENT.match(text)
    return m.group(0) if m else ""


def correct(hole: Hole, completion: str) -> bool:
    if hole.kind == "member":
        return first_identifier(completion) == hole.target
    return completion.strip() == hole.target.strip()


def index_for(project: str, data: Path = DATA) -> WorkspaceIndex:
    """The workspace index of a project's folder, its first walk done."""
    index = WorkspaceIndex([str(data / project)], Settings().context.workspace_files)
    index.start()
    index.wait_idle()
    return index


def extra_for(
    hole: Hole, settings: Settings, data: Path = DATA, mode: str = "other-files", index: WorkspaceIndex | None = None
) -> Extra | None:
    """The chunks a server would choose for ``hole`` with the project's other modules
    open (other-files), with ``index`` as its workspace index (workspace), or both."""
    sources = Sources()
    root = data / hole.project
    sources.roots = [root.as_uri()]
    if mode in ("workspace", "both"):
        sources.attach(index)
    uris = []
    if mode in ("other-files", "both"):
        for path in sorted(root.glob("*/*.py")):
            if path.relative_to(root).as_posix() != hole.path:
                uris.append(path.as_uri())
                sources.open(uris[-1], "python", path.read_text(encoding="utf-8"))
    uri = (root / hole.path).as_uri()
    sources.open(uri, "python", hole.prefix + hole.suffix)
    if sources.workspace is not None:
        index.wait_idle()  # the open documents parsed, as a server has them a moment after didOpen
    chunks = sources.select(uri, Cursor(hole.prefix, hole.suffix))
    if sources.workspace is not None:  # the next hole finds the index as it was
        for opened in uris + [uri]:
            sources.close(opened)
        index.wait_idle()
    x = settings.context
    return Extra(chunks, x.extra_tokens, x.max_chunks, hole.path, "python") if chunks else None


@dataclass
class Score:
    tasks: int = 0
    correct: int = 0
    empty: int = 0
    extra_tokens: int = 0  # prompt tokens beyond the file-alone prompt, summed
    seconds: float = 0.0
    examples: list[dict[str, str]] = field(default_factory=list)
    holes: list[dict[str, Any]] | None = None  # every hole's result, when asked for

    def add(self, hole: Hole, text: str, in_prompt: Sequence[Chunk]) -> None:
        ok = correct(hole, text)
        self.tasks += 1
        self.correct += ok
        self.empty += not text
        if not ok and len(self.examples) < 3:
            self.examples.append({"file": hole.path, "expected": hole.target, "got": text})
        if self.holes is not None:
            self.holes.append({
                "file": hole.path, "line": hole.prefix.count("\n") + 1, "expected": hole.target, "got": text, "correct": ok,
                "chunks": [f"{c.path}:{c.order[1] + 1}:{c.kind}" for c in in_prompt],
            })

    def to_json(self) -> dict[str, Any]:
        n = max(self.tasks, 1)
        return {
            "tasks": self.tasks, "correct": self.correct, "rate": round(self.correct / n, 4), "empty": self.empty,
            "ms_per_task": round(1000 * self.seconds / n, 1), "examples": self.examples,
        } | ({"holes": self.holes} if self.holes is not None else {})


def settings_for(base: Settings, kind: str) -> Settings:
    return base.replace(
        completion=dataclasses.replace(base.completion, multiline="never", max_tokens=MAX_TOKENS[kind], temperature=0.0),
        # persist off: no KV saved by an earlier run, so a run does not depend on the last one.
        cache=dataclasses.replace(base.cache, completion_cache_size=0, speculative=False, persist=False),
    )


def run(
    model: str | Path | None,
    base: Settings,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    data: Path = DATA,
    modes: Sequence[str] = MODES,
    kinds: Sequence[str] = KINDS,
    per_hole: bool = False,
) -> dict[str, Any]:
    """Scores per kind and mode: {kind: {mode: Score.to_json()}} plus the model's name;
    ``per_hole``: each score lists every hole with its completion and the chunks its
    prompt held (``path:line:kind``, line 0 for an outline)."""
    from ..engine import Engine
    from ..prompt import select

    every = holes(data)
    report: dict[str, Any] = {"model": "", "template": "", "sets": {}}
    t0 = time.perf_counter()
    indexes = {project: index_for(project, data) for project in sorted({h.project for h in every})}
    report["index"] = {"files": sum(len(i) for i in indexes.values()), "seconds": round(time.perf_counter() - t0, 2)}
    engine = Engine.open(model, settings_for(base, "member"))
    try:
        report["model"], report["template"] = engine.backend.model_name, engine.backend.template_name
        for kind in kinds:
            chosen = _spread([h for h in every if h.kind == kind], limit)
            s = settings_for(base, kind)
            for mode in modes:
                score = Score(holes=[] if per_hole else None)
                t0 = time.perf_counter()
                for i, hole in enumerate(chosen, 1):
                    extra = extra_for(hole, s, data, mode, indexes[hole.project]) if mode != "alone" else None
                    result = engine.complete_once(hole.prefix, hole.suffix, s, "python", extra)
                    if result.status == "error":
                        raise BackendError(f"{hole.path}: {result.error}")
                    in_prompt = select(Cursor(hole.prefix, hole.suffix), s.completion, engine.backend, extra).chunks if per_hole else ()
                    score.add(hole, result.text, in_prompt)
                    if progress:
                        progress(f"cross-file {kind} {mode}", i, len(chosen))
                score.seconds = time.perf_counter() - t0
                report["sets"].setdefault(kind, {})[mode] = score.to_json()
    finally:
        engine.close()
        for index in indexes.values():
            index.close()
    return report


def _spread(items: list[Hole], limit: int | None) -> list[Hole]:
    """At most ``limit`` items, evenly spread over the list."""
    if limit is None or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def format_report(report: dict[str, Any]) -> str:
    lines = [f"cross-file holes, model {report.get('model', '?')} (template {report.get('template', '?')})"]
    if "index" in report:
        lines.append(f"workspace index: {report['index']['files']} files in {report['index']['seconds']} s")
    lines.append(f"{'kind':<8} {'mode':<12} {'tasks':>6} {'correct':>8} {'rate':>7} {'ms/task':>8}")
    for kind, modes in report["sets"].items():
        for mode, s in modes.items():
            lines.append(
                f"{kind:<8} {mode:<12} {s['tasks']:>6} {s['correct']:>8} {100 * s['rate']:>6.1f}% {s['ms_per_task']:>8.0f}"
            )
    return "\n".join(lines)
