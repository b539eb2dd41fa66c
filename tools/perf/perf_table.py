#!/usr/bin/env python3
"""Side-by-side markdown tables (and the target check) from a perf.sh results file.

Each figure is the median over the repetitions of one (server, scenario);
"min–max" follows where the spread is wider than 10 % of the median.

usage: python3 tools/perf/perf_table.py docs/perf/results-*.jsonl
"""
import statistics
import sys
from collections import OrderedDict, defaultdict

from perf_runs import runs

ORDER = ["salamem", "salapersist", "salairc", "ideal", "ngircd", "inspircd"]
NAMES = {
    "salamem": "Sala, memory only",
    "salapersist": "Sala, SQLite persistence",
    "salairc": "Sala, IRC port (memory only)",
    "ideal": "idealfanout --coalesce",
    "ngircd": "ngIRCd 26.1",
    "inspircd": "InspIRCd 3.15",
}
FANOUT = [
    ("fanout-K100-S10-M1000", "fanout K=100, S=10, M=1000 (unlimited rate)"),
    ("fanout-K1000-S5-M200", "fanout K=1000, S=5, M=200 (unlimited rate)"),
    ("fanout-K500-S5-rate50", "fanout K=500, S=5 x 50 msg/s for 10 s (latency)"),
]
IRC_FANOUT = [
    ("irc-fanout-K100-S10-M1000", "IRC: fanout K=100, S=10, M=1000 (unlimited rate)"),
    ("irc-fanout-K1000-S5-M200", "IRC: fanout K=1000, S=5, M=200 (unlimited rate)"),
    ("irc-fanout-K500-S5-rate50", "IRC: fanout K=500, S=5 x 50 msg/s for 10 s (latency)"),
]
IRC_WHISPER = ("irc-whisper-P50-M1000", "IRC: whisper, 50 pairs x 1000 round trips, 1 in flight per pair")
IDLE = ("idle-N10000-R100", "idle: 10,000 clients over 100 rooms (fresh server per run)")


def load(paths):
    g = defaultdict(lambda: defaultdict(list))  # scenario label -> server -> runs
    bench = []
    for r in runs(paths):
        if r.get("harness") == "bench":
            bench.append(r)
            continue
        server, _, scen = r["label"].partition("/")
        g[scen][server].append(r)
    return g, bench


def vals(runs, key):
    return [r[key] for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]


def med(runs, key):
    v = vals(runs, key)
    return statistics.median(v) if v else None


def f(v, d=0):
    if v is None:
        return "–"
    return f"{v:,.{d}f}"


def spread(runs, key, d=0, scale=1.0):
    v = [x * scale for x in vals(runs, key)]
    if not v:
        return "–"
    m = statistics.median(v)
    s = f(m, d)
    if len(v) > 1 and m and (max(v) - min(v)) > 0.10 * abs(m):
        s += f" ({f(min(v), d)}–{f(max(v), d)})"
    return s


def errs(runs):
    tot = defaultdict(int)
    for r in runs:
        for k, n in (r.get("errors") or {}).items():
            tot[k] += n
    return ", ".join(f"{n}× {k}" for k, n in sorted(tot.items())) or "none"


def servers_of(d):
    return [s for s in ORDER if s in d] + sorted(set(d) - set(ORDER))


def fanout_table(title, d):
    print(f"#### {title}\n")
    print("| server | runs | deliveries recv/expected (worst run) | deliveries/s (min–max) | latency p50 / p99 / max (ms) "
          "| lost / out-of-order / dup | CPU server / client (%) | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for s in servers_of(d):
        runs = d[s]
        worst = min(runs, key=lambda r: r["deliveries_received"] - r["deliveries_expected"])
        lost = sum(r["deliveries_missing"] for r in runs)
        ooo = sum(r["out_of_order"] for r in runs)
        dup = sum(r["duplicates_or_late"] for r in runs)
        ccpu = med(runs, "client_cpu_pct")
        flag = " ⚠" if ccpu is not None and ccpu >= 90 else ""
        print(f"| {NAMES.get(s, s)} | {len(runs)} | {f(worst['deliveries_received'])}/{f(worst['deliveries_expected'])} "
              f"| {spread(runs, 'deliveries_per_s')} "
              f"| {f(med(runs, 'lat_p50_ms'), 1)} / {spread(runs, 'lat_p99_ms', 1)} / {f(med(runs, 'lat_max_ms'), 1)} "
              f"| {lost} / {ooo} / {dup} | {f(med(runs, 'server_cpu_pct'))} / {f(ccpu)}{flag} | {errs(runs)} |")
    print()


def idle_table(title, d):
    print(f"#### {title}\n")
    print("| server | runs | ready/N (worst run) | connect+register+join all (s) | per-client p50 / p99 (ms) "
          "| RSS before→after (KiB) | RSS bytes/conn (min–max) | threads after (per conn) | server CPU connect (s) | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in servers_of(d):
        runs = d[s]
        worst = min(runs, key=lambda r: r["ready"])
        thr = med(runs, "server_threads_after")
        ready = med(runs, "ready")
        print(f"| {NAMES.get(s, s)} | {len(runs)} | {f(worst['ready'])}/{f(worst['clients'])} "
              f"| {spread(runs, 'connect_all_s', 2)} | {f(med(runs, 'join_p50_ms'), 1)} / {f(med(runs, 'join_p99_ms'), 1)} "
              f"| {f(med(runs, 'server_rss_before_kb'))}→{f(med(runs, 'server_rss_after_kb'))} "
              f"| {spread(runs, 'rss_bytes_per_conn')} | {f(thr)} ({f(thr / ready if thr and ready else None, 2)}) "
              f"| {f(med(runs, 'server_cpu_connect_s'), 2)} | {errs(runs)} |")
    print()


def whisper_table(title, d):
    print(f"#### {title}\n")
    print("| server | runs | round trips done/expected (worst run) | round trips/s (min–max) | messages/s "
          "| RTT p50 / p99 / max (ms) | CPU server / client (%) | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for s in servers_of(d):
        runs = d[s]
        worst = min(runs, key=lambda r: r["round_trips_completed"])
        print(f"| {NAMES.get(s, s)} | {len(runs)} | {f(worst['round_trips_completed'])}/{f(worst['round_trips_expected'])} "
              f"| {spread(runs, 'round_trips_per_s')} | {f(med(runs, 'messages_per_s'))} "
              f"| {f(med(runs, 'rtt_p50_ms'), 2)} / {spread(runs, 'rtt_p99_ms', 2)} / {f(med(runs, 'rtt_max_ms'), 1)} "
              f"| {f(med(runs, 'server_cpu_pct'))} / {f(med(runs, 'client_cpu_pct'))} | {errs(runs)} |")
    print()


def irc_targets(g):
    """Issue 5: Sala's IRC port at least matches ngIRCd in fan-out and whisper, rate and p99."""
    rows = []
    for scen, key, better in [
        ("irc-fanout-K100-S10-M1000", "deliveries_per_s", "higher"),
        ("irc-fanout-K1000-S5-M200", "deliveries_per_s", "higher"),
        ("irc-fanout-K500-S5-rate50", "lat_p99_ms", "lower"),
        ("irc-whisper-P50-M1000", "round_trips_per_s", "higher"),
        ("irc-whisper-P50-M1000", "rtt_p99_ms", "lower"),
    ]:
        d = g.get(scen, {})
        if "salairc" not in d or "ngircd" not in d:
            continue
        a, b = med(d["salairc"], key), med(d["ngircd"], key)
        if a is None or b is None:
            continue
        ok = a >= b if better == "higher" else a <= b
        rows.append(f"| {scen}: {key} ({better} is better) | Sala {f(a, 2 if a < 100 else 0)} vs ngIRCd {f(b, 2 if b < 100 else 0)} "
                    f"({a / b:.2f}×) | {'met' if ok else 'MISSED'} |")
    if rows:
        print("#### IRC targets (medians, Sala's IRC port vs ngIRCd)\n")
        print("| target | figure | verdict |")
        print("|---|---|---|")
        print("\n".join(rows))
        print()


def sweep_table(g):
    sat = OrderedDict()
    rate = OrderedDict()
    for scen, d in g.items():
        if scen.startswith("sweep-"):
            for s, runs in d.items():
                sat.setdefault(s, {})[runs[0]["members"]] = runs
        elif scen.startswith("sweeprate-"):
            for s, runs in d.items():
                rate.setdefault(s, {})[runs[0]["members"]] = runs
    if not sat and not rate:
        return
    ks = sorted({k for m in list(sat.values()) + list(rate.values()) for k in m})
    print("#### Room-size sweep (S=5; saturation M = 1.5e6 / (5 (K−1)); rate runs 5 × 50 msg/s for 3 s)\n")
    print("| server | metric | " + " | ".join(f"K={k}" for k in ks) + " |")
    print("|---|---|" + "---|" * len(ks))
    for s in servers_of({**sat, **rate}):
        if s in sat:
            print(f"| {NAMES.get(s, s)} | deliveries/s (M) | "
                  + " | ".join(f(med(sat[s].get(k, []), 'deliveries_per_s') / 1e6, 2)
                               if sat[s].get(k) else "–" for k in ks) + " |")
            print(f"| | p99 at saturation (ms) | "
                  + " | ".join(f(med(sat[s].get(k, []), 'lat_p99_ms'), 0) if sat[s].get(k) else "–" for k in ks) + " |")
            print(f"| | client CPU at saturation (%) | "
                  + " | ".join(f(med(sat[s].get(k, []), 'client_cpu_pct'), 0) if sat[s].get(k) else "–" for k in ks) + " |")
        if s in rate:
            print(f"| | p99 at 5 × 50 msg/s (ms) | "
                  + " | ".join(f(med(rate[s].get(k, []), 'lat_p99_ms'), 1) if rate[s].get(k) else "–" for k in ks) + " |")
        lost = sum(r["deliveries_missing"] + r["out_of_order"] for m in (sat.get(s, {}), rate.get(s, {}))
                   for runs in m.values() for r in runs)
        print(f"| | lost + out-of-order (all runs) | {lost} |" + " |" * (len(ks) - 1))
    print()


def targets(g):
    print("#### Targets (medians)\n")
    print("| target | figure | verdict |")
    print("|---|---|---|")

    def m(scen, s, key):
        runs = g.get(scen, {}).get(s)
        return med(runs, key) if runs else None

    for scen, _ in FANOUT[:2]:
        sala, ng, ideal = (m(scen, s, "deliveries_per_s") for s in ("salamem", "ngircd", "ideal"))
        if sala and ng:
            print(f"| {scen}: deliveries/s ≥ ngIRCd's | {f(sala)} vs {f(ng)} ({sala / ng:.2f}×) "
                  f"| {'met' if sala >= ng else 'MISSED'} |")
        if sala and ideal:
            print(f"| {scen}: aim ≥ ½ idealfanout --coalesce | {f(sala)} vs ½ × {f(ideal)} = {f(ideal / 2)} "
                  f"({sala / ideal:.2f}× ideal) | {'met' if sala >= ideal / 2 else 'MISSED'} |")
    for s in ("salamem", "salapersist"):
        runs = [r for scen, d in g.items() if scen.startswith(("fanout-", "sweep")) for r in d.get(s, [])]
        if runs:
            lost = sum(r["deliveries_missing"] for r in runs)
            ooo = sum(r["out_of_order"] for r in runs)
            dup = sum(r["duplicates_or_late"] for r in runs)
            print(f"| {NAMES[s]}: zero loss, zero reordering ({len(runs)} fan-out runs) "
                  f"| lost {lost}, out-of-order {ooo}, dup/late {dup} | {'met' if lost + ooo + dup == 0 else 'MISSED'} |")
    scen = FANOUT[2][0]
    sala, ideal = m(scen, "salamem", "lat_p99_ms"), m(scen, "ideal", "lat_p99_ms")
    if sala and ideal:
        print(f"| {scen}: p99 ≤ 2 × idealfanout --coalesce | {sala:.2f} ms vs 2 × {ideal:.2f} = {2 * ideal:.2f} ms "
              f"| {'met' if sala <= 2 * ideal else 'MISSED'} |")
    for s in ("salamem", "salapersist"):
        runs = g.get(IDLE[0], {}).get(s)
        if runs:
            worst = min(r["ready"] for r in runs)
            print(f"| idle 10,000 / 100 rooms, {NAMES[s]}: all connect | worst run {worst}/{runs[0]['clients']} "
                  f"| {'met' if worst == runs[0]['clients'] else 'MISSED'} |")
            b = med(runs, "rss_bytes_per_conn")
            worst_b = max(vals(runs, "rss_bytes_per_conn"))
            print(f"| idle, {NAMES[s]}: RSS ≤ 16 KiB (16,384 B) per connection | median {f(b)} B, worst {f(worst_b)} B "
                  f"| {'met' if worst_b <= 16384 else ('met (median)' if b <= 16384 else 'MISSED')} |")
    for scen, _ in FANOUT:
        on, off = m(scen, "salapersist", "deliveries_per_s"), m(scen, "salamem", "deliveries_per_s")
        if on and off and "rate" not in scen:
            print(f"| {scen}: persistence on ≥ 80 % of off | {f(on)} / {f(off)} = {on / off:.0%} "
                  f"| {'met' if on >= 0.8 * off else 'MISSED'} |")
    print()


def persistence(g):
    rows = []
    for scen, d in g.items():
        if not scen.startswith("fanout-") or "rate" in scen or "salamem" not in d or "salapersist" not in d:
            continue
        off = {r["rep"]: r["deliveries_per_s"] for r in d["salamem"]}
        on = {r["rep"]: r["deliveries_per_s"] for r in d["salapersist"]}
        pairs = [on[k] / off[k] for k in sorted(off) if k in on]
        mo, mn = med(d["salamem"], "deliveries_per_s"), med(d["salapersist"], "deliveries_per_s")
        rows.append(f"| {scen} | {len(pairs)} | {f(mo)} | {f(mn)} | {mn / mo:.0%} | "
                    + ", ".join(f"{x:.0%}" for x in pairs) + f" | {f(med(d['salamem'], 'wall_s'), 2)} / "
                    f"{f(med(d['salapersist'], 'wall_s'), 2)} | {f(med(d['salamem'], 'server_cpu_pct'))} / "
                    f"{f(med(d['salapersist'], 'server_cpu_pct'))} |")
    if not rows:
        return
    print("#### Persistence on (SQLite) vs off (memory only)\n")
    print("| scenario | pairs | off: deliveries/s | on: deliveries/s | on / off (medians) | on / off per interleaved pair "
          "| wall off / on (s) | server CPU off / on (%) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()


def bench_rows(bench, g):
    if not bench:
        return
    print("#### Our bench (`target/release/bench --spawn`) against chatload, same server flags\n")
    print("| scenario | bench | chatload (median, salamem) |")
    print("|---|---|---|")
    for r in bench:
        if r.get("scenario") == "fanout":
            c = g.get("fanout-K100-S10-M1000", {}).get("salamem", [])
            print(f"| fanout K=100 S=10 M=1000 | {f(r.get('deliveries_per_s'))} deliveries/s, p99 {f(r.get('lat_p99_ms'), 1)} ms, "
                  f"missing {r.get('deliveries_missing')}, out-of-order {r.get('out_of_order')} "
                  f"| {f(med(c, 'deliveries_per_s'))} deliveries/s, p99 {f(med(c, 'lat_p99_ms'), 1)} ms |")
        elif r.get("scenario") == "idle":
            c = g.get(IDLE[0], {}).get("salamem", [])
            print(f"| idle 10,000 / 100 | {r.get('clients_ready')} ready, {f(r.get('rss_bytes_per_conn'))} B/conn, "
                  f"{r.get('threads_per_conn')} threads/conn, setup {f(r.get('setup_s'), 2)} s "
                  f"| {f(med(c, 'ready'))} ready, {f(med(c, 'rss_bytes_per_conn'))} B/conn, "
                  f"setup {f(med(c, 'connect_all_s'), 2)} s |")
    print()


def main():
    g, bench = load(sys.argv[1:])
    targets(g)
    for scen, title in FANOUT:
        if scen in g:
            fanout_table(title, g[scen])
    if IDLE[0] in g:
        idle_table(IDLE[1], g[IDLE[0]])
    irc_targets(g)
    for scen, title in IRC_FANOUT:
        if scen in g:
            fanout_table(title, g[scen])
    if IRC_WHISPER[0] in g:
        whisper_table(IRC_WHISPER[1], g[IRC_WHISPER[0]])
    persistence(g)
    bench_rows(bench, g)
    sweep_table(g)


if __name__ == "__main__":
    main()
