"""Model names: what each named model is, whether it is installed, and where its file is.

A name is accepted wherever a model path is (``--model``, ``model.path``,
``$CODESHELL_LSP_MODEL``, the user config, ``info``): ``embedded`` is the default model
shipped in the package, ``gemma`` the real trained model assembled from PyPI packages
(``realmodel``). A later model is one more ``Entry`` here. ``codeshell-lsp models``
(list, install, path) is the command for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import realmodel
from .errors import ModelNotFoundError
from .model_file import embedded_model_path


@dataclass(frozen=True)
class Entry:
    name: str
    about: str
    licence: str
    fim: str  # what it does with the text after the cursor
    size: int  # bytes of the installed file (what `models list` shows when it is not installed)
    where: Callable[[], Path]  # where the file is, or would be once installed
    installed: Callable[[], Path | None]
    install: Callable[[bool], Path]  # (force) -> path; raises with the command that makes it installable
    install_hint: str


def _embedded_installed() -> Path | None:
    path = embedded_model_path()
    return path if path.is_file() else None


def _embedded_install(force: bool = False) -> Path:
    found = _embedded_installed()
    if found is None:
        raise ModelNotFoundError(f"the embedded model {embedded_model_path()} is missing: reinstall codeshell-lsp")
    return found


MODELS: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "embedded",
            "codeshell-mini, 8.3M parameters of the CodeShell architecture trained by this project (proves the path; rarely right)",
            "Apache-2.0",
            "yes (codeshell)",
            9_186_016,
            embedded_model_path,
            _embedded_installed,
            _embedded_install,
            "reinstall codeshell-lsp",
        ),
        Entry(
            realmodel.NAME,
            "Gemma-3-270M base, Q4_K_M: a small real model (from PyPI, no network at run time)",
            "Gemma Terms of Use",
            "no (prefix-only)",
            realmodel.SIZE,
            realmodel.path,
            realmodel.installed,
            realmodel.install,
            realmodel.INSTALL_HINT,
        ),
    )
}


def named_path(value: str, origin: str) -> Path | None:
    """The file a model name stands for (None: ``value`` is not a name, so a path).
    A named model that is not installed is an error saying how to install it."""
    entry = MODELS.get(value)
    if entry is None:
        return None
    found = entry.installed()
    if found is None:
        raise ModelNotFoundError(f"model {value!r} ({origin}) is not installed: {entry.install_hint}")
    return found


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def list_rows() -> list[tuple[str, ...]]:
    """One row per model: name, installed, size, FIM, licence, what it is."""
    rows = [("name", "installed", "size", "fill-in-the-middle", "licence", "what")]
    for e in MODELS.values():
        found = e.installed()
        size = found.stat().st_size if found else e.size
        rows.append((e.name, "yes" if found else "no", _size(size), e.fim, e.licence, e.about))
    return rows


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register `codeshell-lsp models list | install NAME [--default] | path NAME`."""
    models = sub.add_parser("models", help="named models: list them, install one, make it the default")
    actions = models.add_subparsers(dest="models", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="the named models: installed?, size, FIM support, licence")
    listing.set_defaults(run=run_command)
    inst = actions.add_parser(
        "install",
        parents=[common],
        help="install a named model (gemma: assemble it from its packages into the user cache) and print its path",
        description=f"gemma: assembles Gemma-3-270M (Q4_K_M, 253 MB, SHA-256 checked) from the packages the `gemma` "
        f"extra installs into {realmodel.models_dir()}. No network. --default also makes it the model a bare "
        f"codeshell-lsp uses (model.path in the user config).",
    )
    inst.add_argument("name", choices=list(MODELS), help="the model")
    inst.add_argument("--default", action="store_true", help="write model.path = NAME into the user config")
    inst.add_argument("--force", action="store_true", help="write the file again even if it is there")
    inst.set_defaults(run=run_command)
    where = actions.add_parser("path", parents=[common], help="print where the model's file is (exit 1 if it is not installed)")
    where.add_argument("name", choices=list(MODELS), help="the model")
    where.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    from . import user_config
    from .model_choice import resolve_model

    if args.models == "list":
        rows = list_rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
        try:
            path, origin = resolve_model()
            print(f"\na bare codeshell-lsp uses {path}, {origin}")
        except ModelNotFoundError as e:
            print(f"\na bare codeshell-lsp has no model: {e}")
        return 0
    entry = MODELS[args.name]  # argparse checked the name
    if args.models == "install":
        print(entry.install(args.force))
        if args.default:
            written = user_config.set_value("model.path", entry.name)
            print(f"model.path = {entry.name!r} written to {written}: a bare codeshell-lsp uses it now", file=sys.stderr)
        return 0
    found = entry.installed()
    if found is None:
        raise ModelNotFoundError(f"{entry.where()} is not there: {entry.install_hint}")
    print(found)
    return 0
