#!/usr/bin/env python3
"""The table of bench/pinn/run.sh: kiln's W6 benchmarks beside heat_peer.py's variants.

    python3 bench/pinn/summarize.py RAW_DIR ROUNDS "LOAD AVERAGE"

RAW_DIR holds kiln-<r>.json (kiln_bench, Google Benchmark JSON) and peer-<r>.json (heat_peer.py)
for r = 1..ROUNDS. Every number is the median over the rounds of each round's median.
"""

import datetime
import json
import os
import platform
import statistics
import sys


def kiln_round(path):
    raw = json.load(open(path))
    out = {}
    for b in raw["benchmarks"]:
        if b.get("run_type") != "aggregate" or b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].split("/")
        key = name[0] if name[0] != "peak_fp32" else "peak_fp32/" + name[1]
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
        out[key] = {"wall_us": b["real_time"] * scale, "cpu_us": b["cpu_time"] * scale}
        if "flops" in b:
            out[key]["gflops"] = b["flops"] / 1e9
    return out, raw["context"]


def main():
    raw_dir, rounds, load = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    kiln, peers, context, versions = {}, {}, {}, {}
    for r in range(1, rounds + 1):
        k, context = kiln_round(os.path.join(raw_dir, f"kiln-{r}.json"))
        for key, v in k.items():
            kiln.setdefault(key, []).append(v)
        p = json.load(open(os.path.join(raw_dir, f"peer-{r}.json")))
        versions = p.pop("versions")
        for key, v in p.items():
            peers.setdefault(key, []).append(v)

    def med(rows, field):
        return statistics.median(row[field] for row in rows)

    # Rates by CPU time (the work's own time on a shared machine), the peak's too.
    def rate(rows):
        return med(rows, "gflops") * med(rows, "wall_us") / med(rows, "cpu_us")

    peak1 = rate(kiln["peak_fp32/threads:1"])
    print(f"# W6, the physics-informed step, side by side ({datetime.date.today()})\n")
    print(f"Machine: {context.get('kiln_cpu_model', platform.processor())}, "
          f"{context.get('num_cpus')} CPUs; FP32 peak {peak1:.1f} GFLOP/s on one thread "
          f"(kiln_bench peak_fp32, by CPU time, as every rate below); load average before the run {load}. "
          f"{rounds} rounds, kiln_bench and heat_peer.py alternating; medians over rounds. "
          f"Peers: {', '.join(f'{k} {v}' for k, v in versions.items())}, one thread each.\n")
    print("| step | kiln wall | kiln CPU | products' GFLOP/s (of peak) |")
    print("|---|---|---|---|")
    for key, label in (("W6_step", "residual, 256 points"),
                       ("W6_step-boundary", "boundary, 64 points"),
                       ("W6_step-both", "both terms")):
        rows = kiln[key]
        g = rate(rows)
        print(f"| {label} | {med(rows, 'wall_us'):.0f} us | {med(rows, 'cpu_us'):.0f} us | "
              f"{g:.1f} ({g / peak1:.0%}) |")
    cold = kiln["W6_compile-cold-step"]
    print(f"| cold compile (both terms) | {med(cold, 'wall_us') / 1e3:.0f} ms | "
          f"{med(cold, 'cpu_us') / 1e3:.0f} ms (main thread) | |\n")
    print("| peer | wall | CPU | kiln's CPU time / peer's | first loss |")
    print("|---|---|---|---|---|")
    for key, rows in peers.items():
        mine = kiln["W6_step-both" if key.endswith("-both") else "W6_step"]
        ratio = med(mine, "cpu_us") / med(rows, "cpu_median_us")
        print(f"| {key} | {med(rows, 'median_us'):.0f} us | {med(rows, 'cpu_median_us'):.0f} us | "
              f"{ratio:.2f} | {rows[0]['first_loss']:.6f} |")


if __name__ == "__main__":
    main()
