#!/usr/bin/env python3
"""PyTorch side of `maskmix bench`: trains a reference model on one fixed batch and reports step time and memory.

`maskmix bench` runs this as a subprocess on the same GPU, with the same initial weights and the same batch as its
own run, and reads ONE JSON object from stdout; everything else (logs, warnings, compiler chatter) goes to stderr.

Each step: zero grads → forward + loss under bf16 autocast → backward → clip grad norm to 1.0 → fused AdamW.
Step time is measured with CUDA events around each step; the median over the timed steps is the headline.

Example:
  python3 scripts/bench/reference.py --model mixer --d 1024 --layers 8 --ctx 512 --batch 32 --vocab 8000 \\
      --mode compile --weights runs/bench/init.safetensors --tokens runs/bench/batch.i32 --lr 5e-4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from models import PAD_ID, MaskedMixerLM, causal_lm_loss, llama_lm, load_safetensors_into, logits_of  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["mixer", "llama"], required=True)
    p.add_argument("--d", type=int, required=True, help="model width")
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, default=4, help="attention heads (llama only)")
    p.add_argument("--intermediate", type=int, default=None, help="llama MLP width (default 4*d)")
    p.add_argument("--rope-theta", type=float, default=10000.0, help="llama only")
    p.add_argument("--rms-eps", type=float, default=1e-5, help="llama only")
    p.add_argument("--ctx", type=int, required=True, help="context length n")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--vocab", type=int, required=True)
    p.add_argument("--pad-id", type=int, default=PAD_ID, help="target id ignored by the loss")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    p.add_argument("--mode", choices=["eager", "compile"], default="eager")
    p.add_argument("--weights", help="safetensors of the initial weights (default: PyTorch's init from --seed)")
    p.add_argument("--tokens", help="raw little-endian int32 [batch, ctx] (default: random tokens from --seed)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (PyTorch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (for --fp32-loss-only parity checks)")
    p.add_argument("--fp32-loss-only", action="store_true", help="print the initial fp32 loss as JSON and exit")
    p.add_argument(
        "--profile-trace",
        help="after the timed steps, profile 3 more with torch.profiler into this Chrome trace (the format maskmix's "
        "own --profile writes, so lib/bench/trace-summary.ts can put both kernel tables side by side)",
    )
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        p.error("--steps must be ≥ 1 and --warmup ≥ 0")
    return args


def log(message: str) -> None:
    print(f"[reference] {message}", file=sys.stderr, flush=True)


def build_model(args: argparse.Namespace) -> torch.nn.Module:
    if args.model == "mixer":
        return MaskedMixerLM(args.vocab, args.d, args.layers, args.ctx, pad_id=args.pad_id)
    return llama_lm(args.vocab, args.d, args.layers, args.heads, args.intermediate, args.ctx, args.rope_theta, args.rms_eps, args.pad_id)


def load_tokens(args: argparse.Namespace, device: torch.device) -> torch.Tensor:
    if args.tokens is None:
        generator = torch.Generator().manual_seed(args.seed)
        return torch.randint(0, args.vocab, (args.batch, args.ctx), generator=generator).to(device)
    with open(args.tokens, "rb") as f:
        raw = f.read()
    expected = args.batch * args.ctx * 4
    if len(raw) != expected:
        raise SystemExit(f"{args.tokens}: {len(raw)} bytes, expected batch*ctx*4 = {expected}")
    tokens = torch.frombuffer(bytearray(raw), dtype=torch.int32).view(args.batch, args.ctx)
    if tokens.min() < 0 or tokens.max() >= args.vocab:
        raise SystemExit(f"{args.tokens}: token ids must lie in [0, {args.vocab})")
    return tokens.to(device=device, dtype=torch.long)


class LossOf(torch.nn.Module):
    """Forward + loss as one module, so `torch.compile` sees (and fuses) the loss too."""

    def __init__(self, model: torch.nn.Module, pad_id: int):
        super().__init__()
        self.model = model
        self.pad_id = pad_id

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return causal_lm_loss(logits_of(self.model, tokens), tokens, self.pad_id)


@contextlib.contextmanager
def exact_fp32():
    """Plain IEEE fp32 matmuls and convolutions (no TF32), so the initial loss is comparable across implementations."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def initial_loss(loss_fn: torch.nn.Module, tokens: torch.Tensor) -> float:
    """Loss of the very first forward, before any update: fp32, no autocast, no gradients."""
    with torch.no_grad(), exact_fp32():
        return float(loss_fn(tokens))


class StepTimer:
    """Per-step wall time: CUDA events on the GPU (no host sync inside the loop), perf_counter on the CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.marks: list = []

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def step_ms(self) -> list[float]:
        if self.cuda:
            torch.cuda.synchronize()
            return [a.elapsed_time(b) for a, b in zip(self.marks, self.marks[1:])]
        return [(b - a) * 1000.0 for a, b in zip(self.marks, self.marks[1:])]


def profile_steps(step, path: str, steps: int, device: torch.device) -> None:
    """Records `steps` more steps' kernels (after warm-up and timing, so compilation is not in them)."""
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])) as prof:
        for _ in range(steps):
            step()
        if cuda:
            torch.cuda.synchronize()
    prof.export_chrome_trace(path)
    log(f"profile of {steps} steps written to {path}")


def run(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model = build_model(args).to(device)  # fp32 master weights; autocast runs the matmuls in bf16
    if args.weights:
        load_safetensors_into(model, args.weights)
    else:
        log("no --weights given: using PyTorch's default initialisation (not comparable with maskmix's)")
    tokens = load_tokens(args, device)
    loss_fn = LossOf(model, args.pad_id)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{args.model} d={args.d} L={args.layers} n={args.ctx} b={args.batch} V={args.vocab}: {n_params / 1e6:.1f}M parameters on {device}")

    loss_first = initial_loss(loss_fn, tokens)
    log(f"initial fp32 loss {loss_first:.6f}")
    result = {"impl": "pytorch", "model": args.model, "loss_first": loss_first, "params": n_params}
    if args.fp32_loss_only:
        return result

    step_fn = torch.compile(loss_fn) if args.mode == "compile" else loss_fn
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay, fused=True)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)

    def step() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = step_fn(tokens)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.detach()

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    losses = []
    started = time.perf_counter()
    for i in range(args.warmup):
        losses.append(step())
        if i == 0:
            log(f"first step done after {time.perf_counter() - started:.1f}s (includes compilation in compile mode)")
    timer = StepTimer(device)
    timer.mark()
    for _ in range(args.steps):
        losses.append(step())
        timer.mark()
    ms = timer.step_ms()
    if args.profile_trace:
        profile_steps(step, args.profile_trace, 3, device)
    median_ms = statistics.median(ms)
    log(f"{args.mode}: median {median_ms:.2f} ms/step, mean {statistics.fmean(ms):.2f} ms/step over {args.steps} steps")

    result.update(
        {
            "mode": args.mode,
            "d": args.d,
            "layers": args.layers,
            "heads": args.heads if args.model == "llama" else None,
            "ctx": args.ctx,
            "batch": args.batch,
            "vocab": args.vocab,
            "steps": args.steps,
            "warmup": args.warmup,
            "lr": args.lr,
            "ms_per_step_median": median_ms,
            "ms_per_step_mean": statistics.fmean(ms),
            "ms_per_step": ms,
            # Tokens fed per step (batch × ctx), as maskmix counts them.
            "tokens_per_s": args.batch * args.ctx / (median_ms / 1000.0),
            "peak_mem_bytes": torch.cuda.max_memory_allocated() if device.type == "cuda" else None,
            "losses": [float(x) for x in losses],  # warm-up then timed steps, bf16 autocast
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
        }
    )
    if args.model == "llama":
        import transformers

        result["transformers"] = transformers.__version__
    return result


def main() -> None:
    args = parse_args()
    # Keep stdout for the one JSON line: anything else written to fd 1 (Python prints, C++/Triton logs) is sent
    # to stderr while the benchmark runs.
    sys.stdout.flush()
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    result = run(args)
    json_out.write(json.dumps(result) + "\n")
    json_out.flush()


if __name__ == "__main__":
    main()
