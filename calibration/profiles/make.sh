#!/usr/bin/env bash
# Regenerates the device profiles fitted to Vidur's published profiling data (read in place from
# ../shared/data/vidur; MIT licence) and their fit reports in results/calibration/:
#   bash calibration/profiles/make.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
vidur=../shared/data/vidur
kvsim=build/tools/kvsim
"$kvsim" calibrate --gpu a100-sxm4-80gb --name a100-sxm4-80gb \
  --vidur-compute "$vidur/compute/a100" \
  --vidur-attention "$vidur/attention/a100/meta-llama/Llama-2-7b-hf/attention_points.csv" \
  --source "Vidur (Microsoft, MIT licence) profiling data: compute/a100/*/mlp.csv (GEMMs and elementwise kernels of Llama-2-7B, Llama-2-70B, Llama-3-70B, CodeLlama-34B, Phi-2 at TP 1, 2, 4, 8; PyTorch + kineto, fp16, medians) and attention/a100/meta-llama/Llama-2-7b-hf/attention_points.csv (FlashAttention prefill chunks and decode batches, TP 1). The A100 is an 80 GB part; SXM or PCIe was not recorded. Gaps: attention only for 32 heads of 128 (other shapes use the grid fit, FlashAttention-2's launch rules, marked extrapolated); eager attention from the GEMM fit; LM head and sampling from the fits." \
  --out calibration/profiles/a100-sxm4-80gb.json --report results/calibration/a100-sxm4-80gb \
  --attention-validation results/calibration/attention_grid.md
"$kvsim" calibrate --gpu h100-sxm --name h100-sxm \
  --vidur-compute "$vidur/compute/h100" \
  --source "Vidur (Microsoft, MIT licence) profiling data: compute/h100/*/mlp.csv (GEMMs and elementwise kernels of Llama-2-7B, Llama-2-70B, CodeLlama-34B, Phi-2 at TP 1, 2, 4, 8; PyTorch + kineto, fp16, medians). Gaps: no attention measurements for H100, so fused attention is derived from the a100-sxm4-80gb profile at load time (provenance 'derived', with a warning); the H100 variant (SXM assumed) was not recorded." \
  --out calibration/profiles/h100-sxm.json --report results/calibration/h100-sxm
# Collective protocols and the point-to-point protocol fitted to Vidur's torch.distributed
# all-reduce and send/recv medians: fixed costs by GPU count and NVLink efficiency inside one
# DGX, network efficiency from the rows across two (the nccl-dgx-* profiles are fitted to
# nccl-tests instead; results/network compares both). NICs: DGX-A100 has one 200 Gb/s HDR
# InfiniBand NIC per GPU, DGX-H100 one 400 Gb/s NDR (Vidur's H100 send/recv across servers
# reaches 36 GB/s, more than a 200 Gb/s NIC carries).
"$kvsim" calibrate-network --gpu a100-sxm4-80gb --name vidur-dgx-a100 \
  --vidur-all-reduce "$vidur/network/a100_dgx/all_reduce.csv" \
  --vidur-send-recv "$vidur/network/a100_dgx/send_recv.csv" --nic 200Gb/s \
  --out calibration/profiles/vidur-dgx-a100.json
"$kvsim" calibrate-network --gpu h100-sxm --name vidur-dgx-h100 \
  --vidur-all-reduce "$vidur/network/h100_dgx/all_reduce.csv" \
  --vidur-send-recv "$vidur/network/h100_dgx/send_recv.csv" --nic 400Gb/s \
  --out calibration/profiles/vidur-dgx-h100.json
