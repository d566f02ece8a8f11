"""CLI wiring for convert / quantize / generate / chat (parsers only; logic in sibling modules)."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register the pipeline subcommands on the main parser."""
