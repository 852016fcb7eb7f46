#!/usr/bin/env bash
# Regenerates results/models/: kvsim's derived figures for issue 17's models (parameters, KV
# bytes per token, weights per GPU under deployed layouts, prefill/decode cost breakdowns,
# TTFT per strategy, decode time per token, memory per GPU, serving with EP replicas) on H200
# and B200. Every number is a roofline prediction of kvsim; nothing here is measured.
# Runs in a few seconds of CPU:
#   KVSIM=/path/to/kvsim bash results/models/make.sh     (default build/tools/kvsim)
set -euo pipefail
cd "$(dirname "$0")/../.."
kvsim=${KVSIM:-build/tools/kvsim}
out=results/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

moe_models="mixtral-8x7b mixtral-8x22b qwen3-235b-a22b deepseek-v3"
dense_models="qwen3-8b qwen3-32b gemma-2-9b gemma-2-27b phi-3-mini mistral-7b llama-3.1-8b llama-3.1-70b llama-3.1-405b"

# The base scenarios: the shipped Mixtral scenario without serving or expert load, one strategy; every
# model below is this scenario with --set overrides (kept out of the repo: derived on the fly).
# --set replaces existing fields only, hence one base with an expert load and one without.
jq 'del(.serving) | .prefill.context_tokens = 2048 | .prefill.strategies = [{"type": "tp"}]
    | .decode = {"batch_size": 1, "context_tokens": 2048, "tensor_parallel": 8}
    | .expert_load = {"type": "uniform"}
    | .precision = {"weights": "bf16"}' scenarios/moe/mixtral-8x7b-h200.json > "$tmp/moe.json"
jq 'del(.expert_load)' "$tmp/moe.json" > "$tmp/dense.json"
is_moe() { [[ " $moe_models " == *" $1 "* ]]; }
base() { if is_moe "$1"; then echo "$tmp/moe.json"; else echo "$tmp/dense.json"; fi; }
model_args() {  # --set arguments for model $1 on $2 GPUs, layout $3 (tp, tp-ep, single)
  local m=$1 n=$2 layout=$3 strat='{"type":"tp"}'
  [[ $layout == single ]] && strat='{"type":"single"}'
  [[ $layout == tp-ep ]] && strat='{"type":"tp","expert_parallel":true}'
  printf -- '--set\n/model=%s\n--set\n/cluster/topology/gpus=%s\n--set\n/prefill/strategies=[%s]\n--set\n/decode/tensor_parallel=%s\n' \
    "$m" "$n" "$strat" "$n"
}
run_header() {  # the "model" and "experts" lines of kvsim run's header
  local m=$1 prec=$2; shift 2
  mapfile -t a < <(model_args "$m" 8 tp)
  "$kvsim" run "$(base "$m")" "${a[@]}" --set "/precision=$prec" "$@" 2>/dev/null | sed -n '2,3p'
}

# 1. models.csv: parameters and KV bytes per token (bf16 and fp8 KV), as kvsim prints them.
echo "model,total_params_b,active_params_b,kv_per_token_bf16,kv_per_token_fp8,attention" > "$out/models.csv"
for m in $moe_models $dense_models; do
  h16=$(run_header "$m" '{"weights":"fp8","kv_cache":"bf16"}')
  h8=$(run_header "$m" '{"weights":"fp8","kv_cache":"fp8"}')
  total=$(sed -n 's/.* \([0-9.]*\) B parameters.*/\1/p' <<< "$h16")
  active=$(sed -n 's/.* \([0-9.]*\) B active parameters.*/\1/p' <<< "$h16")
  kv16=$(sed -n 's/.*KV \([0-9.]* [KMG]*i*B\) per token.*/\1/p' <<< "$h16")
  kv8=$(sed -n 's/.*KV \([0-9.]* [KMG]*i*B\) per token.*/\1/p' <<< "$h8")
  note=$(sed -n 's/.*per token ([a-z0-9]*\(.*\)).*/\1/p' <<< "$h16" | sed 's/^; //; s/,/;/g')
  echo "$m,$total,${active:-$total},$kv16,$kv8,${note:-full attention}" >> "$out/models.csv"
done

# params.csv: kvsim's counts beside the authors' published ones (the figures and sources the
# catalog tests cite: tests/models/moe_model_test.cpp, deepseek_test.cpp, catalog_models_test.cpp).
cat > "$tmp/published.csv" <<'PUB'
mixtral-8x7b,46.7,12.9,Jiang et al. arXiv:2401.04088
mixtral-8x22b,141,39,mistral.ai/news/mixtral-8x22b
qwen3-235b-a22b,235,22,Qwen3 Technical Report arXiv:2505.09388 Table 2
deepseek-v3,671,37,DeepSeek-V3 Technical Report arXiv:2412.19437
qwen3-8b,8.2,8.2,huggingface.co/Qwen/Qwen3-8B model card
qwen3-32b,32.8,32.8,huggingface.co/Qwen/Qwen3-32B model card
gemma-2-9b,9.241705984,9.241705984,Gemma 2 report arXiv:2408.00118 Table 2
gemma-2-27b,27.22712832,27.22712832,Gemma 2 report arXiv:2408.00118 Table 2
phi-3-mini,3.8,3.8,Phi-3 report arXiv:2404.14219
mistral-7b,7.24,7.24,huggingface.co/mistralai/Mistral-7B-v0.1
llama-3.1-8b,8.03,8.03,Meta model card (checkpoint count)
llama-3.1-70b,70.6,70.6,Meta model card (checkpoint count)
llama-3.1-405b,405,405,Meta model card (405B)
PUB
echo "model,kvsim_total_b,published_total_b,total_error,kvsim_active_b,published_active_b,active_error,source" > "$out/params.csv"
awk -F, 'NR == FNR { pub[$1] = $0; next } FNR > 1 { split(pub[$1], p, ",");
  printf "%s,%s,%s,%+.2f%%,%s,%s,%+.2f%%,%s\n", $1, $2, p[2], 100 * ($2 - p[2]) / p[2], $3, p[3],
    100 * ($3 - p[3]) / p[3], p[4] }' "$tmp/published.csv" "$out/models.csv" >> "$out/params.csv"

# 2. weights.csv: weights and peak memory per GPU under the layouts people deploy (prefill of
# 2,048 tokens; the peak adds that prompt's KV and activations).
echo "model,gpu,layout,precision,weights_gib_per_gpu,peak_gib_per_gpu,usable_gib_per_gpu" > "$out/weights.csv"
layout() {  # model gpu gpus layout precision
  local m=$1 gpu=$2 n=$3 lay=$4 prec=$5 p='{"weights":"bf16","kv_cache":"bf16"}' label
  [[ $prec == fp8 ]] && p='{"weights":"fp8","activations":"fp8","kv_cache":"fp8"}'
  mapfile -t a < <(model_args "$m" "$n" "$lay")
  label="TP$n"; [[ $lay == tp-ep ]] && label="TP$n+EP$n"; [[ $lay == single ]] && label="TP1"
  "$kvsim" run "$(base "$m")" "${a[@]}" --set "/precision=$p" --set "/cluster/gpu=$gpu" \
    --out "$tmp/w" -q 2>>"$tmp/warnings" >/dev/null
  jq -r --arg row "$m,$gpu,$label,$prec" '.memory as $mem | .memory.strategies[0] |
    .gpus[] | select(.gpu == 0) | [$row, (.weights_bytes / 1073741824 * 100 | round / 100),
    (.total_bytes / 1073741824 * 100 | round / 100),
    ($mem.hbm_bytes * $mem.memory_utilization / 1073741824 * 100 | round / 100)] | join(",")' \
    "$tmp/w/results.json" >> "$out/weights.csv"
  rm -rf "$tmp/w"
}
layout mixtral-8x7b h200 2 tp bf16;       layout mixtral-8x7b h200 4 tp bf16
layout mixtral-8x7b h200 2 tp fp8
layout mixtral-8x22b h200 8 tp bf16;      layout mixtral-8x22b h200 4 tp fp8
layout qwen3-235b-a22b h200 8 tp fp8;     layout qwen3-235b-a22b h200 8 tp-ep fp8
layout qwen3-235b-a22b h200 8 tp-ep bf16
layout deepseek-v3 h200 8 tp-ep fp8;      layout deepseek-v3 b200 8 tp-ep fp8
layout llama-3.1-405b h200 8 tp fp8;      layout llama-3.1-405b b200 8 tp fp8
layout llama-3.1-70b h200 2 tp bf16;      layout llama-3.1-70b h200 1 single fp8
for m in qwen3-8b gemma-2-9b phi-3-mini mistral-7b llama-3.1-8b; do layout "$m" h200 1 single bf16; done
for m in qwen3-32b gemma-2-27b; do layout "$m" h200 1 single bf16; layout "$m" h200 2 tp bf16; done

# 3. The shipped MoE scenarios on H200 and B200 (B200: NVLink 5, 900 GB/s per direction):
# per-operation breakdowns, TTFT per strategy, decode, memory per GPU, serving.
echo "model,gpu,strategy,ttft_ms,peak_gib_per_gpu,peak_gpu" > "$out/ttft.csv"
echo "model,gpu,tensor_parallel,batch,context,tpot_ms,compute_ms,communication_ms,tokens_per_s" > "$out/decode.csv"
echo "model,gpu,pass,op,calls,gflop,gib,ms,share" > "$out/breakdown.csv"
echo "model,gpu,replicas,tensor_parallel,requests,rate,ttft_mean_ms,ttft_p99_ms,tpot_mean_ms,tpot_p99_ms,output_tokens_per_s,gpu_busy" > "$out/serve.csv"
scenario() {  # model gpu scenario-file [--set ...]
  local m=$1 gpu=$2 s=$3; shift 3
  "$kvsim" run "$s" "$@" --out "$tmp/r" --explain-costs 2>>"$tmp/warnings" | grep -v '^wrote .* files to ' \
    > "$out/explain-$m-$gpu.txt"
  jq -r --arg row "$m,$gpu" '.memory.strategies as $mem | .prefill[] as $p |
    ($mem[] | select(.strategy == $p.strategy)) as $s |
    [$row, $p.strategy, ($p.ttft_ns / 1e4 | round / 100), ($s.peak_bytes / 1073741824 * 100 | round / 100),
     $s.peak_gpu] | join(",")' "$tmp/r/results.json" >> "$out/ttft.csv"
  jq -r --arg row "$m,$gpu" '.decode | [$row, .tensor_parallel, .batch_size, .context_tokens,
    (.time_per_output_token_ns / 1e4 | round / 100), (.compute_ns / 1e4 | round / 100),
    (.communication_ns / 1e4 | round / 100), (.tokens_per_second | round)] | join(",")' \
    "$tmp/r/results.json" >> "$out/decode.csv"
  python3 - "$m,$gpu" "$tmp/r/breakdown.csv" >> "$out/breakdown.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[2])))  # the pass names hold commas: quoted fields
name = lambda r: "prefill-1gpu" if r["pass"].startswith("prefill") else "decode-shard"
total = {}
for r in rows:
    total[name(r)] = total.get(name(r), 0.0) + float(r["seconds"])
for r in rows:
    s = float(r["seconds"])
    print(f'{sys.argv[1]},{name(r)},{r["op"]},{r["calls"]},{float(r["flops"]) / 1e9:.2f},'
          f'{float(r["bytes"]) / 2**30:.3f},{s * 1e3:.3f},{100 * s / total[name(r)]:.1f}%')
PY
  rm -rf "$tmp/r"
  "$kvsim" serve "$s" "$@" --out "$tmp/s" -q 2>>"$tmp/warnings"
  jq -r --arg row "$m,$gpu" --arg rate "$(jq -r .serving.workload.arrivals.rate "$s")" \
    '.config as $c | [$row, $c.replicas, $c.tensor_parallel, (.ttft.count), $rate, (.ttft.mean_s * 1e5 | round / 100), (.ttft.p99_s * 1e5 | round / 100),
    (.tpot.mean_s * 1e5 | round / 100), (.tpot.p99_s * 1e5 | round / 100),
    (.output_throughput | round), (.gpu_busy_fraction * 1000 | round / 1000)] | join(",")' \
    "$tmp/s/summary.json" >> "$out/serve.csv"
  rm -rf "$tmp/s"
}
b200=(--set /cluster/gpu=b200 --set /cluster/topology/link/bandwidth=900GB/s)
scenario mixtral-8x7b h200 scenarios/moe/mixtral-8x7b-h200.json
scenario mixtral-8x7b b200 scenarios/moe/mixtral-8x7b-h200.json "${b200[@]}"
scenario qwen3-235b-a22b h200 scenarios/moe/qwen3-235b-a22b-h200-ep8.json
scenario qwen3-235b-a22b b200 scenarios/moe/qwen3-235b-a22b-h200-ep8.json "${b200[@]}"
scenario deepseek-v3 h200 scenarios/moe/deepseek-v3-h200-ep8.json
scenario deepseek-v3 b200 scenarios/moe/deepseek-v3-b200-ep8.json

# 4. dp-attention.csv: the same scenarios with the decode step and the serving replica as
# data-parallel attention ranks (one per GPU of the layout, the routed experts EP over them).
echo "model,gpu,ranks,batch,context,tpot_ms,compute_ms,communication_ms,tokens_per_s,busiest_rank_sequences,all_to_all_kib,weights_gib_per_gpu,kv_gib_per_gpu,serve_ttft_mean_ms,serve_ttft_p99_ms,serve_tpot_mean_ms,serve_tpot_p99_ms,serve_output_tokens_per_s" > "$out/dp-attention.csv"
dp() {  # model gpu scenario-file [--set ...]
  local m=$1 gpu=$2 s=$3; shift 3
  local dp_set=(--set /decode/data_parallel_attention=true --set /serving/data_parallel_attention=true)
  "$kvsim" run "$s" "$@" "${dp_set[@]}" --out "$tmp/r" -q 2>>"$tmp/warnings"
  "$kvsim" serve "$s" "$@" "${dp_set[@]}" --out "$tmp/s" -q 2>>"$tmp/warnings"
  jq -r -n --arg row "$m,$gpu" --slurpfile r "$tmp/r/results.json" --slurpfile v "$tmp/s/summary.json" \
    '$r[0].decode as $d | $d.data_parallel_attention as $p | $v[0] as $s | [$row,
     $d.tensor_parallel, $d.batch_size, $d.context_tokens,
     ($d.time_per_output_token_ns / 1e4 | round / 100), ($d.compute_ns / 1e4 | round / 100),
     ($d.communication_ns / 1e4 | round / 100), ($d.tokens_per_second | round),
     $p.busiest_rank_sequences, ($p.all_to_all_bytes / 1024 * 100 | round / 100),
     ($p.weight_bytes_per_gpu / 1073741824 * 100 | round / 100),
     ($p.kv_bytes_per_gpu / 1073741824 * 100 | round / 100),
     ($s.ttft.mean_s * 1e5 | round / 100), ($s.ttft.p99_s * 1e5 | round / 100),
     ($s.tpot.mean_s * 1e5 | round / 100), ($s.tpot.p99_s * 1e5 | round / 100),
     ($s.output_throughput | round)] | join(",")' >> "$out/dp-attention.csv"
  rm -rf "$tmp/r" "$tmp/s"
}
dp mixtral-8x7b h200 scenarios/moe/mixtral-8x7b-h200.json
dp mixtral-8x7b b200 scenarios/moe/mixtral-8x7b-h200.json "${b200[@]}"
dp qwen3-235b-a22b h200 scenarios/moe/qwen3-235b-a22b-h200-ep8.json
dp qwen3-235b-a22b b200 scenarios/moe/qwen3-235b-a22b-h200-ep8.json "${b200[@]}"
dp deepseek-v3 h200 scenarios/moe/deepseek-v3-h200-ep8.json
dp deepseek-v3 b200 scenarios/moe/deepseek-v3-b200-ep8.json
sort -u "$tmp/warnings" > "$out/warnings.txt"

# tables.md: the CSVs as markdown (the breakdowns keep operations of at least 2% of their pass).
python3 - "$out" > "$out/tables.md" <<'PY'
import csv, sys
out = sys.argv[1]
def table(title, name, keep=lambda r: True):
    rows = [r for r in csv.reader(open(f"{out}/{name}"))]
    print(f"## {title} ({name})\n")
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for r in rows[1:]:
        if keep(dict(zip(rows[0], r))):
            print("| " + " | ".join(r) + " |")
    print()
print("# Generated by make.sh: kvsim's roofline predictions, nothing measured\n")
table("Parameters, kvsim against the authors' published counts", "params.csv")
table("KV cache per token (full-attention equivalent per layer summed)", "models.csv")
table("Weights and peak memory per GPU, prefill of 2,048 tokens", "weights.csv")
table("TTFT of 8,192 tokens per strategy, 8 GPUs, and the fullest GPU's memory", "ttft.csv")
table("Decode step, batch 64 at 8,192 KV tokens", "decode.csv")
table("Serving with EP replicas (kvsim serve of the shipped scenarios)", "serve.csv")
table("Data-parallel attention with EP: decode step and serving", "dp-attention.csv")
table("Per-operation cost, operations of at least 2% of their pass", "breakdown.csv",
      lambda r: float(r["share"].rstrip("%")) >= 2.0)
PY
echo "results/models regenerated"
