"""Editing traces: recorded keystrokes into real files, replayed by ``bench latency``.

Format (``bench/data/traces/*.json``)::

    {"name": "...", "file": "textwrap.py", "description": "...",
     "events": [{"line": 418, "col": 0, "insert": "d", "delete": 0}, ...]}

``file`` names a source file under ``bench/data/files/`` (Python standard library
modules, PSF licence). Each event deletes ``delete`` characters before the 0-based
``line``/``col`` (columns in characters), inserts ``insert`` there, and the editor
asks for a completion at the position right after the inserted text — what an editor
does on every keystroke. An event with nothing to insert or delete is a jump. An event
may name another ``file``: a trace that types into several files in turn (the
multi-file trace under ``traces/multi-file/``, replayed by ``bench.multifile``).

``python -m codeshell_lsp.bench.traces`` rewrites the three shipped traces from the
scripted sessions below (deterministic: same files, same traces).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterator

from ..context import offset_at


@dataclass(frozen=True)
class Event:
    line: int
    col: int
    insert: str = ""
    delete: int = 0
    file: str = ""  # another file than the trace's own


def _event_json(e: Event) -> dict:
    d = asdict(e)
    if not e.file:
        del d["file"]
    return d


@dataclass
class Trace:
    name: str
    file: str
    description: str
    events: list[Event] = field(default_factory=list)

    def source(self, file: str = "") -> str:
        return data_dir().joinpath("files", file or self.file).read_text(encoding="utf-8")

    @property
    def files(self) -> list[str]:
        """The files the trace types into, in order of first use."""
        return list(dict.fromkeys([self.file] + [e.file or self.file for e in self.events]))

    def to_json(self) -> dict:
        return {**asdict(self), "events": [_event_json(e) for e in self.events]}


@dataclass(frozen=True)
class Step:
    """The document after one event, the edit that led there (for didChange) and the cursor."""

    text: str
    edit_start: tuple[int, int]  # (line, col) of the replaced range, in characters
    edit_end: tuple[int, int]
    new_text: str
    cursor: tuple[int, int]
    file: str = ""


def data_dir():  # type: ignore[no-untyped-def]
    return resources.files("codeshell_lsp.bench").joinpath("data")


def load_all(folder: str = "traces") -> list[Trace]:
    out = []
    for entry in sorted(data_dir().joinpath(folder).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            d = json.loads(entry.read_text(encoding="utf-8"))
            out.append(Trace(d["name"], d["file"], d["description"], [Event(**e) for e in d["events"]]))
    return out


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    line = before.count("\n")
    return line, offset - (before.rfind("\n") + 1)


def replay(trace: Trace) -> Iterator[Step]:
    """The document states a trace goes through (character columns)."""
    texts: dict[str, str] = {}
    for e in trace.events:
        file = e.file or trace.file
        text = texts[file] if file in texts else trace.source(file)
        end = offset_at(text, e.line, e.col, "utf-32")
        start = max(0, end - e.delete)
        start_pos, end_pos = _position(text, start), _position(text, end)
        text = texts[file] = text[:start] + e.insert + text[end:]
        yield Step(text, start_pos, end_pos, e.insert, _position(text, start + len(e.insert)), file)


def _typing(line: int, col: int, snippet: str) -> list[Event]:
    """One event per character typed from (line, col) on."""
    events = []
    for ch in snippet:
        events.append(Event(line, col, ch))
        if ch == "\n":
            line, col = line + 1, 0
        else:
            col += 1
    return events


def _line_of(source: str, needle: str) -> int:
    for i, text in enumerate(source.split("\n")):
        if text.startswith(needle):
            return i
    raise ValueError(f"{needle!r} not found")


def scripted() -> list[Trace]:
    """The three shipped sessions, written against the files they edit."""
    files = data_dir().joinpath("files")
    fractions = files.joinpath("fractions.py").read_text(encoding="utf-8")
    statistics = files.joinpath("statistics.py").read_text(encoding="utf-8")
    textwrap = files.joinpath("textwrap.py").read_text(encoding="utf-8")

    new_method = Trace(
        "type-new-function",
        "fractions.py",
        "Type a new method into Fraction, character by character, just before __abs__.",
        _typing(_line_of(fractions, "    def __abs__(a):"), 0, "    def is_integer(self):\n        return self._denominator == 1\n\n"),
    )
    mean_line = _line_of(statistics, "def mean(data):")
    body = next(i for i in range(mean_line, mean_line + 40) if statistics.split("\n")[i].startswith("    T, total, n = _sum("))
    edit_inside = Trace(
        "edit-inside-function",
        "statistics.py",
        "Inside mean(), type a guard before the sum, then fix a typo with backspaces.",
        _typing(body, 0, "    if not data:\n        raise StatisticsError('mean requires data')\n")
        + [Event(body + 1, 50, "", 5)]
        + _typing(body + 1, 45, "one data point'"),
    )
    lines = textwrap.split("\n")
    spots = [_line_of(textwrap, "def dedent(text):") + 1, _line_of(textwrap, "def indent(text, prefix, predicate=None):") + 1,
             _line_of(textwrap, "    def _split(self, text):") + 1, _line_of(textwrap, "def fill(text, width=70, **kwargs):") + 1]
    jumps: list[Event] = []
    for n, spot in enumerate(sorted(spots)):
        indent = len(lines[spot]) - len(lines[spot].lstrip())
        jumps.append(Event(spot, 0))  # jump there
        jumps += _typing(spot, 0, " " * indent + f"checked_{n} = True\n")
    jumping = Trace(
        "jump-between-places",
        "textwrap.py",
        "Jump to four functions of textwrap and type a statement at the top of each.",
        jumps,
    )
    return [new_method, edit_inside, jumping]


def scripted_multi_file(rounds: int = 4, per_visit: int = 6) -> Trace:
    """Type the three sessions' text into their three files in turn, ``per_visit``
    characters at a time: an editor switching between files every few keystrokes."""
    singles = scripted()
    queues = [[Event(e.line, e.col, e.insert, e.delete, t.file) for e in t.events if e.insert or e.delete] for t in singles]
    events: list[Event] = []
    for r in range(rounds):
        for q in queues:
            events += q[r * per_visit : (r + 1) * per_visit]
    return Trace(
        "three-files",
        singles[0].file,
        f"Type into fractions.py, statistics.py and textwrap.py in turn, {per_visit} keystrokes per visit, {rounds} rounds.",
        events,
    )


def main() -> None:
    out = Path(__file__).parent / "data" / "traces"
    out.mkdir(parents=True, exist_ok=True)
    for i, trace in enumerate(scripted(), 1):
        path = out / f"{i}-{trace.name}.json"
        path.write_text(json.dumps(trace.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"{path}: {len(trace.events)} events")
    multi = scripted_multi_file()
    path = out / "multi-file" / f"{multi.name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(multi.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"{path}: {len(multi.events)} events")


if __name__ == "__main__":
    main()
