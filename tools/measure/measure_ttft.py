#!/usr/bin/env python3
"""Measures real prefill TTFT on a GPU and writes kvsim's measurement JSON.

    python3 tools/measure/measure_ttft.py --models llama-2-7b llama-3-8b \
        --out calibration/measurements/h100-2026-11-21/ttft.json

Each catalog model (models/catalog/llms/<name>.json) is built from its configuration with random
weights (Hugging Face transformers, bf16, on the GPU; no download). TTFT here is the prefill
forward pass over the prompt plus picking the first token from the last position's logits,
timed with CUDA events after warm-up, median of the repeats: "ttft_from": "prefill", the
quantity `kvsim compare` predicts. Contexts from 128 to 16k (as memory and the model allow),
batch 1 and a few larger batches at short contexts, fused (SDPA) and eager attention.

Requires torch and transformers on the GPU machine. Run on one GPU; the result feeds
`kvsim compare` (accuracy) and never the calibration (kernels come from kvsim-microbench), so
end-to-end runs stay an honest test of the model.
"""
import argparse
import datetime
import json
import os
import statistics
import sys

CATALOG = os.path.join(os.path.dirname(__file__), "..", "..", "models", "catalog", "llms")


def hf_config(spec):
    import transformers

    if spec["parallel_attention"]:  # Falcon
        return transformers.FalconConfig(
            hidden_size=spec["hidden_size"], num_attention_heads=spec["heads"],
            num_kv_heads=spec["kv_heads"], num_hidden_layers=spec["layers"],
            vocab_size=spec["vocab_size"], multi_query=spec["kv_heads"] == 1,
            new_decoder_architecture=False, parallel_attn=True, bias=False,
            max_position_embeddings=max(spec["max_context"], 16384))
    return transformers.LlamaConfig(
        hidden_size=spec["hidden_size"], num_attention_heads=spec["heads"],
        num_key_value_heads=spec["kv_heads"], head_dim=spec["head_dim"],
        intermediate_size=spec["intermediate_size"], num_hidden_layers=spec["layers"],
        vocab_size=spec["vocab_size"], max_position_embeddings=max(spec["max_context"], 16384),
        tie_word_embeddings=spec["tied_embeddings"])


def time_prefill(model, tokens, batch, repeats, warmup):
    import torch

    ids = torch.randint(0, model.config.vocab_size, (batch, tokens), device="cuda")
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            start.record()
            logits = model(input_ids=ids, use_cache=True, logits_to_keep=1).logits
            logits[:, -1, :].argmax(dim=-1)
            stop.record()
            torch.cuda.synchronize()
            if i >= warmup:
                times.append(start.elapsed_time(stop))
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))] - times[int(0.1 * (len(times) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["llama-2-7b", "llama-3-8b", "mistral-7b"])
    parser.add_argument("--gpu", default="h100-sxm", help="kvsim catalog name of this GPU")
    parser.add_argument("--contexts", nargs="+", type=int,
                        default=[128, 256, 512, 1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--attention", nargs="+", default=["sdpa", "eager"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import torch
    import transformers

    points = []
    for name in args.models:
        with open(os.path.join(CATALOG, name + ".json")) as f:
            spec = json.load(f)
        for attention in args.attention:
            torch.manual_seed(0)
            model = transformers.AutoModelForCausalLM.from_config(
                hf_config(spec), torch_dtype=torch.bfloat16, attn_implementation=attention)
            model = model.to("cuda").eval()
            for batch in args.batches:
                for tokens in args.contexts:
                    if batch > 1 and tokens * batch > 16384:
                        continue
                    try:
                        median, spread = time_prefill(model, tokens, batch, args.repeats,
                                                      args.warmup)
                    except torch.cuda.OutOfMemoryError:
                        torch.cuda.empty_cache()
                        print(f"{name} {attention} batch {batch} x {tokens}: out of memory",
                              file=sys.stderr)
                        continue
                    points.append({"model": name, "gpu": args.gpu, "tp": 1, "batch": batch,
                                   "prompt_tokens": tokens,
                                   "attention": "fused" if attention == "sdpa" else "eager",
                                   "ttft_ms": round(median, 4)})
                    print(f"{name} {attention} batch {batch} x {tokens}: {median:.3f} ms "
                          f"(spread {spread:.3f})", file=sys.stderr)
            del model
            torch.cuda.empty_cache()

    out = {
        "kind": "kvsim-ttft-measurements",
        "ttft_from": "prefill",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "device": {"name": torch.cuda.get_device_name(0),
                   "sm_count": torch.cuda.get_device_properties(0).multi_processor_count},
        "software": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "cuda": torch.version.cuda},
        "note": "prefill forward + first-token argmax, random weights, bf16, CUDA events, "
                f"median of {args.repeats} after {args.warmup} warm-up runs",
        "points": points,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(f"{len(points)} points written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
