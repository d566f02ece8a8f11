"""Step 4: export a training checkpoint as a Hugging Face CodeShell checkpoint directory.

Writes ``config.json`` (model_type ``codeshell`` with CodeShell's config keys),
``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json``,
``generation_config.json`` and ``model.safetensors`` (f32, HF names, ``lm_head`` stored
even when tied in training, as llama.cpp needs ``output.weight``), plus
``training.json`` with the run's numbers. ``codeshell-lsp convert`` turns it into GGUF.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from common import CODESHELL_SPECIALS, load_config, log, work_path


def hf_config(mcfg: dict, eot_id: int, name: str) -> dict:
    """CodeShell's config.json (the keys of CodeShell-7B's, with this model's sizes)."""
    return {
        "_name_or_path": name,
        "architectures": ["CodeShellForCausalLM"],
        "model_type": "codeshell",
        "activation_function": "gelu_pytorch_tanh",
        "attn_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "resid_pdrop": 0.0,
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
        "group_query_attention": True,
        "num_query_groups": mcfg["num_query_groups"],
        "initializer_range": 0.02,
        "layer_norm_epsilon": mcfg["layer_norm_epsilon"],
        "n_embd": mcfg["n_embd"],
        "n_head": mcfg["n_head"],
        "n_inner": 4 * mcfg["n_embd"],
        "n_layer": mcfg["n_layer"],
        "n_positions": mcfg["n_positions"],
        "position_embedding_type": "rope",
        "rope_scaling": None,
        "rope_theta": mcfg["rope_base"],
        "scale_attention_softmax_in_fp32": True,
        "attention_softmax_in_fp32": True,
        "scale_attn_weights": True,
        "summary_activation": None,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": mcfg["vocab_size"],
    }


def export(cfg: dict, out_dir: Path, which: str | None = None, name: str = "codeshell-mini") -> Path:
    import torch
    from safetensors.torch import save_file

    from model import CodeShellConfig, CodeShellForCausalLM

    which = which or cfg["export"]["which"]
    ckpt_path = work_path(cfg, "train", f"{which}.pt")
    if not ckpt_path.exists() and which == "best":
        ckpt_path = work_path(cfg, "train", "last.pt")
    ck = torch.load(ckpt_path, weights_only=False, map_location="cpu")
    mcfg = ck["model_config"]
    model = CodeShellForCausalLM(CodeShellConfig(**mcfg))
    model.load_state_dict(ck["model"])
    out_dir.mkdir(parents=True, exist_ok=True)
    tok_dir = work_path(cfg, "tokenizer")
    shutil.copyfile(tok_dir / "tokenizer.json", out_dir / "tokenizer.json")
    shutil.copyfile(tok_dir / "tokenizer_config.json", out_dir / "tokenizer_config.json")
    tok = json.loads((out_dir / "tokenizer.json").read_text())
    eot_id = next(t["id"] for t in tok["added_tokens"] if t["content"] == CODESHELL_SPECIALS[0])
    eot = CODESHELL_SPECIALS[0]
    (out_dir / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": eot, "eos_token": eot, "unk_token": eot,
                    "additional_special_tokens": list(CODESHELL_SPECIALS[1:])}, indent=1) + "\n"
    )
    (out_dir / "generation_config.json").write_text(
        json.dumps({"bos_token_id": eot_id, "eos_token_id": eot_id}, indent=1) + "\n"
    )
    (out_dir / "config.json").write_text(json.dumps(hf_config(mcfg, eot_id, name), indent=1) + "\n")
    save_file(model.hf_state_dict(), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    state = ck["state"]
    info = {
        "checkpoint": ckpt_path.name,
        "n_params": model.n_params(),
        "steps": state["step"],
        "tokens_seen": state["tokens"],
        "train_seconds": round(state["train_seconds"], 1),
        "best_val_loss": state["best_val"],
        "history": state.get("history", []),
    }
    (out_dir / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    log(f"export: {ckpt_path.name} (step {state['step']}, {model.n_params():,} parameters) -> {out_dir}")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="recipe config (default: config.toml beside this script)")
    ap.add_argument("--which", choices=["best", "last"], help="checkpoint to export (default: the config's)")
    ap.add_argument("--out", help="output directory (default: WORK/hf)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    export(cfg, Path(args.out) if args.out else work_path(cfg, "hf"), args.which)
    return 0


if __name__ == "__main__":
    sys.exit(main())
