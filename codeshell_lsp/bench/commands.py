"""CLI wiring for `codeshell-lsp bench latency|quality`."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register the bench subcommand on the main parser."""
