#!/usr/bin/env python3
"""Re-derives the engine-profile regression gates after the profiles are refitted.

Runs `kvsim compare` with each shipped engine profile on its training rows, one GPU (and
TensorRT-LLM version) at a time, writes each gate threshold just above the achieved error
(rounded up to 0.1 after adding 0.5 points) into tests/cli/CMakeLists.txt, and prints the
table results/accuracy/README.md quotes. Run from the project root after
calibration/profiles/engines/make.sh and a rebuild:
    python3 results/accuracy/engines/update-gates.py
"""
import json, math, os, subprocess, tempfile

KVSIM, DATA = "build/tools/kvsim", "../shared/data/engines"
GPUS = {"a100": "a100-sxm4-80gb", "h100": "h100-sxm", "h200": "h200"}
# (profile, data file, version filter or None, GPUs that have rows)
RUNS = [("splitwise", "splitwise_bloom-176b", None, ["a100", "h100"]),
        ("trtllm-v0.5", "trtllm_decode", "0.5", ["a100", "h100"]),
        ("trtllm-v0.5", "trtllm_ttft", "0.5", ["a100", "h100"]),
        ("trtllm-v0.9", "trtllm_ttft", "0.9", ["a100", "h100", "h200"])]


def up(x):
    return math.ceil((100 * x + 0.5) * 10) / 10


def compare(profile, data, version, gpu, out):
    where = ["--where", f"gpu={GPUS[gpu]}"]
    if version:
        where += ["--where", f"engine=TensorRT-LLM v{version}"]
    args = [KVSIM, "compare", f"scenarios/engines/dgx-{gpu}.json", f"{DATA}/{data}.csv",
            "--set", f"/engine={profile}", *where, "-q", "--out", out]
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)
    return json.load(open(os.path.join(out, "compare.json")))["aggregates"], where


def gate(profile, data, gpu, where, a):
    gates = f"--max-mape {up(a['mape'])} --max-point-error {up(a['worst'])}"
    if a.get("tpot", {}).get("points", 0) > 0:
        gates += (f" --max-tpot-mape {up(a['tpot']['mape'])}"
                  f" --max-tpot-point-error {up(a['tpot']['worst'])}")
    quoted = " ".join(w if w.startswith("--") or " " not in w else f'"{w}"' for w in where)
    tag = "splitwise" if data.startswith("splitwise") else data
    return (f"add_test(NAME cli.engine_profile_{profile}_{gpu}_{tag}_gate\n"
            f"         COMMAND ${{profile_gate}} ${{engine_data}}/{data}.csv $<TARGET_FILE:kvsim> compare\n"
            f"                 ${{PROJECT_SOURCE_DIR}}/scenarios/engines/dgx-{gpu}.json ${{engine_data}}/{data}.csv\n"
            f"                 --set /engine={profile} {quoted}\n"
            f"                 {gates})")


def row(name, a):
    pct = lambda x: f"{100 * x:.1f}%"
    t = a.get("tpot", {})
    tpot = (f"{t['points']} | {pct(t['median_ape'])} | {pct(t['mape'])} | {pct(t['worst'])} | "
            f"{100 * t['bias']:+.1f}%") if t.get("points") else "- | - | - | - | -"
    return (f"| {name} | {a['points']} | {pct(a['median_ape'])} | {pct(a['mape'])} | "
            f"{pct(a['worst'])} | {100 * a['bias']:+.1f}% | {tpot} |")


def main():
    tests, table = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for profile, data, version, gpus in RUNS:
            for gpu in gpus:
                a, where = compare(profile, data, version, gpu, os.path.join(tmp, f"{profile}-{data}-{gpu}"))
                tests.append(gate(profile, data, gpu, where, a))
                table.append(row(f"{profile}, {data}, {gpu.upper()}", a))
    path = "tests/cli/CMakeLists.txt"
    text = open(path).read()
    start_mark = "set(engine_data ${PROJECT_SOURCE_DIR}/../shared/data/engines)\n"
    start = text.index(start_mark) + len(start_mark)
    end = text.index("get_property(engine_gates DIRECTORY PROPERTY TESTS)")
    open(path, "w").write(text[:start] + "\n".join(tests) + "\n" + text[end:])
    print("| compare run | TTFT n | median | mean | worst | bias | TPOT n | median | mean | worst | bias |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
