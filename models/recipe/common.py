"""Shared helpers of the recipe's steps: config loading, work paths, progress lines."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

from codeshell_lsp.synthetic import CODESHELL_SPECIALS  # noqa: F401  (CodeShell's order)

HERE = Path(__file__).resolve().parent


def load_config(path: str | Path | None = None) -> dict:
    """The recipe config; ``work_dir`` is made absolute (relative to the config's folder)."""
    path = Path(path) if path else HERE / "config.toml"
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    cfg["work_dir"] = str((path.resolve().parent / cfg.get("work_dir", "work")).resolve())
    return cfg


def work_path(cfg: dict, *parts: str) -> Path:
    return Path(cfg["work_dir"], *parts)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
