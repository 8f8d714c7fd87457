"""Plain-PyTorch reference models for checking maskmix against an independent implementation.

Parameter names match maskmix checkpoints exactly (SPEC sections 1 and 2), so a `model.safetensors` written by
maskmix loads here with a strict load, and the other way round:

- `MaskedMixerLM`: the masked mixer in the paper's module layout (`wte`, `mixerblocks.i.*`, `lm_head`).
- `llama_lm`: a Hugging Face `LlamaForCausalLM` (attention through scaled-dot-product attention).

Used by `scripts/bench/reference.py` (side-by-side training benchmark) and
`scripts/reference/check_checkpoint.py` (logit parity). Needs torch; the Llama half also needs transformers.
"""

from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F
from torch import nn

# maskmix pads with the end-of-text token, id 0; it is never a training target.
PAD_ID = 0


def causal_lm_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int = PAD_ID) -> torch.Tensor:
    """Mean cross-entropy of the logits at position t against token t+1, over targets that are not `pad_id`.

    The last position has no next token; it gets the pad id as its target (and is thus ignored) instead of
    slicing the logits, which would copy the largest activation of the model.
    """
    targets = F.pad(tokens[:, 1:], (0, 1), value=pad_id)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=pad_id)


# ---------------------------------------------------------------------------------------------------------------
# Masked mixer


class MixerBlock(nn.Module):
    """One flat masked-mixer block: x += causal_mix(LN(x)); x += FF(LN(x))."""

    def __init__(self, d_model: int, context: int, ff_multiplier: int = 4):
        super().__init__()
        self.seq_layernorm = nn.LayerNorm(d_model)
        # Token axis as channels: weight [n, n, 1] mixes positions, shared by every feature.
        self.conv = nn.Conv1d(context, context, 1)
        self.patch_layernorm = nn.LayerNorm(d_model)
        width = ff_multiplier * d_model
        self.patch_ff = nn.Sequential(nn.Linear(d_model, width), nn.GELU(), nn.Linear(width, d_model))
        # Non-persistent: the mask is derived, not a checkpoint entry, so strict loads see only real parameters.
        self.register_buffer("causal_mask", torch.tril(torch.ones(context, context)).unsqueeze(-1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(1)
        # Masking in the graph (rather than overwriting the weights, as the paper's code does) keeps entries above
        # the diagonal out of both the output and the gradient, whatever a loaded checkpoint holds there.
        weight = self.conv.weight * self.causal_mask
        # A causal mix of a shorter prefix is the top-left block of the full one.
        mixed = F.conv1d(self.seq_layernorm(x), weight[:n, :n], self.conv.bias[:n])
        x = x + mixed
        return x + self.patch_ff(self.patch_layernorm(x))


class MaskedMixerLM(nn.Module):
    """Masked mixer language model: `wte` → `mixerblocks` → `lm_head` (SPEC section 1).

    `forward(tokens)` takes int64 tokens [batch, n] with n ≤ context and returns logits [batch, n, vocab];
    `loss(tokens)` is the shifted, pad-masked cross-entropy. The paper's feed-forward width is 4·d.
    """

    def __init__(self, vocab_size: int, d_model: int, n_layers: int, context: int, pad_id: int = PAD_ID, ff_multiplier: int = 4):
        super().__init__()
        self.context = context
        self.pad_id = pad_id
        self.wte = nn.Embedding(vocab_size, d_model)
        self.mixerblocks = nn.ModuleList(MixerBlock(d_model, context, ff_multiplier) for _ in range(n_layers))
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.size(1) > self.context:
            raise ValueError(f"sequence of {tokens.size(1)} tokens is longer than the mixer's context {self.context}")
        x = self.wte(tokens)
        for block in self.mixerblocks:
            x = block(x)
        return self.lm_head(x)

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        return causal_lm_loss(self(tokens), tokens, self.pad_id)


# ---------------------------------------------------------------------------------------------------------------
# Llama (Hugging Face transformers)


def llama_config(
    vocab_size: int,
    d_model: int,
    n_layers: int,
    n_heads: int,
    intermediate_size: int | None = None,
    context: int = 512,
    rope_theta: float = 10000.0,
    rms_norm_eps: float = 1e-5,
    pad_id: int = PAD_ID,
):
    """A `transformers.LlamaConfig` for the maskmix Llama baseline (SPEC section 2): untied head, no biases,
    full multi-head attention (as many KV heads as heads), SwiGLU MLP of `intermediate_size` (default 4·d)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=d_model,
        intermediate_size=intermediate_size or 4 * d_model,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_heads,
        hidden_act="silu",
        max_position_embeddings=context,
        rms_norm_eps=rms_norm_eps,
        rope_theta=rope_theta,  # transformers 5 folds this into config.rope_parameters
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        use_cache=False,
        # No pad_token_id: it would become the embedding's padding_idx, freezing that row's gradient.
        pad_token_id=None,
        eos_token_id=pad_id,
        attn_implementation="sdpa",
    )


def llama_from_config(config):
    """Builds a `LlamaForCausalLM` from a config, in fp32, with SDPA attention and no KV cache."""
    from transformers import LlamaForCausalLM

    config._attn_implementation = "sdpa"
    config.use_cache = False
    model = LlamaForCausalLM(config).float()
    if model.config._attn_implementation != "sdpa":
        raise RuntimeError(f"expected SDPA attention, transformers chose {model.config._attn_implementation!r}")
    return model


def llama_lm(
    vocab_size: int,
    d_model: int,
    n_layers: int,
    n_heads: int,
    intermediate_size: int | None = None,
    context: int = 512,
    rope_theta: float = 10000.0,
    rms_norm_eps: float = 1e-5,
    pad_id: int = PAD_ID,
):
    """The Llama baseline as a Hugging Face `LlamaForCausalLM` (state-dict keys `model.embed_tokens.weight`,
    `model.layers.i.self_attn.q_proj.weight`, …, `lm_head.weight`). Logits: `model(input_ids=tokens).logits`."""
    config = llama_config(vocab_size, d_model, n_layers, n_heads, intermediate_size, context, rope_theta, rms_norm_eps, pad_id)
    return llama_from_config(config)


def write_llama_config(config, run_dir: str) -> str:
    """Writes `config.json` (every field, not only those that differ from defaults) into `run_dir`."""
    path = os.path.join(run_dir, "config.json")
    config.to_json_file(path, use_diff=False)
    return path


def read_llama_config(path: str, drop_keys: tuple[str, ...] = ()):
    """Reads a Llama `config.json` (a file, or a directory holding one) into a `LlamaConfig`.

    `drop_keys` removes fields that are not Hugging Face's (maskmix's own bookkeeping) before building it.
    """
    from transformers import LlamaConfig

    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    with open(path, encoding="utf-8") as f:
        fields = json.load(f)
    for key in drop_keys:
        fields.pop(key, None)
    return LlamaConfig.from_dict(fields)


def logits_of(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Logits [batch, n, vocab] of either reference model."""
    if isinstance(model, MaskedMixerLM):
        return model(tokens)
    return model(input_ids=tokens, use_cache=False).logits


# ---------------------------------------------------------------------------------------------------------------
# Checkpoints


def load_safetensors_into(model: nn.Module, path: str) -> None:
    """Loads a safetensors file into `model`, strictly: a missing, unexpected or mis-shaped tensor is an error.

    Each tensor is cast to the dtype (and moved to the device) of the parameter it replaces.
    """
    from safetensors.torch import load_file

    loaded = load_file(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(loaded))
    unexpected = sorted(set(loaded) - set(own))
    if missing or unexpected:
        raise KeyError(f"{path} does not match the model: missing {missing[:10]} ({len(missing)}), unexpected {unexpected[:10]} ({len(unexpected)})")
    wrong = [f"{k}: file {tuple(loaded[k].shape)} vs model {tuple(own[k].shape)}" for k in own if loaded[k].shape != own[k].shape]
    if wrong:
        raise ValueError(f"{path} has mis-shaped tensors: {wrong[:10]}")
    state = {k: loaded[k].to(device=own[k].device, dtype=own[k].dtype) for k in own}
    model.load_state_dict(state, strict=True)
