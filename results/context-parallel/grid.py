#!/usr/bin/env python3
"""Runs the context-parallel grid through `kvsim run`, one strategy per call (a strategy whose
memory plan does not fit is refused by kvsim with exit 2; that point is recorded as not fitting
rather than dropped silently), and writes one long CSV per experiment:
  model,fabric,nodes,context,condition,cached_share,strategy,ttft_ms,compute_ms,communication_ms,status
Called by make.sh; the grid is sampled to stay within a few minutes of CPU on 2 cores."""
import csv
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KVSIM = os.path.join(ROOT, "build", "tools", "kvsim")
OUT = os.path.join(ROOT, "results", "context-parallel")
SCEN = {"llama-3-70b": "scenarios/context-parallel/llama-3-70b-h100.json",
        "llama-3.1-405b": "scenarios/context-parallel/llama-3.1-405b-h100.json"}
HEADS = {"llama-3-70b": 64, "llama-3.1-405b": 128}


def search(context):
    """KVR-S, bounded: cut points on a grid of context/256 tokens, at most 300 coarse candidates
    and one refinement (plus the one from the even split). Its cost grows steeply with the chain:
    at 1M tokens on TP8 groups it took 0.6 s for 4 groups, 4.3 s for 8 and 294 s for 16 (2
    cores shared with other work), so the grid runs KVR-S on at most 8 nodes."""
    return {"type": "search", "granularity": max(16, context // 256), "coarse_candidates": 300,
            "starts": 1}


def strategies(model, nodes, context):
    """The layouts compared at a point: TP over every GPU where the heads allow it, and the
    two-level layouts (a TP8 group per node, the sequence split over the nodes)."""
    out = []
    if HEADS[model] % (8 * nodes) == 0:
        out.append(("tp", {"type": "tp"}))
    if nodes == 1:
        return out  # one sequence rank: every two-level layout is TP8
    out += [("tsp", {"type": "tsp", "tp": 8}),
            ("kvr-e", {"type": "kvr", "tp": 8}),
            ("ring pass-kv", {"type": "ring", "tp": 8}),
            ("ring pass-q", {"type": "ring", "variant": "pass-q", "tp": 8})]
    if nodes <= 8:
        out.append(("kvr-s", {"type": "kvr", "tp": 8, "partitioner": search(context)}))
    return out


def run(job):
    row, sets, strategy = job
    with tempfile.TemporaryDirectory() as d:
        cmd = [KVSIM, "run", SCEN[row["model"]], "-q", "--out", d,
               "--set", "/prefill/strategies=" + json.dumps([strategy])]
        for pointer, value in sets:
            cmd += ["--set", f"{pointer}={json.dumps(value)}"]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        out = dict(row)
        if p.returncode == 2 and "GiB" in p.stderr:
            out.update(ttft_ms="", compute_ms="", communication_ms="", status="does not fit")
            return out
        if p.returncode != 0:
            sys.exit(f"kvsim failed ({p.returncode}) on {row}: {p.stderr}")
        r = json.load(open(os.path.join(d, "results.json")))["prefill"][0]
        out.update(ttft_ms=f"{r['ttft_ms']:.3f}",
                   compute_ms=f"{r['critical_compute_ns'] / 1e6:.3f}",
                   communication_ms=f"{r['critical_communication_ns'] / 1e6:.3f}", status="ok")
        return out


def point(model, fabric, nodes, context, condition="even", cached=0.0, extra=()):
    row = dict(model=model, fabric=fabric, nodes=nodes, context=context, condition=condition,
               cached_share=cached)
    sets = [("/cluster/topology/nodes", nodes), ("/cluster/topology/fabric", fabric),
            ("/prefill/context_tokens", context)] + list(extra)
    return row, sets


def uneven(nodes):
    """Node 1's eight NICs at a quarter of their rate (a degraded or oversubscribed node)."""
    links = [[f"n1.nic{k}", "fabric"] for k in range(8)]
    return [("/cluster/heterogeneity", [{"type": "scale-links", "links": links, "scale": 0.25}])]


def experiments():
    grid = []
    for model in SCEN:
        for fabric in ("rail-400g-rdma", "frontend-100g-tcp"):
            for nodes in (1, 2, 4, 8, 16):
                for context in (8192, 32768, 131072, 524288, 1048576):
                    row, sets = point(model, fabric, nodes, context)
                    grid += [(dict(row, strategy=n), sets, s) for n, s in strategies(model, nodes, context)]
    skew = []
    for model in SCEN:
        for condition in ("even", "uneven"):
            for context in (131072, 524288):
                extra = uneven(4) if condition == "uneven" else []
                row, sets = point(model, "rail-400g-rdma", 4, context, condition, 0.0, extra)
                skew += [(dict(row, strategy=n), sets, s) for n, s in strategies(model, 4, context)]
    cached = []
    for fabric in ("rail-400g-rdma", "frontend-100g-tcp"):
        for share in (0.0, 0.5, 0.75, 0.8, 0.9, 0.95):
            row, sets = point("llama-3-70b", fabric, 4, 131072, "even", share)
            for name, variant in (("ring pass-kv", "pass-kv"), ("ring pass-q", "pass-q"),
                                  ("ring auto", "auto")):
                s = {"type": "ring", "variant": variant, "tp": 8, "cached_share": share}
                cached.append((dict(row, strategy=name), sets, s))
    # The same layouts with every kernel on the spec-sheet roofline: the calibrated attention
    # fit prices a whole causal triangle at about half the rate of a block after earlier keys,
    # which favours layouts with smaller blocks; the roofline run separates that from layout.
    roof = []
    for nodes in (1, 2, 4, 8, 16):
        for context in (32768, 131072, 1048576):
            row, sets = point("llama-3-70b", "rail-400g-rdma", nodes, context, "roofline", 0.0,
                              [("/compute", {"type": "roofline"})])
            roof += [(dict(row, strategy=n), sets, s) for n, s in strategies("llama-3-70b", nodes, context)]
    return {"grid": grid, "uneven": skew, "cached": cached, "roofline": roof}


def main():
    fields = ["model", "fabric", "nodes", "context", "condition", "cached_share", "strategy",
              "ttft_ms", "compute_ms", "communication_ms", "status"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        only = sys.argv[1:]  # experiment names to rerun (all when none)
        for name, jobs in experiments().items():
            if only and name not in only:
                continue
            rows = list(pool.map(run, jobs))
            with open(os.path.join(OUT, f"{name}.csv"), "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
                w.writeheader()
                w.writerows(rows)
            print(f"{name}.csv: {len(rows)} runs")


if __name__ == "__main__":
    main()
