#!/usr/bin/env python3
"""Draw docs/perf/fanout.svg from the room-size sweep in a perf.sh results file.

Three panels against room size K (members of the one room, log scale):
  1. deliveries/s at saturation (5 senders, unlimited rate, ~1.5 M deliveries per run);
  2. p99 latency of those saturation runs (= time to drain the backlog);
  3. p99 latency at a moderate fixed rate (5 senders x 50 msg/s).
One line per server: the median over the repetitions, with a thin bar from
the minimum to the maximum.

Python 3 standard library only.

usage: python3 tools/perf/perf_chart.py docs/perf/results-*.jsonl [-o docs/perf/fanout.svg]
"""
import argparse
import math
import statistics
from collections import defaultdict
from pathlib import Path

from perf_runs import runs

ROOT = Path(__file__).resolve().parent.parent.parent  # the repository

NAMES = {
    "salamem": "Sala (memory only)",
    "salapersist": "Sala (SQLite persistence)",
    "ideal": "idealfanout --coalesce",
    "ngircd": "ngIRCd 26.1",
    "inspircd": "InspIRCd 3.15",
}
COLORS = {
    "salamem": "#1f5fbf",
    "salapersist": "#8a4fc2",
    "ideal": "#2a9d3a",
    "ngircd": "#d0342c",
    "inspircd": "#e08a00",
}
DASH = {"ideal": "6,4", "ngircd": "2,3", "inspircd": "8,3,2,3"}
ORDER = ["salamem", "salapersist", "ideal", "ngircd", "inspircd"]


def load(paths):
    """{panel: {server: {K: [values]}}} from the sweep runs."""
    data = {"dps": defaultdict(lambda: defaultdict(list)),
            "p99sat": defaultdict(lambda: defaultdict(list)),
            "p99rate": defaultdict(lambda: defaultdict(list))}
    for r in runs(paths):
        if r.get("harness") != "chatload" or r.get("scenario") != "fanout":
            continue
        label = r.get("label", "")
        tail = label.split("/", 1)[-1]
        server = r.get("server") or label.split("/", 1)[0]
        k = r["members"]
        if tail.startswith("sweep-"):
            data["dps"][server][k].append(r["deliveries_per_s"])
            data["p99sat"][server][k].append(r["lat_p99_ms"])
        elif tail.startswith("sweeprate-"):
            data["p99rate"][server][k].append(r["lat_p99_ms"])
    return data


def nice_ceiling(v):
    """A round number >= v for the top of an axis, and the tick step."""
    if v <= 0:
        return 1.0, 0.2
    mag = 10 ** math.floor(math.log10(v))
    for m, step in ((1, 0.2), (1.5, 0.5), (2, 0.5), (2.5, 0.5), (3, 1), (4, 1), (5, 1), (6, 2), (8, 2), (10, 2)):
        if m * mag >= v:
            return m * mag, step * mag
    return 10 * mag, 2 * mag


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fmt_tick(v, unit):
    if unit == "M":
        return f"{v / 1e6:g}"
    return f"{v:g}"


def panel(out, x0, y0, w, h, title, ylabel, series, unit, ks, logy=False):
    """One chart panel with its own axes. series: {server: {K: [values]}}."""
    top, bottom = 0.0, float("inf")
    for s in series.values():
        for vals in s.values():
            top = max(top, max(vals))
            bottom = min(bottom, min(vals))
    if logy:
        lo = 10 ** math.floor(math.log10(bottom))
        hi = 10 ** math.ceil(math.log10(top))
        ticks = [m * 10 ** e for e in range(round(math.log10(lo)), round(math.log10(hi)) + 1)
                 for m in (1, 2, 5) if lo <= m * 10 ** e <= hi]
    else:
        ymax, ystep = nice_ceiling(top * 1.05)
        ticks = []
        v = 0.0
        while v <= ymax + 1e-9:
            ticks.append(v)
            v += ystep
    kmin, kmax = min(ks), max(ks)
    lx0, lx1 = math.log10(kmin), math.log10(kmax)
    pad = 0.06 * (lx1 - lx0)
    lx0, lx1 = lx0 - pad, lx1 + pad

    def X(k):
        return x0 + (math.log10(k) - lx0) / (lx1 - lx0) * w

    def Y(v):
        if logy:
            return y0 + h - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * h
        return y0 + h - v / ymax * h

    out.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 - 14}" class="title">{esc(title)}</text>')
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" class="frame"/>')
    # y grid and ticks
    for v in ticks:
        y = Y(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" class="ytick">{fmt_tick(v, unit)}</text>')
    # x ticks at the measured room sizes
    for k in ks:
        x = X(k)
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + h + 16}" class="xtick">{k}</text>')
    out.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + h + 36}" class="axis">room size K (members, log scale)</text>')
    out.append(f'<text transform="translate({x0 - 46},{y0 + h / 2:.1f}) rotate(-90)" class="axis">{esc(ylabel)}</text>')
    for server in ORDER:
        if server not in series:
            continue
        pts = sorted(series[server].items())
        color = COLORS.get(server, "#444")
        dash = DASH.get(server)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{'M' if i == 0 else 'L'}{X(k):.1f},{Y(statistics.median(vals)):.1f}"
                        for i, (k, vals) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2.2"{dash_attr}/>')
        for k, vals in pts:
            x, ym = X(k), Y(statistics.median(vals))
            if len(vals) > 1:
                out.append(f'<line x1="{x:.1f}" y1="{Y(min(vals)):.1f}" x2="{x:.1f}" y2="{Y(max(vals)):.1f}" '
                           f'stroke="{color}" stroke-width="1" opacity="0.7"/>')
            out.append(f'<circle cx="{x:.1f}" cy="{ym:.1f}" r="3.2" fill="{color}"/>')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs/perf/fanout.svg"))
    args = ap.parse_args()
    data = load(args.files)
    ks = sorted({k for panel_data in data.values() for s in panel_data.values() for k in s})
    if not ks:
        raise SystemExit("no sweep runs (labels sweep-* / sweeprate-*) in " + " ".join(args.files))
    servers = [s for s in ORDER if any(s in d for d in data.values())]
    servers += sorted({s for d in data.values() for s in d} - set(servers))

    W, H = 1260, 470
    pw, ph, top = 330, 300, 70
    xs = [80, 500, 920]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           "<style>"
           ".title{font-size:15px;font-weight:bold;text-anchor:middle}"
           ".axis{font-size:12.5px;text-anchor:middle}"
           ".xtick{font-size:11.5px;text-anchor:middle;fill:#333}"
           ".ytick{font-size:11.5px;text-anchor:end;fill:#333}"
           ".legend{font-size:13px}"
           ".note{font-size:11.5px;fill:#555}"
           ".frame{fill:none;stroke:#888;stroke-width:1}"
           ".grid{stroke:#e3e3e3;stroke-width:1}"
           "</style>",
           f'<rect width="{W}" height="{H}" fill="white"/>']
    panel(out, xs[0], top, pw, ph, "Throughput at saturation", "deliveries/s (millions)",
          data["dps"], "M", ks)
    panel(out, xs[1], top, pw, ph, "p99 latency at saturation (drain time)", "p99 latency (ms)",
          data["p99sat"], "", ks)
    panel(out, xs[2], top, pw, ph, "p99 latency at 5 senders x 50 msg/s", "p99 latency (ms, log scale)",
          data["p99rate"], "", ks, logy=True)
    # legend
    lx, ly = 80, H - 42
    for server in servers:
        color = COLORS.get(server, "#444")
        dash = DASH.get(server)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 30}" y2="{ly}" stroke="{color}" stroke-width="2.5"{dash_attr}/>')
        out.append(f'<circle cx="{lx + 15}" cy="{ly}" r="3.2" fill="{color}"/>')
        name = NAMES.get(server, server)
        out.append(f'<text x="{lx + 38}" y="{ly + 4.5}" class="legend">{esc(name)}</text>')
        lx += 48 + 7.6 * len(name)
    out.append(f'<text x="80" y="{H - 14}" class="note">One room, 5 senders. Saturation: unlimited rate, '
               f'~1.5 M deliveries per run (M = 1.5e6 / (5 (K-1))). Points: median of the runs; bars: min-max. '
               f'chatload on 127.0.0.1, 2 shared cores.</text>')
    out.append("</svg>")
    with open(args.output, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.output}: K = {ks}, servers = {servers}")


if __name__ == "__main__":
    main()
