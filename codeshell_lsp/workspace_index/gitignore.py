"""Which paths a ``.gitignore`` leaves out: the subset of gitignore(5) a workspace walk needs.

Supported: comments and blank lines, ``!`` negation (the last matching rule wins), a
trailing ``/`` (directories only), a ``/`` at the start or in the middle (anchored to the
``.gitignore``'s folder, else the pattern matches a name at any depth), ``*``, ``?``,
``[...]`` classes, and ``**`` (``**/x``, ``x/**``, ``a/**/b``), ``\\`` escapes. Rules of a
deeper ``.gitignore`` come after (and so win over) those of its parents. Not supported:
``.git/info/exclude`` and the global excludes file, and git's rule that a file inside an
ignored folder cannot be re-included (a walk never enters an ignored folder anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    base: str  # the folder of the .gitignore, relative to the walk's root ("" for the root), no trailing /
    regex: re.Pattern[str]  # matches a path relative to ``base``
    negated: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob (already stripped of ``!``, trailing ``/`` and a leading ``/``) as a regex body."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*" and pattern.startswith("**", i):
            before_ok = i == 0 or pattern[i - 1] == "/"
            after = pattern[i + 2 : i + 3]
            if before_ok and after == "/":  # "**/": zero or more folders
                out.append("(?:.*/)?")
                i += 3
                continue
            if before_ok and i + 2 == n:  # trailing "/**": everything inside
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")  # "**" elsewhere is a plain "*"
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse(text: str, base: str = "") -> list[Rule]:
    """The rules of a ``.gitignore`` found in folder ``base`` (relative to the walk's root)."""
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip("\n\r")
        if not line.strip() or line.startswith("#"):
            continue
        if not line.endswith("\\ "):
            line = line.rstrip(" ")
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line  # a slash at the start or in the middle
        body = _translate(line.lstrip("/"))
        regex = re.compile(("" if anchored else "(?:.*/)?") + body + r"\Z", re.S)
        rules.append(Rule(base, regex, negated, dir_only))
    return rules


def ignored(rules: list[Rule], path: str, is_dir: bool) -> bool:
    """Whether ``path`` (relative to the walk's root, ``/``-separated) is left out by
    ``rules`` (parents' rules first): the last rule that matches decides."""
    result = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        if rule.base:
            if not path.startswith(rule.base + "/"):
                continue
            rel = path[len(rule.base) + 1 :]
        else:
            rel = path
        if rule.regex.match(rel):
            result = not rule.negated
    return result
