"""The `complete` and `info` commands."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from . import user_config
from .context import cursor_at, line_count, split_lines
from .errors import BackendError, InputFileError, UsageError
from .languages import language_id_for_path
from .log import get_logger
from .model_choice import resolve_model
from .model_file import inspect
from .options import Settings, flags_tree

log = get_logger(__name__)


def parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL with 1-based LINE and COL (COL in characters)."""
    m = re.fullmatch(r"(.+):([^:]*):([^:]*)", location)
    if not m:
        raise UsageError(f"expected FILE:LINE:COL, got {location!r}")
    name, line, col = m.groups()
    if not (line.isdigit() and col.isdigit()):
        raise UsageError(f"LINE and COL must be positive numbers, got {line!r} and {col!r} in {location!r}")
    if int(line) < 1 or int(col) < 1:
        raise UsageError(f"LINE and COL are 1-based, got {line}:{col}")
    return Path(name), int(line), int(col)


def read_source(path: Path) -> str:
    if not path.exists():
        raise InputFileError(f"{path} does not exist")
    if path.is_dir():
        raise InputFileError(f"{path} is a directory, not a source file")
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise InputFileError(f"{path} is not a text file (it contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputFileError(f"{path} is not UTF-8 text (invalid byte at offset {e.start})") from None


def settings_from_flags(args: argparse.Namespace) -> Settings:
    """Settings from the command-line flags over the user config, validated exactly as
    the server validates settings; the user config's problems are warnings."""
    user = user_config.read()
    for p in user.problems:
        log.warning("%s", p)
    checked, problems = Settings.from_dict(flags_tree(args), user.settings())
    if problems:
        raise UsageError("; ".join(problems))
    return checked


def run_complete(args: argparse.Namespace) -> int:
    from .engine import Engine, Status

    path, line, col = parse_location(args.location)
    text = read_source(path)
    lines = split_lines(text)
    n_lines = line_count(text)
    if line > n_lines:
        raise UsageError(f"{path} has {n_lines} line(s); LINE {line} is out of range")
    body = lines[line - 1].rstrip("\r\n") if line <= len(lines) else ""
    if col > len(body) + 1:
        raise UsageError(f"line {line} of {path} has {len(body)} character(s); COL {col} is out of range (max {len(body) + 1})")
    settings = settings_from_flags(args)
    cursor = cursor_at(text, line - 1, col - 1, "utf-32")
    engine = Engine.open(args.model, settings)
    try:
        result = engine.complete_once(cursor.prefix, cursor.suffix, language=language_id_for_path(str(path)))
    finally:
        engine.close()
    if result.status is Status.ERROR:
        raise BackendError(result.error)
    if result.status is not Status.OK:
        raise BackendError(f"no completion ({result.status.value})")
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    elif result.text:
        print(result.text)
    else:
        why = f" (the model's text was dropped by: {', '.join(result.filtered)})" if result.filtered else ""
        print(f"no suggestion here{why}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    path, _ = resolve_model(args.model)
    info = inspect(path)
    if args.json:
        print(json.dumps(info.to_json(), ensure_ascii=False))
        return 0
    rows = [
        ("file", f"{info.path} ({info.file_size / 1e6:.1f} MB)"),
        ("name", info.name),
        ("architecture", info.arch),
        ("parameters", f"{info.n_params:,}"),
        ("quantization", info.quant),
        ("context length", str(info.context_length)),
        ("layers / embedding", f"{info.n_layers} / {info.n_embd}"),
        ("vocabulary", f"{info.n_vocab:,} tokens"),
        ("FIM template", f"{info.fim_template} ({info.fim_note})"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
