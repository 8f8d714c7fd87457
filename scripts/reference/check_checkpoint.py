#!/usr/bin/env python3
"""Loads a maskmix run directory into the reference PyTorch model and prints its logits, for parity checks.

The run directory holds `config.json` and `model.safetensors`. A masked mixer's config is maskmix's own
(field names below); a Llama's is a Hugging Face `LlamaConfig` (maskmix may add its own keys, which are dropped).
The tokens are a raw little-endian int32 file; by default it is split into rows of the model's context length
(or read as one row if its length is not a multiple of it).

Prints one JSON object to stdout: model kind, logits shape, the shifted pad-masked loss, and the logits themselves
(inline as nested lists, or written to --out as .npy or raw little-endian float32 in row-major [batch, n, vocab]).

Example:
  python3 scripts/reference/check_checkpoint.py runs/tiny tokens.i32 --out logits.f32
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import PAD_ID, MaskedMixerLM, causal_lm_loss, llama_from_config, load_safetensors_into, logits_of, read_llama_config  # noqa: E402

# --- maskmix run-directory and config.json field names (keep in step with lib/ when they change) ---------------
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
KIND_FIELDS = ("model", "kind")  # first present wins: "mixer" or "llama"; absent + model_type "llama" → Llama
MIXER_KINDS = ("mixer", "masked-mixer")
LLAMA_KINDS = ("llama", "transformer")
MIXER_FIELDS = {  # constructor argument → config.json field
    "vocab_size": "vocabSize",
    "d_model": "dModel",
    "n_layers": "nLayers",
    "context": "context",
}
OPTIONAL_MIXER_FIELDS = {"ff_multiplier": "ffMultiplier"}  # used when present
PAD_FIELD = "padId"  # optional; defaults to PAD_ID (end-of-text, 0)
MASKMIX_ONLY_KEYS = (*KIND_FIELDS, PAD_FIELD)  # removed before the config reaches transformers
# ----------------------------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="directory with config.json and model.safetensors")
    p.add_argument("tokens", help="raw little-endian int32 token ids")
    p.add_argument("--batch", type=int, help="rows in the token file (default: rows of the model's context)")
    p.add_argument("--weights", help=f"weights file (default: RUN_DIR/{WEIGHTS_FILE})")
    p.add_argument("--out", help="write logits here (.npy, or anything else for raw float32) instead of inline JSON")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="compute dtype")
    return p.parse_args(argv)


def model_from_config(config: dict, config_path: str) -> tuple[torch.nn.Module, int, int]:
    """Returns (model, context, pad id) for a run's config.json."""
    kind = next((config[field] for field in KIND_FIELDS if field in config), None)
    pad_id = int(config.get(PAD_FIELD, PAD_ID))
    if kind in MIXER_KINDS:
        missing = [field for field in MIXER_FIELDS.values() if field not in config]
        if missing:
            raise SystemExit(f"{config_path}: mixer config lacks {missing}")
        dims = {arg: int(config[field]) for arg, field in MIXER_FIELDS.items()}
        dims.update({arg: int(config[field]) for arg, field in OPTIONAL_MIXER_FIELDS.items() if field in config})
        return MaskedMixerLM(**dims, pad_id=pad_id), dims["context"], pad_id
    if kind in LLAMA_KINDS or (kind is None and config.get("model_type") == "llama"):
        hf_config = read_llama_config(config_path, drop_keys=MASKMIX_ONLY_KEYS)
        return llama_from_config(hf_config), hf_config.max_position_embeddings, pad_id
    raise SystemExit(f"{config_path}: unknown model kind {kind!r} in {KIND_FIELDS} (expected one of {MIXER_KINDS + LLAMA_KINDS})")


def read_tokens(path: str, batch: int | None, context: int, vocab_size: int) -> torch.Tensor:
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) % 4 != 0 or not raw:
        raise SystemExit(f"{path}: {len(raw)} bytes is not a non-empty int32 array")
    flat = torch.frombuffer(bytearray(raw), dtype=torch.int32).long()
    count = flat.numel()
    if batch is None:
        batch = count // context if count % context == 0 else 1
    if count % batch != 0:
        raise SystemExit(f"{path}: {count} tokens do not split into {batch} rows")
    tokens = flat.view(batch, count // batch)
    if tokens.size(1) > context:
        raise SystemExit(f"{path}: rows of {tokens.size(1)} tokens exceed the model's context {context}")
    if tokens.min() < 0 or tokens.max() >= vocab_size:
        raise SystemExit(f"{path}: token ids must lie in [0, {vocab_size})")
    return tokens


def main() -> None:
    args = parse_args()
    config_path = os.path.join(args.run_dir, CONFIG_FILE)
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    model, context, pad_id = model_from_config(config, config_path)
    dtype = getattr(torch, args.dtype)
    model = model.to(device=args.device, dtype=dtype).eval()
    load_safetensors_into(model, args.weights or os.path.join(args.run_dir, WEIGHTS_FILE))

    vocab_size = model.lm_head.weight.size(0)  # both reference models name their head lm_head
    tokens = read_tokens(args.tokens, args.batch, context, vocab_size).to(args.device)
    # Exact fp32 (no TF32) so differences reflect the implementations, not the matmul precision mode.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with torch.no_grad():
        logits = logits_of(model, tokens)
        loss = float(causal_lm_loss(logits, tokens, pad_id))
    logits = logits.float().cpu()

    result = {
        "model": "mixer" if isinstance(model, MaskedMixerLM) else "llama",
        "shape": list(logits.shape),
        "dtype": "float32",
        "compute_dtype": args.dtype,
        "loss": loss,
        "torch": torch.__version__,
        "device": args.device,
    }
    if args.out:
        array = logits.numpy()
        if args.out.endswith(".npy"):
            import numpy as np

            np.save(args.out, array)
        else:
            array.astype("<f4").tofile(args.out)
        result["out"] = os.path.abspath(args.out)
    else:
        result["logits"] = logits.tolist()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
