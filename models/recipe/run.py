"""The whole recipe in one command: corpus, tokenizer, training, export, GGUF, quantization.

    python models/recipe/run.py [--stop-at HH:MM] [--max-steps N] [--from STEP] [--install]

Steps whose output already exists are skipped, so a rerun picks up where the last one
stopped: an interrupted training resumes from its last checkpoint (``train/last.pt``); a
finished one (``train/summary.json``) is kept (``train.py --stop-at`` trains it further).
``--from STEP`` redoes that step and those after it (``--from train``: from scratch).
The GGUF steps use this project's own ``codeshell-lsp convert`` and ``codeshell-lsp
quantize``. ``--install`` copies the quantized model to where the package finds its
embedded default (``codeshell_lsp/data/``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import HERE, load_config, log, work_path

STEPS = ("corpus", "tokenizer", "train", "export", "gguf", "quantize")
MODEL_NAME = "codeshell-mini"
PACKAGE_DATA = HERE.parent.parent / "codeshell_lsp" / "data"


def outputs(cfg: dict) -> dict[str, Path]:
    return {
        "corpus": work_path(cfg, "corpus", "manifest.json"),
        "tokenizer": work_path(cfg, "tokenizer", "tokenizer.json"),
        "train": work_path(cfg, "train", "summary.json"),
        "export": work_path(cfg, "hf", "model.safetensors"),
        "gguf": work_path(cfg, f"{MODEL_NAME}.f16.gguf"),
        "quantize": work_path(cfg, f"{MODEL_NAME}.q8_0.gguf"),
    }


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "codeshell_lsp", *args], check=True)


def run(cfg: dict, start: str | None = None, stop_at: str | None = None, max_steps: int | None = None,
        last: str = STEPS[-1]) -> Path:
    import build_corpus
    import export
    import train
    import train_tokenizer

    out = outputs(cfg)
    redo = set(STEPS[STEPS.index(start):]) if start else set()
    for i, step in enumerate(STEPS[: STEPS.index(last) + 1], 1):
        if step not in redo and out[step].exists():
            log(f"[{i}/{len(STEPS)}] {step}: done already ({out[step]})")
            continue
        log(f"[{i}/{len(STEPS)}] {step} ...")
        t0 = time.time()
        if step == "corpus":
            build_corpus.build(cfg["corpus"], work_path(cfg, "corpus"))
        elif step == "tokenizer":
            train_tokenizer.train(cfg["tokenizer"], work_path(cfg, "corpus", "train.jsonl"), work_path(cfg, "tokenizer"))
        elif step == "train":
            if step in redo and start == "train":
                shutil.rmtree(work_path(cfg, "train"), ignore_errors=True)
            train.train(cfg, stop_at=stop_at, max_steps=max_steps)
        elif step == "export":
            export.export(cfg, work_path(cfg, "hf"), name=MODEL_NAME)
        elif step == "gguf":
            cli("convert", str(work_path(cfg, "hf")), str(out["gguf"]), "--outtype", "f16", "--no-progress")
        elif step == "quantize":
            cli("quantize", str(out["gguf"]), str(out["quantize"]), "Q8_0")
        log(f"[{i}/{len(STEPS)}] {step}: {time.time() - t0:.0f} s")
    return out[last]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="recipe config (default: config.toml beside this script)")
    ap.add_argument("--from", dest="start", choices=STEPS, help="redo this step and the ones after it")
    ap.add_argument("--to", dest="last", choices=STEPS, default=STEPS[-1], help="stop after this step")
    ap.add_argument("--stop-at", metavar="HH:MM", help="end training at this local time (and decay the LR to it)")
    ap.add_argument("--max-steps", type=int, help="override the config's training steps")
    ap.add_argument("--install", action="store_true", help=f"copy the Q8_0 model to {PACKAGE_DATA}/")
    args = ap.parse_args(argv)
    if args.install and args.last != "quantize":
        ap.error("--install needs the quantize step (drop --to)")
    cfg = load_config(args.config)
    final = run(cfg, args.start, args.stop_at, args.max_steps, args.last)
    if args.install:
        PACKAGE_DATA.mkdir(exist_ok=True)
        shutil.copyfile(final, PACKAGE_DATA / final.name)
        log(f"installed {PACKAGE_DATA / final.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
