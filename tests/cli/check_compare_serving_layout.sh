#!/usr/bin/env bash
# check_compare_serving_layout.sh KVSIM SCENARIO DIR: a lone request that `kvsim serve` runs on
# the scenario's serving layout (Llama-2-70B, tensor_parallel 4), written as a vllm bench serve
# result, is predicted by `kvsim compare` to within 0.01% (the CSV rounds to the microsecond).
# compare used to predict it on one GPU, several times slower.
set -eu
kvsim=$1 scenario=$2 dir=$3
rm -rf "$dir"
lone=(--set '/serving/workload/requests=1'
      --set '/serving/workload/arrivals={"type": "burst"}'
      --set '/serving/workload/lengths={"type": "fixed", "prompt": 2000, "output": 8}')
"$kvsim" serve "$scenario" "${lone[@]}" --out "$dir" --requests -q
ttft=$(tail -n 1 "$dir/requests.csv" | cut -d, -f9)
cat > "$dir/bench.json" <<JSON
{"model_id": "meta-llama/Llama-2-70b-hf", "request_rate": "inf", "max_concurrency": null,
 "input_lens": [2000], "output_lens": [8], "ttfts": [$ttft]}
JSON
"$kvsim" compare "$scenario" "$dir/bench.json" --max-point-error 0.01 -q
