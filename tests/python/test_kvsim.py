"""The Python module against the command line: the same inputs give the same results.

Run by ctest (tests/python/CMakeLists.txt) with the module on PYTHONPATH, KVSIM_BIN the kvsim
binary and KVSIM_SOURCE_DIR the checkout; by hand:
  PYTHONPATH=build/tools/python KVSIM_BIN=build/tools/kvsim KVSIM_SOURCE_DIR=. \
      /usr/bin/python3 -m unittest discover -s tests/python
"""
import csv
import json
import os
import subprocess
import tempfile
import unittest

import kvsim

SOURCE = os.environ["KVSIM_SOURCE_DIR"]
BINARY = os.environ["KVSIM_BIN"]
DEFAULT = os.path.join(SOURCE, "scenarios", "default.json")
BURST = os.path.join(SOURCE, "tests", "serving", "golden", "burst.json")
GOLDEN = os.path.join(SOURCE, "tests", "serving", "golden", "expected")
# Every directory a test makes lies in this one, removed when the interpreter exits.
SCRATCH = tempfile.TemporaryDirectory(prefix="kvsim-python-")


def fresh_dir():
    return tempfile.mkdtemp(dir=SCRATCH.name)


def cli(*args):
    """Runs the kvsim binary into a fresh directory; returns the directory."""
    out = fresh_dir()
    subprocess.run([BINARY, *args, "--out", out, "-q"], check=True, stderr=subprocess.DEVNULL)
    return out


def read_json(path):
    with open(path) as f:
        return json.load(f)


def csv_columns(path):
    """A CSV file as columns, cells typed the way the module types them."""
    def cell(text):
        if text == "":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return {name: [cell(r[i]) for r in rows[1:]] for i, name in enumerate(rows[0])}


class RunTest(unittest.TestCase):
    def test_run_equals_the_command_lines_results(self):
        out = cli("run", DEFAULT)
        r = kvsim.run(DEFAULT)
        tables = r.pop("tables")
        self.assertEqual(r, read_json(os.path.join(out, "results.json")))
        self.assertEqual(tables["prefill"], csv_columns(os.path.join(out, "prefill.csv")))
        self.assertEqual(tables["breakdown"], csv_columns(os.path.join(out, "breakdown.csv")))

    def test_a_dict_runs_like_its_file_and_set_overrides_apply(self):
        with open(DEFAULT) as f:
            scenario = json.load(f)
        scenario["prefill"]["context_tokens"] = 2048
        from_dict = kvsim.run(scenario)
        from_file = kvsim.run(DEFAULT, set=["/prefill/context_tokens=2048"])
        self.assertEqual(from_dict["prefill"], from_file["prefill"])
        self.assertNotEqual(from_file["prefill"], kvsim.run(DEFAULT)["prefill"])

    def test_bad_input_raises_input_error_with_the_pointer(self):
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.run(DEFAULT, set=["/prefill/context_tokens=-5"])
        self.assertEqual(caught.exception.pointer, "/prefill/context_tokens")
        self.assertEqual(caught.exception.file, DEFAULT)
        self.assertIn("/prefill/context_tokens", str(caught.exception))
        self.assertIsInstance(caught.exception, ValueError)
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.run({"name": "x", "model": "llama-2-7b", "clustr": {}})
        self.assertEqual(caught.exception.file, "<dict>")
        self.assertIn("cluster", caught.exception.message)  # did you mean 'cluster'

    def test_strict_refuses_a_warning(self):
        # Past Llama-2's 4,096-token trained context: a warning, which strict refuses.
        long_context = ["/prefill/context_tokens=8192"]
        self.assertTrue(kvsim.run(DEFAULT, set=long_context)["warnings"])
        with self.assertRaises(kvsim.InputError):
            kvsim.run(DEFAULT, set=long_context, strict=True)


class ServeTest(unittest.TestCase):
    def test_serve_equals_the_golden_summary_and_requests(self):
        s = kvsim.serve(BURST, requests=True)
        requests = s.pop("tables")["requests"]
        self.assertEqual(s, read_json(os.path.join(GOLDEN, "burst-vllm-recompute", "summary.json")))
        expected = csv_columns(os.path.join(GOLDEN, "burst-vllm-recompute", "requests.csv"))
        self.assertEqual(requests, expected)
        self.assertEqual(len(requests["id"]), s["requests"])

    def test_timeline_columns(self):
        s = kvsim.serve(BURST, set=["/serving/workload/requests=20"], timeline=True,
                        timeline_interval=0.5)
        timeline = s["tables"]["timeline"]
        self.assertEqual(list(timeline)[:2], ["time_s", "replica"])
        self.assertGreater(len(timeline["time_s"]), 1)
        self.assertTrue(all(0 <= u <= 1 for u in timeline["kv_utilization"]))
        with self.assertRaises(kvsim.InputError):
            kvsim.serve(BURST, timeline=True, timeline_interval=0)

    def test_trace_is_the_command_lines_trace_json(self):
        sets = ["/serving/workload/requests=40"]
        options = ["--trace-window", "0:5", "--trace-requests", "10"]
        out = cli("serve", BURST, "--set", sets[0], "--trace", *options)
        path = os.path.join(fresh_dir(), "burst.trace.json")
        kvsim.serve(BURST, set=sets, trace=path, trace_window="0:5", trace_requests=10)
        with open(path) as f, open(os.path.join(out, "trace.json")) as g:
            self.assertEqual(f.read(), g.read())
        self.assertEqual(os.listdir(os.path.dirname(path)), ["burst.trace.json"])
        # The command line's bounds, named as keyword arguments; nothing written on an error.
        refused = os.path.join(fresh_dir(), "refused.json")
        for bad, name in ((dict(trace_window="5:1"), "trace_window"),
                          (dict(trace_limit="1KB"), "trace_limit")):
            with self.assertRaises(kvsim.InputError) as caught:
                kvsim.serve(BURST, set=sets, trace=refused, **bad)
            self.assertEqual(caught.exception.file, name)
            self.assertEqual(os.listdir(os.path.dirname(refused)), [])

    def test_set_adds_a_field_the_format_allows_like_the_command_line(self):
        # The burst scenario has no "slo": set= adds it and its parent object, as --set does.
        sets = ["/serving/workload/requests=30", "/serving/slo/ttft=100ms"]
        out = cli("serve", BURST, *[a for s in sets for a in ("--set", s)])
        s = kvsim.serve(BURST, set=sets)
        self.assertEqual(s, read_json(os.path.join(out, "summary.json")))
        self.assertIsNotNone(s["vllm_bench"]["request_goodput"])  # None without an SLO
        # A key the format does not have is refused naming what it allows there.
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.serve(BURST, set=["/serving/scheduler/preemptoin=swap"])
        self.assertEqual(caught.exception.pointer, "/serving/scheduler/preemptoin")
        self.assertIn("did you mean 'preemption'", caught.exception.message)
        # A dict goes through the same overrides.
        scenario = {"name": "x", "model": "llama-2-7b", "cluster": {"gpu": "a100-sxm4-80gb"},
                    "prefill": {"context_tokens": 1024, "strategies": [{"type": "single"}]}}
        kvsim.run(scenario, set=["/seed=7"])  # absent from the dict: added, not refused
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.run(scenario, set=["/prefil/context_tokens=5"])
        self.assertEqual(caught.exception.file, "<dict>")
        self.assertIn("did you mean 'prefill'", caught.exception.message)

    # Every field `vllm bench serve --save-result` writes: vLLM's vllm/benchmarks/serve.py
    # (main_async's result_json, benchmark()'s result dict, calculate_metrics()).
    VLLM_FIELDS = (
        ["date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id",
         "num_prompts", "request_rate", "burstiness", "max_concurrency", "duration",
         "completed", "failed", "total_input_tokens", "total_output_tokens",
         "request_throughput", "request_goodput", "output_throughput",
         "total_token_throughput", "max_output_tokens_per_s", "max_concurrent_requests"]
        + [f"{stat}_{metric}_ms" for metric in ("ttft", "tpot", "itl", "e2el")
           for stat in ("mean", "median", "std", "p99")])
    DETAILED = ["input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors"]

    def test_vllm_bench_carries_every_field_vllm_writes(self):
        s = kvsim.serve(BURST, set=["/serving/workload/requests=60"], requests=True,
                        save_detailed=True)
        bench, requests = s["vllm_bench"], s["tables"]["requests"]
        self.assertEqual([f for f in self.VLLM_FIELDS + self.DETAILED if f not in bench], [])
        self.assertEqual(bench["num_prompts"], 60)
        self.assertEqual(bench["model_id"], "opt-13b")
        self.assertIsNone(bench["request_goodput"])  # no SLO, as vLLM without --goodput
        # numpy's population std, from the per-request table (written to the microsecond).
        ttfts = requests["ttft_s"]
        mean = sum(ttfts) / len(ttfts)
        std_ms = 1e3 * (sum((t - mean) ** 2 for t in ttfts) / len(ttfts)) ** 0.5
        self.assertAlmostEqual(bench["std_ttft_ms"], std_ms, delta=1e-3)
        # The arrays hold the completed requests in id order.
        order = sorted(range(len(requests["id"])), key=lambda i: requests["id"][i])
        self.assertEqual(bench["input_lens"], [requests["prompt_tokens"][i] for i in order])
        for got, want in zip(bench["ttfts"], (requests["ttft_s"][i] for i in order)):
            self.assertAlmostEqual(got, want, delta=1e-6)
        for gaps, i in zip(bench["itls"], order):
            self.assertEqual(len(gaps), requests["output_tokens"][i] - 1)
        # Peak concurrency: requests active in each whole second (vLLM's buckets, from 0).
        busy = {}
        for a, c in zip(requests["arrival_s"], requests["completion_s"]):
            for second in range(int(a), int(c) + 1):
                busy[second] = busy.get(second, 0) + 1
        self.assertEqual(bench["max_concurrent_requests"], max(busy.values()))
        self.assertNotIn("ttfts", kvsim.serve(BURST, set=["/serving/workload/requests=5"])
                         ["vllm_bench"])

    def test_serve_without_a_serving_section_names_it(self):
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.serve(DEFAULT)
        self.assertEqual(caught.exception.pointer, "/serving")


class SweepSearchTest(unittest.TestCase):
    def test_sweep_equals_the_command_lines_csv_and_summary(self):
        sweep = {"name": "python-sweep", "base": DEFAULT,
                 "axes": [{"name": "context", "pointer": "/prefill/context_tokens",
                           "values": [1024, 2048]}]}
        path = os.path.join(fresh_dir(), "sweep.json")
        with open(path, "w") as f:
            json.dump(sweep, f)
        out = cli("sweep", path)
        from_dict = kvsim.sweep(sweep)
        from_file = kvsim.sweep(path)
        self.assertEqual(from_dict["tables"], from_file["tables"])
        self.assertEqual(from_file["tables"]["sweep"], csv_columns(os.path.join(out, "sweep.csv")))
        del from_file["tables"]
        self.assertEqual(from_file, read_json(os.path.join(out, "summary.json")))
        self.assertEqual(from_dict["tables"]["sweep"]["context"], [1024, 2048])

    def test_search_equals_the_command_lines_search(self):
        out = cli("search", DEFAULT, "--granularity", "256")
        r = kvsim.search(DEFAULT, options={"granularity": 256})
        tables = r.pop("tables")
        self.assertEqual(r, read_json(os.path.join(out, "search.json")))
        self.assertEqual(tables["search_trace"],
                         csv_columns(os.path.join(out, "search_trace.csv")))
        self.assertEqual(sum(r["partition"]), r["context_tokens"])

    def test_search_options_are_checked_like_a_files(self):
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.search(DEFAULT, options={"granularty": 256})
        self.assertIn("granularity", caught.exception.message)
        with self.assertRaises(kvsim.InputError) as caught:
            kvsim.search(DEFAULT, options={"starts": 0})
        self.assertEqual(caught.exception.pointer, "/starts")


if __name__ == "__main__":
    unittest.main()
