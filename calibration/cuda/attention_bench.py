#!/usr/bin/env python3
"""Fused prefill attention kernels (FlashAttention class), measured through PyTorch's SDPA.

    python3 calibration/cuda/attention_bench.py --backend flash \
        --out calibration/measurements/h100-2026-11-21/attention-flash.json

kvsim-microbench measures everything else in C++; the fused prefill kernels are reached here,
through torch.nn.functional.scaled_dot_product_attention with one backend forced
(torch.nn.attention.sdpa_kernel): FlashAttention-2 ("flash"), cuDNN's fused attention graph
("cudnn", built by PyTorch with cudnn-frontend) or the memory-efficient kernel ("efficient").
These are the kernels serving engines run, so the profile is fitted to what deployments see.

Shapes: the attention heads of the catalog's models at TP 1, 2, 4 and 8 (per GPU), causal, a
chunk of q new tokens attending to kv >= q tokens (bottom-right aligned: the chunk is the end of
the context, as in chunked prefill and KV-Runahead), q from 128 to 32k and kv up to 4q and 32k.
bf16, batch 1, CUDA events after warm-up, median and 10-90% spread of the repeats. Writes
kvsim's measurement JSON (`kvsim calibrate --measurements`). Before timing, each backend's output
is checked against PyTorch's math backend on small shapes (--check does only that).
"""
import argparse
import datetime
import json
import os
import statistics
import sys

CATALOG = os.path.join(os.path.dirname(__file__), "..", "..", "models", "catalog", "llms")
MODELS = ["llama-2-7b", "llama-2-13b", "llama-3-8b", "llama-3-70b", "falcon-7b", "qwen2-72b"]


def backend_of(name):
    from torch.nn.attention import SDPBackend

    return {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}[name]


def attention(backend, q, k, v):
    """Causal attention of q's tokens, the last of k's, through one SDPA backend."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import sdpa_kernel
    from torch.nn.attention.bias import causal_lower_right

    gqa = q.shape[1] != k.shape[1]
    with sdpa_kernel([backend_of(backend)]):
        if q.shape[2] == k.shape[2]:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
        mask = causal_lower_right(q.shape[2], k.shape[2])
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)


def tensors(heads, kv_heads, head_dim, q_len, kv_len, seed=0):
    import torch

    g = torch.Generator(device="cuda").manual_seed(seed)
    shape = lambda h, n: (1, h, n, head_dim)  # noqa: E731
    make = lambda h, n: torch.randn(shape(h, n), device="cuda", dtype=torch.bfloat16,  # noqa: E731
                                    generator=g)
    return make(heads, q_len), make(kv_heads, kv_len), make(kv_heads, kv_len)


def check(backend):
    """Largest difference from the math backend over a few small shapes (GQA, q < kv)."""
    worst = 0.0
    for heads, kv_heads, dim, q_len, kv_len in [(8, 8, 128, 256, 256), (8, 2, 128, 128, 640),
                                                (8, 1, 64, 100, 300)]:
        q, k, v = tensors(heads, kv_heads, dim, q_len, kv_len, seed=1)
        want = attention("math", q.float(), k.float(), v.float())
        try:
            have = attention(backend, q, k, v).float()
        except RuntimeError as e:  # refused: the timing loop will skip such shapes too
            print(f"check {backend}: {heads}/{kv_heads} heads of {dim}, q {q_len} kv {kv_len}: "
                  f"refused ({str(e)[:80]})", file=sys.stderr)
            continue
        worst = max(worst, (have - want).abs().max().item())
    return worst


def time_one(backend, q, k, v, repeats, warmup):
    import torch

    times = []
    for i in range(warmup + repeats):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        attention(backend, q, k, v)
        stop.record()
        torch.cuda.synchronize()
        if i >= warmup:
            times.append(start.elapsed_time(stop))
    times.sort()
    spread = times[int(0.9 * (len(times) - 1))] - times[int(0.1 * (len(times) - 1))]
    return statistics.median(times), spread


def shapes(quick):
    """(model, tp, heads, kv_heads, head_dim) per GPU, without repeats."""
    seen = set()
    for name in MODELS[:2] if quick else MODELS:
        with open(os.path.join(CATALOG, name + ".json")) as f:
            spec = json.load(f)
        for tp in (1, 2, 4, 8):
            if spec["heads"] % tp:
                continue
            shape = (spec["heads"] // tp, max(1, spec["kv_heads"] // tp), spec["head_dim"])
            if shape not in seen:
                seen.add(shape)
                yield (name, tp) + shape


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="flash", choices=["flash", "cudnn", "efficient"])
    parser.add_argument("--out", help="measurement JSON to write")
    parser.add_argument("--quick", action="store_true", help="a few shapes")
    parser.add_argument("--check", action="store_true", help="only check against math, exit")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if not args.check and not args.out:
        parser.error("--out is required unless --check")

    import torch

    error = check(args.backend)
    print(f"check {args.backend} against math: max error {error:.2e}", file=sys.stderr)
    if error > 5e-2:
        print("the backend disagrees with the math backend; nothing measured", file=sys.stderr)
        return 1
    if args.check:
        return 0

    q_lengths = [512, 2048, 8192] if args.quick else [128, 256, 512, 1024, 2048, 4096, 8192,
                                                       16384, 32768]
    points = []
    for model, tp, heads, kv_heads, dim in shapes(args.quick):
        for q_len in q_lengths:
            for factor in (1, 2, 4):
                kv_len = q_len * factor
                if kv_len > 32768:
                    continue
                q, k, v = tensors(heads, kv_heads, dim, q_len, kv_len)
                try:
                    median, spread = time_one(args.backend, q, k, v, args.repeats, args.warmup)
                except RuntimeError as e:  # a backend refusing a shape (head_dim, GQA, size)
                    print(f"{model} tp{tp} q {q_len} kv {kv_len}: skipped ({str(e)[:80]})",
                          file=sys.stderr)
                    continue
                points.append({"op": "attention", "variant": "fused", "kernel": args.backend,
                               "dtype": "bf16", "q": q_len, "kv": kv_len, "heads": heads,
                               "kv_heads": kv_heads, "head_dim": dim, "model": model, "tp": tp,
                               "median_ms": round(median, 6), "spread_ms": round(spread, 6),
                               "repeats": args.repeats})
                print(f"{model} tp{tp} q {q_len} kv {kv_len}: {median:.4f} ms", file=sys.stderr)
                del q, k, v
    props = torch.cuda.get_device_properties(0)
    out = {
        "kind": "kvsim-measurements",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "device": {"name": props.name, "sm_count": props.multi_processor_count,
                   "compute_capability": f"{props.major}.{props.minor}",
                   "memory_bytes": props.total_memory},
        "software": {"torch": torch.__version__, "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version(), "sdpa_backend": args.backend,
                     "check_max_error": error},
        "points": points,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(f"{len(points)} points written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
