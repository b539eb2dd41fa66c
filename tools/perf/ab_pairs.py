#!/usr/bin/env python3
"""Per-pair ratios of a `perf.sh ab` results file: for each scenario, the
medians of the base and new servers and the median (min-max) of new/base
over the rounds (one base run and the new run right after it).
usage: python3 tools/perf/ab_pairs.py docs/perf/results-ab-*.jsonl [BASE_SERVER]
BASE_SERVER is `salabase` (CHAT/1, the default) or `salabaseirc` (AB_PROTO=irc).
"""
import json
import statistics as st
import sys

BASE = sys.argv[2] if len(sys.argv) > 2 else "salabase"
groups = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    metric = "deliveries_per_s" if r["scenario"] == "fanout" else "round_trips_per_s"
    lost = r.get("deliveries_missing", r.get("missing", 0))
    label = r["label"].split("/", 1)[1]
    rounds = groups.setdefault(label, {})
    rounds.setdefault(r["rep"], {})[r["server"]] = (r[metric], lost, r.get("out_of_order", 0))
for label, rounds in groups.items():
    pairs = [(v[BASE][0], x[0]) for v in rounds.values() if BASE in v for k, x in v.items() if k != BASE]
    base = [b for b, _ in pairs]
    new = [n for _, n in pairs]
    ratios = [n / b for b, n in pairs]
    lost = sum(x[1] for v in rounds.values() for x in v.values())
    ooo = sum(x[2] for v in rounds.values() for x in v.values())
    print(
        f"{label}: base median {st.median(base):,.0f}, new median {st.median(new):,.0f}, "
        f"new/base per pair {st.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}), "
        f"{len(ratios)} rounds, lost {lost}, out of order {ooo}"
    )
