#!/usr/bin/env python3
"""kvsim serve --trace: the trace obeys the rules of Perfetto's JSON importer.

  check_serve_trace.py KVSIM SCENARIO OUT MAX_MB [serve options...]

Runs `kvsim serve SCENARIO --out OUT --trace --requests [options]` and checks trace.json:
complete events ("X") on one track (pid, tid) nest or are disjoint (Perfetto drops an
overlapping slice); every request's async slice has one begin ("b") and one end ("e"), the end
not before the begin; counters carry numbers; the file is under MAX_MB megabytes; every event
lies in --trace-window when one is given; at most --trace-requests request slices, and without a
sample one per row of requests.csv; otherData states the bounds. Times are compared as exact
decimals (the trace writes integer nanoseconds as microseconds).
"""
import collections
import csv
import decimal
import json
import os
import subprocess
import sys

kvsim, scenario, out, max_mb, *options = sys.argv[1:]
if "--needs" in options:  # --needs FILE: the external data the scenario reads; skip without it
    needed = options.pop(options.index("--needs") + 1)
    options.remove("--needs")
    if not os.path.exists(needed):
        print(f"skipped: {needed} is absent (../shared/data)")
        sys.exit(77)
subprocess.run([kvsim, "serve", scenario, "--out", out, "--trace", "--requests", "-q", *options],
               check=True)
path = os.path.join(out, "trace.json")
size = os.path.getsize(path)
assert size < float(max_mb) * 1e6, f"trace.json is {size} bytes, over {max_mb} MB"
with open(path) as f:
    trace = json.load(f, parse_float=decimal.Decimal)
events = trace["traceEvents"]

window = None
if "--trace-window" in options:
    start, end = options[options.index("--trace-window") + 1].split(":")
    window = (decimal.Decimal(start) * 10**6, decimal.Decimal(end) * 10**6)  # microseconds

tracks = collections.defaultdict(list)
asyncs = collections.defaultdict(list)
for e in events:
    ph = e["ph"]
    if ph == "X":
        assert e["dur"] >= 0, e
        tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
        if window:
            assert e["ts"] + e["dur"] >= window[0] and e["ts"] <= window[1], e
    elif ph in ("b", "e"):
        asyncs[(e["cat"], e["id"], e["pid"])].append((ph, e["ts"]))
    elif ph == "C":
        assert e["args"] and all(isinstance(v, int) for v in e["args"].values()), e
        if window:
            assert window[0] <= e["ts"] <= window[1], e
    else:
        assert ph == "M", e

# Slices on a track nest or are disjoint: sorted by start (longest first on ties), each starts
# at or after the end of every open slice it does not lie inside.
slices = 0
for track, spans in tracks.items():
    spans.sort(key=lambda s: (s[0], -s[1]))
    open_ends = []
    for begin, end in spans:
        while open_ends and open_ends[-1] <= begin:
            open_ends.pop()
        assert not open_ends or end <= open_ends[-1], f"overlap on {track} at {begin} us"
        open_ends.append(end)
    slices += len(spans)
assert slices > 0, "no iterations in the trace"

for key, marks in asyncs.items():
    phases = sorted(ph for ph, _ in marks)
    assert phases == ["b", "e"], f"request {key}: {marks}"
    begin = next(ts for ph, ts in marks if ph == "b")
    end = next(ts for ph, ts in marks if ph == "e")
    assert begin <= end, f"request {key} ends before it begins"
    if window:
        assert end >= window[0] and begin <= window[1], key

with open(os.path.join(out, "requests.csv")) as f:
    completed = sum(1 for _ in csv.DictReader(f))
other = trace["otherData"]
assert "bounds" in other and "request_stride" in other, other
if "--trace-requests" in options:
    limit = int(options[options.index("--trace-requests") + 1])
    assert 0 < len(asyncs) <= limit, (len(asyncs), limit)
    assert other["request_stride"] > 1, other
elif not window:
    assert len(asyncs) == completed, (len(asyncs), completed)
print(f"trace.json: {size} bytes, {len(events)} events, {slices} iteration slices on "
      f"{len(tracks)} tracks, {len(asyncs)} request slices; {other['bounds']}")
