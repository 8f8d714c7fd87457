#!/usr/bin/env python3
"""Self-checks of the reference models (run on a machine with torch and transformers; CPU is enough).

Checks the masked mixer against the SPEC formula written out by hand, causality, that entries above the diagonal
of a loaded checkpoint change nothing, prefix consistency, the loss, strict loading, and the Llama config round
trip and loss. Optionally checks safetensors interchange with maskmix's TypeScript writer and reader:

  --ts-dtypes FILE   a file written by lib/io/safetensors.ts holding one tensor of every dtype (values below)
  --py-out FILE      write the same tensors from Python, for the TypeScript reader to check

Exits non-zero on the first failure; prints "selftest ok" at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import (  # noqa: E402
    MaskedMixerLM,
    causal_lm_loss,
    llama_lm,
    load_safetensors_into,
    logits_of,
    read_llama_config,
    write_llama_config,
)

# One tensor of every dtype: (dtype, values). F16/BF16 are given as their bit patterns, as maskmix stores them.
DTYPE_CASES = {
    "f64": (torch.float64, [1.5, -2.0]),
    "f32": (torch.float32, [0.25, -1.0, 3.0]),
    "f16": (torch.float16, [1.0, -2.0]),  # bits 0x3c00, 0xc000
    "bf16": (torch.bfloat16, [1.0, -2.0]),  # bits 0x3f80, 0xc000
    "i64": (torch.int64, [-(2**40), 7]),
    "i32": (torch.int32, [-5, 6]),
    "i16": (torch.int16, [-300, 300]),
    "i8": (torch.int8, [-7, 7]),
    "u8": (torch.uint8, [200, 1]),
    "bool": (torch.bool, [True, False]),
}


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"selftest FAILED: {message}")
    print(f"  ok  {message}")


def naive_mixer_logits(model: MaskedMixerLM, tokens: torch.Tensor) -> torch.Tensor:
    """SPEC section 1 written out position by position, independent of conv1d."""
    x = model.wte(tokens)
    n = tokens.size(1)
    for block in model.mixerblocks:
        h = F.layer_norm(x, (x.size(-1),), block.seq_layernorm.weight, block.seq_layernorm.bias)
        w = block.conv.weight[:, :, 0]
        rows = []
        for t in range(n):
            acc = block.conv.bias[t] + sum(w[t, s] * h[:, s, :] for s in range(t + 1))
            rows.append(acc)
        x = x + torch.stack(rows, dim=1)
        h = F.layer_norm(x, (x.size(-1),), block.patch_layernorm.weight, block.patch_layernorm.bias)
        ff0, ff2 = block.patch_ff[0], block.patch_ff[2]
        x = x + F.linear(F.gelu(F.linear(h, ff0.weight, ff0.bias)), ff2.weight, ff2.bias)
    return F.linear(x, model.lm_head.weight)


def manual_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    logp = torch.log_softmax(logits[:, :-1].double(), -1)
    targets = tokens[:, 1:]
    picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    keep = targets != pad_id
    return -(picked[keep]).mean()


def check_mixer(tmp: str) -> None:
    print("masked mixer")
    torch.manual_seed(0)
    V, d, L, n = 50, 16, 2, 8
    model = MaskedMixerLM(V, d, L, n).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)  # non-zero upper triangles and LayerNorm affines, unlike a fresh init
    tokens = torch.tensor([[5, 9, 13, 0, 0, 0, 0, 0], [1, 2, 3, 4, 49, 48, 47, 46]])
    logits = model(tokens)
    expect(logits.shape == (2, n, V), "logits shape [b, n, V]")
    expect(torch.allclose(logits, naive_mixer_logits(model, tokens), atol=1e-10), "forward matches the SPEC formula")

    changed = tokens.clone()
    changed[:, 5] = 17
    other = model(changed)
    expect(torch.equal(other[:, :5], logits[:, :5]) and not torch.equal(other[:, 5:], logits[:, 5:]), "causal: token 5 changes only positions ≥ 5")
    expect(torch.allclose(model(tokens[:, :5]), logits[:, :5], atol=1e-12), "a prefix gives the prefix's logits")

    with torch.no_grad():
        for block in model.mixerblocks:
            block.conv.weight.add_(torch.triu(torch.randn(n, n), 1).unsqueeze(-1).double())
    expect(torch.equal(model(tokens), logits), "entries above the diagonal change nothing")

    loss = causal_lm_loss(logits, tokens, 0)
    expect(abs(float(loss.detach()) - float(manual_loss(logits.detach(), tokens, 0))) < 1e-10, "loss: shifted, pad targets ignored")
    loss.backward()
    grad = model.mixerblocks[0].conv.weight.grad[:, :, 0]
    expect(bool((torch.triu(grad, 1) == 0).all()), "no gradient reaches masked entries")

    path = os.path.join(tmp, "mixer.safetensors")
    from safetensors.torch import save_file

    save_file({k: v.float().contiguous() for k, v in model.state_dict().items()}, path)
    fresh = MaskedMixerLM(V, d, L, n).double()
    load_safetensors_into(fresh, path)
    expect(fresh.wte.weight.dtype == torch.float64, "load casts to the model dtype")
    expect(torch.allclose(fresh(tokens), logits, atol=1e-5), "save → strict load reproduces the logits")
    expect_raises(lambda: load_safetensors_into(MaskedMixerLM(V, d, L + 1, n), path), KeyError, "a missing tensor is an error")
    expect_raises(lambda: load_safetensors_into(MaskedMixerLM(V, d, L - 1, n), path), KeyError, "an unexpected tensor is an error")
    expect_raises(lambda: load_safetensors_into(MaskedMixerLM(V, d + 1, L, n), path), ValueError, "a mis-shaped tensor is an error")


def expect_raises(fn, kind, message: str) -> None:
    try:
        fn()
    except kind:
        expect(True, message)
        return
    expect(False, message)


def check_llama(tmp: str) -> None:
    print("llama")
    torch.manual_seed(0)
    model = llama_lm(vocab_size=50, d_model=32, n_layers=2, n_heads=4, context=16, rope_theta=5000.0, rms_norm_eps=1e-6)
    expect(model.config._attn_implementation == "sdpa", "SDPA attention")
    keys = set(model.state_dict())
    expect({"model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight", "model.norm.weight", "lm_head.weight"} <= keys, "Hugging Face key layout")
    expect(model.config.intermediate_size == 128 and not model.config.tie_word_embeddings, "4·d SwiGLU width, untied head")

    write_llama_config(model.config, tmp)
    again = read_llama_config(tmp)
    expect(again.rope_parameters["rope_theta"] == 5000.0 and again.rms_norm_eps == 1e-6 and again.hidden_size == 32, "config.json round trip")

    tokens = torch.tensor([[3, 7, 11, 0, 0], [1, 2, 3, 4, 5]])
    model.eval()
    with torch.no_grad():
        logits = logits_of(model, tokens)
        changed = tokens.clone()
        changed[:, 3] = 9
        expect(torch.equal(logits_of(model, changed)[:, :3], logits[:, :3]), "causal: token 3 changes only positions ≥ 3")
        labels = tokens.masked_fill(tokens == 0, -100)
        hf_loss = model(input_ids=tokens, labels=labels).loss
        ours = causal_lm_loss(logits, tokens, 0)
        expect(abs(float(hf_loss) - float(ours)) < 1e-5, "loss equals transformers' own causal LM loss")

    from safetensors.torch import save_file

    path = os.path.join(tmp, "llama.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    from models import llama_from_config

    fresh = llama_from_config(read_llama_config(tmp)).eval()
    load_safetensors_into(fresh, path)
    with torch.no_grad():
        expect(torch.equal(logits_of(fresh, tokens), logits), "config.json + weights reproduce the logits")


def check_interchange(ts_dtypes: str | None, py_out: str | None) -> None:
    from safetensors.torch import load_file, save_file

    if ts_dtypes:
        print("safetensors written by maskmix (TypeScript)")
        loaded = load_file(ts_dtypes)
        expect(set(loaded) == set(DTYPE_CASES), "all dtypes present")
        for name, (dtype, values) in DTYPE_CASES.items():
            expect(loaded[name].dtype == dtype and loaded[name].tolist() == values, f"{name} reads as {dtype} {values}")
        from safetensors import safe_open

        with safe_open(ts_dtypes, "pt") as f:
            expect(f.metadata() == {"note": "from ts"}, "metadata")
    if py_out:
        save_file({name: torch.tensor(values, dtype=dtype) for name, (dtype, values) in DTYPE_CASES.items()}, py_out, metadata={"note": "from python"})
        print(f"  wrote {py_out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ts-dtypes")
    p.add_argument("--py-out")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        check_mixer(tmp)
        check_llama(tmp)
    check_interchange(args.ts_dtypes, args.py_out)
    print("selftest ok")


if __name__ == "__main__":
    main()
