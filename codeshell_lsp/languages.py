"""What postprocessing needs to know about a language, from an LSP languageId or a file name.

Only facts the filters use: the name, the line-comment prefix, whether blocks are made
by indentation (Python) or by braces (C, JavaScript, Rust, …). Anything unknown gets the
generic entry, for which no rule depends on the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal


@dataclass(frozen=True)
class Language:
    name: str  # the LSP languageId, or "" when unknown
    comment: str = ""  # line-comment prefix ("#", "//", "--"); "" when none or unknown
    blocks: Literal["indentation", "braces", ""] = ""  # what makes a block; "" other or unknown


GENERIC = Language("")

_INDENTED = {"python": "#", "yaml": "#", "nim": "#", "coffeescript": "#", "haskell": "--", "fsharp": "//"}
_BRACES = {
    name: "//"
    for name in (
        "c", "cpp", "csharp", "java", "javascript", "javascriptreact", "typescript", "typescriptreact",
        "go", "rust", "kotlin", "swift", "scala", "dart", "php", "objective-c", "objective-cpp", "groovy", "zig",
    )
} | {"css": "", "less": "//", "scss": "//", "json": "", "jsonc": "//", "perl": "#", "awk": "#"}
_OTHER = {
    "shellscript": "#", "ruby": "#", "r": "#", "julia": "#", "elixir": "#", "toml": "#", "dockerfile": "#",
    "makefile": "#", "powershell": "#", "lua": "--", "sql": "--", "elm": "--", "erlang": "%", "tex": "%",
    "latex": "%", "clojure": ";", "lisp": ";", "scheme": ";", "vim": '"', "ocaml": "", "html": "", "xml": "",
    "markdown": "",
}

LANGUAGES: dict[str, Language] = {
    **{n: Language(n, c, "indentation") for n, c in _INDENTED.items()},
    **{n: Language(n, c, "braces") for n, c in _BRACES.items()},
    **{n: Language(n, c) for n, c in _OTHER.items()},
}

# languageIds editors use for the same language under another name
_ALIASES = {"py": "python", "js": "javascript", "ts": "typescript", "c++": "cpp", "sh": "shellscript", "bash": "shellscript",
            "zsh": "shellscript", "golang": "go", "yml": "yaml", "cs": "csharp", "rs": "rust", "rb": "ruby", "kt": "kotlin"}

_EXTENSIONS = {
    ".py": "python", ".pyi": "python", ".pyw": "python", ".yaml": "yaml", ".yml": "yaml", ".nim": "nim",
    ".coffee": "coffeescript", ".hs": "haskell", ".fs": "fsharp", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp",
    ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".cs": "csharp", ".java": "java", ".js": "javascript",
    ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript", ".mts": "typescript",
    ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".kt": "kotlin", ".kts": "kotlin", ".swift": "swift",
    ".scala": "scala", ".dart": "dart", ".php": "php", ".m": "objective-c", ".mm": "objective-cpp", ".groovy": "groovy",
    ".zig": "zig", ".css": "css", ".less": "less", ".scss": "scss", ".json": "json", ".pl": "perl", ".awk": "awk",
    ".sh": "shellscript", ".bash": "shellscript", ".zsh": "shellscript", ".rb": "ruby", ".r": "r", ".jl": "julia",
    ".ex": "elixir", ".exs": "elixir", ".toml": "toml", ".ps1": "powershell", ".lua": "lua", ".sql": "sql",
    ".elm": "elm", ".erl": "erlang", ".tex": "latex", ".clj": "clojure", ".lisp": "lisp", ".scm": "scheme",
    ".vim": "vim", ".ml": "ocaml", ".html": "html", ".xml": "xml", ".md": "markdown",
}


def language(language_id: str) -> Language:
    """The facts for an LSP languageId (case-insensitive); GENERIC when unknown or ""."""
    key = language_id.strip().lower()
    return LANGUAGES.get(_ALIASES.get(key, key), GENERIC)


def language_id_for_path(path: str) -> str:
    """The LSP languageId a file name implies ("" when its extension is not known)."""
    p = PurePath(path)
    if p.name in ("Makefile", "makefile", "GNUmakefile"):
        return "makefile"
    if p.name == "Dockerfile":
        return "dockerfile"
    return _EXTENSIONS.get(p.suffix.lower(), "")
