"""Step 2: train CodeShell's kind of tokenizer on the corpus.

Byte-level BPE (``tokenizers``) with CodeShell's pre-tokenization: every digit on its
own, then the GPT-2 regex (llama.cpp's ``codeshell`` pre-tokenizer). CodeShell's 20
special tokens, with their exact texts and in CodeShell's order, take the last ids, as
in CodeShell-7B (70000..70019 there). No BOS is added: prompts start as they are.

Writes ``tokenizer/tokenizer.json`` and ``tokenizer/tokenizer_config.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Iterator

from common import CODESHELL_SPECIALS, load_config, log, work_path


def build_tokenizer():
    """An untrained tokenizer with CodeShell's normalisation, pre-tokenizer and decoder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def corpus_texts(path: Path, max_bytes: int, seed: int) -> Iterator[str]:
    """Texts of the corpus in a seeded random order, up to ``max_bytes``."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    random.Random(seed).shuffle(lines)
    total = 0
    for line in lines:
        text = json.loads(line)["text"]
        total += len(text)
        yield text
        if total >= max_bytes:
            return


def train(cfg: dict, corpus: Path, out_dir: Path):
    from tokenizers import pre_tokenizers, trainers

    tok = build_tokenizer()
    n_bpe = cfg["vocab_size"] - len(CODESHELL_SPECIALS)
    trainer = trainers.BpeTrainer(
        vocab_size=n_bpe,
        min_frequency=cfg["min_frequency"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    tok.train_from_iterator(corpus_texts(corpus, cfg["train_bytes"], cfg["seed"]), trainer=trainer)
    # A small corpus may stop short of n_bpe; the specials follow whatever was learned.
    base = tok.get_vocab_size()
    tok.add_special_tokens(list(CODESHELL_SPECIALS))
    assert tok.token_to_id(CODESHELL_SPECIALS[0]) == base, "special tokens must take the last ids"
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    eot = CODESHELL_SPECIALS[0]
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": eot,
                "eos_token": eot,
                "unk_token": eot,
                "add_bos_token": False,
                "add_eos_token": False,
                "model_max_length": 8192,
                "additional_special_tokens": list(CODESHELL_SPECIALS[1:]),
            },
            indent=1,
        )
        + "\n"
    )
    log(f"tokenizer: {tok.get_vocab_size()} tokens ({base} BPE + {len(CODESHELL_SPECIALS)} special)")
    return tok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="recipe config (default: config.toml beside this script)")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    train(cfg["tokenizer"], work_path(cfg, "corpus", "train.jsonl"), work_path(cfg, "tokenizer"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
