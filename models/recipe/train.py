"""Step 3: train the CodeShell-architecture model with FIM, resumably.

Checkpoints go to ``train/last.pt`` every ``checkpoint_minutes`` (model, optimizer, step,
tokens seen, training time) and ``train/best.pt`` whenever the validation loss improves;
a rerun continues from ``last.pt``. The learning rate follows warmup then a cosine to
``min_lr`` over whichever comes first: ``max_steps`` or the wall-clock budget
(``--stop-at HH:MM`` or ``stop_at`` in the config), so a time-boxed run still ends with a
decayed learning rate. Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

from common import load_config, log, work_path
from data import SequenceSampler, SpecialIds


def read_docs(path: Path) -> tuple[list[str], list[str]]:
    """Texts and their sources, in corpus order."""
    texts, sources = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            texts.append(rec["text"])
            sources.append(rec["source"])
    return texts, sources


def deadline_from(stop_at: str | None) -> float | None:
    """Epoch seconds of the next HH:MM (local clock), or None."""
    if not stop_at:
        return None
    now = dt.datetime.now()
    hh, mm = map(int, stop_at.split(":"))
    t = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if t <= now - dt.timedelta(hours=12):
        t += dt.timedelta(days=1)
    return t.timestamp()


def lr_at(progress: float, step: int, cfg: dict) -> float:
    if step < cfg["warmup_steps"]:
        return cfg["lr"] * (step + 1) / cfg["warmup_steps"]
    p = min(max(progress, 0.0), 1.0)
    return cfg["min_lr"] + 0.5 * (cfg["lr"] - cfg["min_lr"]) * (1 + math.cos(math.pi * p))


def atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".part")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(cfg: dict, stop_at: str | None = None, max_steps: int | None = None) -> dict:
    """Run (or continue) training; returns a summary of the run so far."""
    import torch
    from tokenizers import Tokenizer

    from model import CodeShellConfig, CodeShellForCausalLM

    tcfg = dict(cfg["train"])
    if max_steps is not None:
        tcfg["max_steps"] = max_steps
    torch.set_num_threads(tcfg["threads"])
    torch.manual_seed(tcfg["seed"])
    out_dir = work_path(cfg, "train")
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(str(work_path(cfg, "tokenizer", "tokenizer.json")))
    ids = SpecialIds.from_tokenizer(tok)

    def encode(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids if text else []

    train_docs, train_sources = read_docs(work_path(cfg, "corpus", "train.jsonl"))
    valid_docs, _ = read_docs(work_path(cfg, "corpus", "valid.jsonl"))
    valid_docs = valid_docs or train_docs[:50]
    source_weights = tcfg.get("source_weights", {})
    train_weights = [source_weights.get(src, 1.0) for src in train_sources]
    sample = train_docs[:: max(1, len(train_docs) // 200)]
    cpt = sum(map(len, sample)) / max(1, sum(len(encode(d)) for d in sample))

    device = torch.device(tcfg.get("device") or "cpu")
    # bf16 autocast on GPUs; CPUs here lack fast bf16, so they stay in f32.
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    mcfg = CodeShellConfig(vocab_size=tok.get_vocab_size(), **cfg["model"])
    model = CodeShellForCausalLM(mcfg).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tcfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tcfg["lr"], betas=(0.9, 0.95),
    )
    state = {"step": 0, "tokens": 0, "train_seconds": 0.0, "best_val": float("inf"), "history": []}
    last = out_dir / "last.pt"
    if last.exists():
        ck = torch.load(last, weights_only=False, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        log(f"train: resumed from {last} at step {state['step']} ({state['tokens']:,} tokens)")
    log(f"train: {model.n_params():,} parameters, {len(train_docs)} train docs, {cpt:.2f} chars/token")

    seq_len, bsz = tcfg["seq_len"], tcfg["batch_size"]
    # Data order is seeded per run segment, so a resumed run does not replay the same batches.
    sampler = SequenceSampler(train_docs, encode, ids, tcfg, seed=tcfg["seed"] + state["step"], chars_per_token=cpt,
                              weights=train_weights)
    eval_sampler = SequenceSampler(valid_docs, encode, ids, tcfg, seed=12345, chars_per_token=cpt)
    eval_set = [
        torch.tensor([eval_sampler.sequence(seq_len) for _ in range(bsz)], device=device)
        for _ in range(tcfg["eval_batches"])
    ]

    def evaluate() -> float:
        model.eval()
        with torch.no_grad(), autocast:
            losses = [model(b[:, :-1], b[:, 1:])[1].item() for b in eval_set]
        model.train()
        return sum(losses) / len(losses)

    def save_last() -> None:
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state,
                     "model_config": mcfg.to_dict()}, last)

    start = time.time()
    deadline = deadline_from(stop_at if stop_at is not None else tcfg.get("stop_at"))
    budget = state["train_seconds"] + (deadline - start) if deadline else None
    seconds_at_start = state["train_seconds"]
    last_ckpt = time.time()
    ema = None
    model.train()
    while state["step"] < tcfg["max_steps"]:
        elapsed = seconds_at_start + (time.time() - start)
        if deadline and time.time() >= deadline:
            log("train: wall-clock budget reached")
            break
        progress = state["step"] / tcfg["max_steps"]
        if budget:
            progress = max(progress, elapsed / budget)
        lr = lr_at(progress, state["step"], tcfg)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = torch.tensor([sampler.sequence(seq_len) for _ in range(bsz)], device=device)
        with autocast:
            _, loss = model(batch[:, :-1], batch[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
        opt.step()
        state["step"] += 1
        state["tokens"] += bsz * seq_len
        state["train_seconds"] = seconds_at_start + (time.time() - start)
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if state["step"] % 10 == 0 or state["step"] == 1:
            rate = state["tokens"] / max(state["train_seconds"], 1e-9)
            log(f"train: step {state['step']} loss {ema:.3f} lr {lr:.2e} tokens {state['tokens']:,} "
                f"({rate:.0f} tok/s) progress {100 * progress:.1f}%")
        if state["step"] % tcfg["eval_every"] == 0:
            val = evaluate()
            state["history"].append({"step": state["step"], "tokens": state["tokens"], "train_loss": ema, "val_loss": val})
            log(f"train: step {state['step']} validation loss {val:.3f}")
            if val < state["best_val"]:
                state["best_val"] = val
                atomic_save({"model": model.state_dict(), "state": dict(state), "model_config": mcfg.to_dict()},
                            out_dir / "best.pt")
        if time.time() - last_ckpt >= tcfg["checkpoint_minutes"] * 60:
            save_last()
            last_ckpt = time.time()
            log(f"train: checkpoint at step {state['step']}")
    val = evaluate()
    state["history"].append({"step": state["step"], "tokens": state["tokens"], "train_loss": ema, "val_loss": val})
    log(f"train: done at step {state['step']}, validation loss {val:.3f}")
    if val < state["best_val"]:
        state["best_val"] = val
        atomic_save({"model": model.state_dict(), "state": dict(state), "model_config": mcfg.to_dict()},
                    out_dir / "best.pt")
    save_last()
    summary = {k: state[k] for k in ("step", "tokens", "train_seconds", "best_val")}
    summary.update(final_val=val, n_params=model.n_params(), threads=tcfg["threads"], device=str(device))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="recipe config (default: config.toml beside this script)")
    ap.add_argument("--stop-at", metavar="HH:MM", help="stop at this local time (overrides the config's stop_at)")
    ap.add_argument("--max-steps", type=int, help="override the config's max_steps")
    args = ap.parse_args(argv)
    train(load_config(args.config), stop_at=args.stop_at, max_steps=args.max_steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
