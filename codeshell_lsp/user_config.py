"""The user config file: the settings tree in TOML, under the editor's settings.

``$XDG_CONFIG_HOME/codeshell-lsp/config.toml`` (default ``~/.config``) holds the same
tree as the LSP settings (``[model] path = "gemma"``, ``[completion] maxTokens = 48``).
It ranks below the editor's settings and the command line, and its ``model.path``
below ``$CODESHELL_LSP_MODEL`` too (``model_choice``). Reading never raises: a file
that is not TOML, or a value that is not valid, is a problem naming the file and the
line, and the rest of the file still counts. ``config path | show | set`` is its
command; ``set`` edits the one line it changes, so comments and layout stay.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CodeshellError, UsageError
from .options import Settings, camel, describe, snake

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MODEL_KEY = ("model", "path")


class ConfigError(CodeshellError):
    """The user config file cannot be changed as asked."""


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "codeshell-lsp" / "config.toml"


Leaf = tuple[str, ...]  # a key path, each part normalised to the settings' camelCase


def _norm(part: str) -> str:
    return camel(snake(part))


def _leaves(tree: dict[str, Any], prefix: Leaf = ()) -> dict[Leaf, Any]:
    out: dict[Leaf, Any] = {}
    for key, value in tree.items():
        here = (*prefix, _norm(key))
        if isinstance(value, dict):  # an empty table sets nothing
            out.update(_leaves(value, here))
        else:
            out[here] = value
    return out


_BARE = r'[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\''
_KEY_LINE = re.compile(rf"^\s*((?:{_BARE})(?:\s*\.\s*(?:{_BARE}))*)\s*=")
_TABLE_LINE = re.compile(rf"^\s*\[\s*((?:{_BARE})(?:\s*\.\s*(?:{_BARE}))*)\s*\]\s*(?:#.*)?$")


def _parts(dotted: str) -> Leaf:
    return tuple(_norm(p.strip().strip("\"'")) for p in re.findall(_BARE, dotted))


def _key_lines(text: str) -> list[tuple[int, Leaf]]:
    """(1-based line, full key) of every ``key = value`` line; tables by their header."""
    out: list[tuple[int, Leaf]] = []
    table: Leaf = ()
    for n, line in enumerate(text.splitlines(), 1):
        if m := _TABLE_LINE.match(line):
            table = _parts(m.group(1))
        elif m := _KEY_LINE.match(line):
            out.append((n, table + _parts(m.group(1))))
    return out


def line_of(text: str, key: Leaf) -> int | None:
    """The line that sets ``key``, or the line of the inline table holding it."""
    best: tuple[int, int] | None = None  # (matched parts, line)
    for n, full in _key_lines(text):
        if full == key[: len(full)] and (best is None or len(full) > best[0]):
            best = (len(full), n)
    return best[1] if best else None


@dataclass
class UserConfig:
    path: Path
    text: str = ""
    tree: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # each names the file and, where known, the line
    broken: bool = False  # unreadable or not TOML: nothing in it counts

    def where(self, key: Leaf) -> str:
        n = line_of(self.text, key)
        return f"{self.path}, line {n}" if n else str(self.path)

    def valid_tree(self) -> dict[str, Any]:
        """The file's tree without the values it has problems with."""
        return _tree({k: v for k, v in _leaves(self.tree).items() if not _leaf_problems(k, v)})

    def settings(self) -> Settings:
        """The layer under the editor's settings: defaults with the file's valid values,
        except ``model.path`` (it ranks below $CODESHELL_LSP_MODEL: ``model_choice``)."""
        tree = self.valid_tree()
        tree.get("model", {}).pop("path", None)
        return Settings.from_dict(tree)[0]


def _tree(leaves: dict[Leaf, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in leaves.items():
        node = out
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = value
    return out


def _leaf_problems(key: Leaf, value: Any) -> list[str]:
    return Settings.from_dict(_tree({key: value}))[1]


def read(path: Path | None = None) -> UserConfig:
    """The user config (empty when there is none); never raises."""
    path = path or config_path()
    config = UserConfig(path)
    try:
        config.text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError) as e:
        config.problems.append(f"user config {path} cannot be read ({_why(e)}); using the defaults")
        config.broken = True
        return config
    try:
        config.tree = tomllib.loads(config.text)
    except tomllib.TOMLDecodeError as e:
        config.problems.append(f"user config {_toml_where(path, e)}; using the defaults")
        config.broken = True
        return config
    for key, value in _leaves(config.tree).items():
        for p in _leaf_problems(key, value):
            config.problems.append(f"user config {config.where(key)}: {p}")
    return config


def _why(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e)


def _toml_where(path: Path, e: Exception) -> str:
    """'FILE, line N: what is wrong' from tomllib's '... (at line N, column C)'."""
    message = str(e)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if not m:
        return f"{path}: not valid TOML: {message}"
    return f"{path}, line {m.group(1)}: not valid TOML: {message[: m.start()]} (column {m.group(2)})"


def model_choice(config: UserConfig | None = None) -> tuple[str, str] | None:
    """(value, where it is set) of ``model.path`` in the user config, if it sets one."""
    config = config or read()
    value = _leaves(config.valid_tree()).get(MODEL_KEY)
    if not isinstance(value, str) or not value:
        return None
    return value, f"chosen by the user config {config.where(MODEL_KEY)}"


# --- writing -------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_value(value: Any) -> str:
    """A settings value (bool, number, string, list of strings) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        chars = (_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in value)
        return '"' + "".join(chars) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(tree: dict[str, Any], notes: dict[Leaf, str] | None = None) -> str:
    """A two-level settings tree as TOML: one table per section (``notes``: a comment per key)."""
    notes = notes or {}
    blocks = []
    for section, values in tree.items():
        lines = [f"[{section}]"]
        for key, value in values.items():
            note = notes.get((section, key))
            lines.append(f"{key} = {toml_value(value)}" + (f"  # {note}" if note else ""))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def parse_value(key: str, raw: str) -> tuple[Leaf, Any]:
    """KEY (dotted, camelCase or snake_case) and VALUE as typed on the command line,
    checked as the server checks settings. VALUE is read as TOML (``32``, ``true``,
    ``["a", "b"]``), else taken as a string."""
    leaf = _parts(key)
    known = {tuple(k.split(".")) for k, _, _ in describe()}
    if leaf not in known:
        raise UsageError(f"unknown setting {key!r}: one of the keys in the README's settings table, e.g. model.path")
    candidates = [raw]
    try:
        candidates.insert(0, tomllib.loads(f"v = {raw}")["v"])
    except tomllib.TOMLDecodeError:
        pass
    problems = [_leaf_problems(leaf, value) for value in candidates]
    for value, found in zip(candidates, problems):
        if not found:
            return leaf, value
    raise UsageError(re.sub(r"; using the default .*$", "", problems[0][0]))


def set_value(key: str, raw: str, path: Path | None = None) -> Path:
    """Set one setting in the user config (created if missing); returns the file.
    Only the line of that key changes (or one is added): comments and layout stay."""
    leaf, value = parse_value(key, raw)
    path = path or config_path()
    config = read(path)
    if config.broken:
        raise ConfigError(f"{config.problems[0].removesuffix('; using the defaults')}: fix it first")
    text = _edit(config.text, leaf, toml_value(value))
    expected = {**_leaves(config.tree), leaf: value}
    try:
        ok = _leaves(tomllib.loads(text)) == expected
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        raise ConfigError(
            f"cannot change {'.'.join(leaf)} in {path} line by line (the file writes it, or its table, "
            f"in a form this command does not edit): edit the file by hand"
        )
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        raise ConfigError(f"cannot write the user config {path}: {_why(e)}") from None
    return path


def _edit(text: str, leaf: Leaf, value: str) -> str:
    """``text`` with ``leaf`` set to the TOML ``value``: its line replaced, else a line
    added at the end of its table, else the table added at the end."""
    lines = text.splitlines(keepends=True)
    for n, full in _key_lines(text):
        if full == leaf:
            old = lines[n - 1]
            spelled = _KEY_LINE.match(old).group(1)  # type: ignore[union-attr]
            indent = old[: len(old) - len(old.lstrip())]
            lines[n - 1] = f"{indent}{spelled} = {value}\n"
            return "".join(lines)
    section, name = ".".join(leaf[:-1]), leaf[-1]
    header = next((i for i, line in enumerate(lines) if (m := _TABLE_LINE.match(line)) and _parts(m.group(1)) == leaf[:-1]), None)
    if header is None:
        body = "".join(lines)
        gap = "" if not body.strip() else ("\n" if body.endswith("\n") else "\n\n")
        return f"{body}{gap}[{section}]\n{name} = {value}\n"
    end = next((i for i in range(header + 1, len(lines)) if _TABLE_LINE.match(lines[i]) or lines[i].lstrip().startswith("[")), len(lines))
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    if end > 0 and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines.insert(end, f"{name} = {value}\n")
    return "".join(lines)


# --- the command ---------------------------------------------------------------------------


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register `codeshell-lsp config path | show | set KEY VALUE`."""
    cfg = sub.add_parser("config", help="the user config file (TOML, the settings tree)")
    actions = cfg.add_subparsers(dest="config", metavar="ACTION", required=True)
    actions.add_parser("path", parents=[common], help="print where the user config file is (or would be)").set_defaults(run=run_command)
    actions.add_parser(
        "show", parents=[common], help="print every setting at the user level: the file's values over the defaults"
    ).set_defaults(run=run_command)
    setter = actions.add_parser(
        "set",
        parents=[common],
        help="set one setting in the user config (e.g. model.path gemma, completion.maxTokens 48)",
        description="VALUE is read as TOML (32, true, [\"a\"]), else as a string. Only that line of the file changes.",
    )
    setter.add_argument("key", metavar="KEY", help="dotted settings key, e.g. model.path")
    setter.add_argument("value", metavar="VALUE")
    setter.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    if args.config == "path":
        print(config_path())
        return 0
    if args.config == "set":
        leaf, value = parse_value(args.key, args.value)
        print(f"{'.'.join(leaf)} = {toml_value(value)} written to {set_value(args.key, args.value)}")
        return 0
    config = read()
    full = Settings.from_dict(config.valid_tree())[0].to_dict()
    notes = {k: f"set in the file (line {line_of(config.text, k)})" for k in _leaves(config.valid_tree())}
    state = "" if config.text or config.problems else " (not there: every value below is a default)"
    print(f"# {config.path}{state}\n{to_toml(full, notes)}", end="")
    if os.environ.get("CODESHELL_LSP_MODEL"):
        print(f"# $CODESHELL_LSP_MODEL={os.environ['CODESHELL_LSP_MODEL']} wins over model.path here")
    for p in config.problems:
        print(f"codeshell-lsp: {p}", file=sys.stderr)
    return 1 if config.problems else 0
