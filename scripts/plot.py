#!/usr/bin/env python3
"""Plot connbench result files with matplotlib: an example to start your own plots from.

Reads one or more connbench JSON results (connbench -o FILE, connbench run -o FILE,
connbench merge ... -o FILE) and writes three PNG files:

  PREFIX-spectrum.png   latency by percentile for one phase, every run overlaid, on a
                        "nines" axis (x = 1/(1-q), log scale: 50% 90% 99% ... 99.999%)
  PREFIX-timeline.png   per-interval transactions/s and p99 latency (from "series")
  PREFIX-states.png     client sockets by TCP state over time, one panel per run, with
                        the ephemeral port capacity (port_range_size x sources) as a limit

Usage:
  python3 scripts/plot.py connbench.json [more.json ...] [-o PREFIX] [--phase PHASE]

Needs matplotlib only (Debian: apt-get install python3-matplotlib). The percentile
spectrum is computed from each phase's full histogram ("hdr", HdrHistogram V2
compressed base64), which this script decodes itself with the standard library; the
`hdrh` package (pip install hdrh) does the same with HdrHistogram.decode(hdr).
The JSON format is described in results/SCHEMA.md.
"""

import argparse
import base64
import bisect
import json
import math
import os
import struct
import sys
import zlib

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

V2_COMPRESSED_COOKIE = 0x1C849304
V2_COOKIE = 0x1C849303


class Histogram:
    """A decoded HdrHistogram: counts by bucket, values in nanoseconds."""

    def __init__(self, b64):
        raw = base64.b64decode(b64)
        cookie, length = struct.unpack(">ii", raw[:8])
        if cookie & ~0xF0 != V2_COMPRESSED_COOKIE:
            raise ValueError("not an HdrHistogram V2 compressed histogram")
        data = zlib.decompress(raw[8 : 8 + length])
        cookie, plen, _offset, sigfigs, lowest, _highest, _ratio = struct.unpack(">iiiiqqd", data[:40])
        if cookie & ~0xF0 != V2_COOKIE:
            raise ValueError("not an HdrHistogram V2 payload")
        sub_bucket_count = 2 ** math.ceil(math.log2(2 * 10**sigfigs))
        self._half = sub_bucket_count // 2
        self._half_mag = int(math.log2(self._half))
        self._unit_mag = int(math.floor(math.log2(max(lowest, 1))))
        # Counts: ZigZag LEB128 varints; a negative one is a run of empty buckets.
        payload = data[40 : 40 + plen]
        self.values, self.cumulative = [], []  # highest value of each non-empty bucket, running count
        total, index, pos = 0, 0, 0
        while pos < len(payload):
            value, shift = 0, 0
            while True:
                b = payload[pos]
                pos += 1
                if shift == 56:  # the 9th byte carries 8 bits
                    value |= b << 56
                    break
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            count = (value >> 1) ^ -(value & 1)
            if count < 0:
                index += -count
                continue
            if count:
                total += count
                self.values.append(self._highest_value(index))
                self.cumulative.append(total)
            index += 1
        self.total = total

    def _highest_value(self, index):
        bucket = (index >> self._half_mag) - 1
        sub = (index & (self._half - 1)) + self._half
        if bucket < 0:
            sub -= self._half
            bucket = 0
        low = sub << (bucket + self._unit_mag)
        return low + (1 << (bucket + self._unit_mag)) - 1

    def value_at(self, percentile):
        """The value (ns) at percentile (0..100), as HdrHistogram's ValueAtPercentile."""
        if not self.total:
            return 0
        rank = max(1, int(percentile / 100 * self.total + 0.5))
        i = bisect.bisect_left(self.cumulative, rank)
        return self.values[min(i, len(self.values) - 1)]

    def spectrum(self, max_x=1e5, per_decade=25):
        """Points (x = 1/(1-q), latency ns) from the median to 99.999% or the data's end."""
        xs, ys = [], []
        limit = min(self.total, max_x)
        k = 0
        while True:
            x = 2 * 10 ** (k / per_decade)
            if x >= limit * 0.9999:
                break
            xs.append(x)
            ys.append(self.value_at(100 * (1 - 1 / x)))
            k += 1
        if self.total > max_x:
            xs.append(max_x)
            ys.append(self.value_at(100 * (1 - 1 / max_x)))
        elif self.total >= 2:
            xs.append(self.total)
            ys.append(self.values[-1])
        return xs, ys


def load(paths):
    """Returns [(name, run)] for every run of every file; labels get the file name when
    several files are given."""
    runs = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        if not str(doc.get("schema", "")).startswith("connbench/"):
            sys.exit(f"{path}: not a connbench result document")
        for run in doc.get("runs", []):
            name = run["label"]
            if run.get("repetition"):
                name += f" #{run['repetition']}"
            if len(paths) > 1:
                name = f"{os.path.basename(path)}: {name}"
            runs.append((name, run))
    return runs


def fmt_ns(ns, _pos=None):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


NINES = [(2, "50%"), (10, "90%"), (100, "99%"), (1e3, "99.9%"), (1e4, "99.99%"), (1e5, "99.999%")]


def plot_spectrum(runs, phase, out):
    fig, ax = plt.subplots(figsize=(9, 5.5))
    drawn = 0
    for name, run in runs:
        p = run.get("phases", {}).get(phase)
        if not p or not p.get("count"):
            continue
        xs, ys = Histogram(p["hdr"]).spectrum()
        if xs:
            ax.plot(xs, ys, lw=2, label=f"{name} (n={p['count']:,}, p99 {fmt_ns(p['p99_ns'])}, max {fmt_ns(p['max_ns'])})")
            drawn += 1
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(2, 1e5)
    ax.set_xticks([x for x, _ in NINES], [label for _, label in NINES])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("percentile (log scale of 1/(1-percentile))")
    ax.set_ylabel("latency (log scale)")
    ax.set_title(f"{phase} latency by percentile")
    ax.grid(True, which="major", alpha=0.3)
    if drawn:
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return drawn


def mid_s(iv):
    return (iv["start_ns"] + iv["end_ns"]) / 2e9


def plot_timeline(runs, phase, out):
    fig, (rate, lat) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    drawn = 0
    for name, run in runs:
        series = run.get("series") or []
        if not series:
            continue
        xs = [mid_s(iv) for iv in series]
        line = rate.plot(xs, [iv["transactions_per_sec"] for iv in series], marker="o", ms=3, lw=2, label=name)[0]
        p99 = [iv.get("phases", {}).get(phase, {}).get("p99_ns") or float("nan") for iv in series]
        lat.plot(xs, p99, marker="o", ms=3, lw=2, color=line.get_color(), label=f"{name} p99")
        drawn += 1
        if any(iv.get("warmup") for iv in series):
            for ax in (rate, lat):
                ax.axvspan(min(iv["start_ns"] for iv in series) / 1e9, 0, color="0.92", zorder=0)
    if drawn:
        rate.set_xlim(left=min(min(iv["start_ns"] for iv in r.get("series") or [{"start_ns": 0}]) for _, r in runs) / 1e9)
    rate.set_ylabel("transactions per second")
    rate.set_ylim(bottom=0)
    rate.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    rate.set_title("per-interval rate and p99 latency")
    lat.set_yscale("log")
    lat.yaxis.set_major_formatter(FuncFormatter(fmt_ns))
    lat.yaxis.set_minor_formatter(NullFormatter())
    lat.set_ylabel(f"{phase} p99 (log scale)")
    lat.set_xlabel("time since the measured start (s)")
    for ax in (rate, lat):
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return drawn


STATE_ORDER = ["syn_sent", "syn_recv", "established", "fin_wait1", "fin_wait2", "close_wait",
               "last_ack", "closing", "time_wait"]
# The HTML report's colours, so that a state looks the same everywhere.
STATE_COLOUR = {"established": "#2ca02c", "time_wait": "#ff7f0e", "syn_sent": "#1f77b4", "syn_recv": "#17becf",
                "fin_wait1": "#9467bd", "fin_wait2": "#e377c2", "close_wait": "#8c564b", "last_ack": "#bcbd22",
                "closing": "#7f7f7f"}


def plot_states(runs, out):
    with_series = [(n, r) for n, r in runs if r.get("series")]
    if not with_series:
        return 0
    fig, axes = plt.subplots(len(with_series), 1, figsize=(9, 3.6 * len(with_series)), squeeze=False)
    for ax, (name, run) in zip(axes[:, 0], with_series):
        series = run["series"]
        xs = [iv["end_ns"] / 1e9 for iv in series]  # sampled at the end of each interval
        names = {s for iv in series for s, n in (iv.get("states") or {}).items() if n}
        ordered = [s for s in STATE_ORDER if s in names] + sorted(names - set(STATE_ORDER))
        peak = 0
        for s in ordered:
            ys = [(iv.get("states") or {}).get(s, 0) for iv in series]
            peak = max(peak, max(ys))
            ax.plot(xs, ys, marker="o", ms=3, lw=2, label=s, color=STATE_COLOUR.get(s))
        ports = [iv.get("ports_in_use", 0) for iv in series]
        ax.plot(xs, ports, ls=":", color="black", lw=1.5, label="ports in use")
        k = run.get("kernel") or {}
        capacity = k.get("port_range_size", 0) * max(k.get("sources", 1), 1)
        if capacity and capacity < 20 * max(peak, max(ports), 1):
            ax.axhline(capacity, ls="--", color="#c0392b", lw=1.5, label=f"ephemeral ports: {capacity:,}")
        elif capacity:
            ax.set_title(f"(ephemeral ports: {capacity:,}, far above this scale)", loc="right", fontsize=8, color="#c0392b")
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=min(iv["start_ns"] for iv in series) / 1e9)
        ax.set_title(f"socket states: {name}", loc="left")
        ax.set_ylabel("sockets")
        ax.set_xlabel("time since the measured start (s)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return len(with_series)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="connbench JSON result files")
    ap.add_argument("-o", "--prefix", default="connbench", help="output file prefix (default: connbench)")
    ap.add_argument("--phase", default="transaction", help="latency phase: handshake, first_byte, response, transaction, ...")
    args = ap.parse_args()
    runs = load(args.files)
    outputs = [
        (f"{args.prefix}-spectrum.png", plot_spectrum(runs, args.phase, f"{args.prefix}-spectrum.png")),
        (f"{args.prefix}-timeline.png", plot_timeline(runs, args.phase, f"{args.prefix}-timeline.png")),
    ]
    n = plot_states(runs, f"{args.prefix}-states.png")
    if n:
        outputs.append((f"{args.prefix}-states.png", n))
    for path, n in outputs:
        print(f"wrote {path} ({n} run{'s' if n != 1 else ''})")


if __name__ == "__main__":
    main()
