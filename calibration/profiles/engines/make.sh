#!/usr/bin/env bash
# Regenerates the shipped engine profiles (calibration/profiles/engines/*.json) and their fit
# reports (results/accuracy/engines/<name>.md) from the published end-to-end engine measurements in
# ../shared/data/engines, read in place. NEVER from Llama-2 end-to-end measurements: those are
# kept aside to validate these fits. Run from anywhere, after building:
#   bash calibration/profiles/engines/make.sh
# Each fit starts from the discrete choices in base/<engine>.json (fusion, CUDA graphs, all-reduce
# type, attention kernel) and fits only the parameters its data can determine (results/accuracy/
# README.md says why each). Rebuild afterwards: kvsim embeds the profiles.
set -euo pipefail
cd "$(dirname "$0")/../../.."
data=../shared/data/engines
kvsim=build/tools/kvsim
gpus=(--gpu-scenario a100-sxm4-80gb=scenarios/engines/dgx-a100.json
      --gpu-scenario h100-sxm=scenarios/engines/dgx-h100.json
      --gpu-scenario h200=scenarios/engines/dgx-h200.json)

fit() {  # fit NAME BASE ARGS...: the profile NAME.json and its report results/accuracy/engines/NAME.md
  local name=$1 base=$2
  shift 2
  "$kvsim" calibrate-engine "${gpus[@]}" --base "calibration/profiles/engines/base/$base.json" \
    --name "$name" --out "build/engine-fits/$name" -q "$@"
  cp "build/engine-fits/$name/engine.json" "calibration/profiles/engines/$name.json"
  cp "build/engine-fits/$name/report.md" "results/accuracy/engines/$name.md"
}
mkdir -p results/accuracy/engines

# Splitwise's serving stack: BLOOM-176B, TP8 on DGX-A100 and DGX-H100, TTFT and TPOT (medians of
# repeats; compare reads the table in place and handles runs that stopped early).
fit splitwise splitwise "$data/splitwise_bloom-176b.csv" \
  --description "Splitwise's serving stack (Patel et al., ISCA 2024; reported vLLM-based, unfused PyTorch kernels, NCCL): BLOOM-176B fp16 at TP8 on DGX-A100-80GB and DGX-H100, batch 1-64, prompts 128-8192" \
  --fit /host/per_pass,/host/per_sequence,/host/per_token,/attention/time_scale

# TensorRT-LLM, one profile per version (their published numbers differ by up to 25% on the same
# configuration, in both directions, so one profile cannot serve both).
fit trtllm-v0.5 trtllm-v0.5 "$data/trtllm_ttft.csv" "$data/trtllm_decode.csv" \
  --description "TensorRT-LLM v0.5 (fused elementwise kernels, custom all-reduce at TP8): GPT-J-6B and Falcon-180B, A100-SXM4-80GB fp16 and H100-SXM fp8, batch-1 TTFT at 128 and 2048 prompt tokens, GPT-J-6B batch 1 and 64 decode" \
  --where "engine=TensorRT-LLM v0.5" \
  --fit /host/per_pass,/host/per_token,/attention/time_scale,/all_reduce/latency/8
fit trtllm-v0.9 trtllm-v0.9 "$data/trtllm_ttft.csv" --where "engine=TensorRT-LLM v0.9" \
  --description "TensorRT-LLM v0.9 (fused elementwise kernels, custom all-reduce at TP4 and TP8): GPT-J-6B, Mistral-7B and Falcon-180B, A100-SXM4-80GB fp16, H100-SXM and H200 fp8, batch-1 TTFT at 128 and 2048 prompt tokens (no decode measurement)" \
  --fit /host/per_pass,/host/per_token,/attention/time_scale,/all_reduce/latency/4,/all_reduce/latency/8
