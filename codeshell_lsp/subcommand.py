"""What every subcommand's parser uses: a run function imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
from typing import Callable


def lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    """``module.func`` (relative to the package), imported when the command runs: keeps
    ``-h`` and the server's start fast."""

    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module, __package__), func)(args)

    return run
