#!/usr/bin/env python3
"""Turns kiln_bench's Google Benchmark JSON into bench/results/latest.json and latest.md.

Usage:
    kiln_bench --benchmark_out=raw.json --benchmark_out_format=json
    python3 bench/scripts/results_table.py raw.json [--out-dir DIR]

latest.json holds, per workload and measure (step, run, grid) and thread count, the median
seconds of each peer (kiln variants, eigen, torch), W4's GFLOP/s and fraction of the measured
FP32 peak, and the machine, date and BLAS core from the harness's context. latest.md is the
same as a table of ratios kiln / peer (a missing peer shows as an em dash).

Python 3 standard library only.
"""

import argparse
import json
import os
import statistics
import sys

DASH = "\u2014"
# Parts that Google Benchmark appends to a benchmark's name; they are settings, not identity.
_SETTING_PREFIXES = ("repeats:", "iterations:", "min_time:", "min_warmup_time:")
_SETTING_WORDS = ("real_time", "manual_time", "process_time")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_PREFERRED_PEERS = ("eigen", "torch")


class ResultsError(Exception):
    """A raw file that is not kiln_bench's Google Benchmark JSON."""


def parse_name(run_name):
    """'W4_step/torch/threads:2/repeats:5/real_time' -> ('W4', 'step', 'torch', 2).

    Peak benchmarks parse as ('peak_fp32', '', '', threads). Returns None for names that are
    not <workload>_<measure>/<peer>[/threads:N].
    """
    parts = [
        p
        for p in run_name.split("/")
        if p not in _SETTING_WORDS and not p.startswith(_SETTING_PREFIXES)
    ]
    threads = 1
    if parts and parts[-1].startswith("threads:"):
        threads = int(parts.pop()[len("threads:"):])
    if parts == ["peak_fp32"]:
        return ("peak_fp32", "", "", threads)
    if len(parts) != 2 or "_" not in parts[0]:
        return None
    workload, measure = parts[0].split("_", 1)
    return (workload, measure, parts[1], threads)


def _seconds(entry, field="real_time"):
    unit = entry.get("time_unit", "ns")
    if unit not in _UNIT_SECONDS:
        raise ResultsError(f"unknown time_unit {unit!r} in {entry.get('name')}")
    return float(entry[field]) * _UNIT_SECONDS[unit]


def collect_medians(benchmarks):
    """Median real time (seconds) and counters of every benchmark, keyed by its parsed name.

    Uses Google Benchmark's 'median' aggregate when present; otherwise (one repetition, or
    aggregates not reported) the median of the individual runs.
    """
    aggregates, runs = {}, {}
    for entry in benchmarks:
        if entry.get("error_occurred"):
            continue
        key = parse_name(entry.get("run_name", entry.get("name", "")))
        if key is None:
            continue
        # cpu_seconds: the benchmark thread's CPU time; on a loaded machine it shows how much of
        # the wall time was the peer's own work (for one thread only: worker threads are not in it)
        record = {"seconds": _seconds(entry), "cpu_seconds": _seconds(entry, "cpu_time")}
        for counter in ("flops", "loss"):
            if counter in entry:
                record[counter] = float(entry[counter])
        if entry.get("run_type") == "aggregate":
            if entry.get("aggregate_name") == "median":
                aggregates[key] = record
        else:
            runs.setdefault(key, []).append(record)
    medians = dict(aggregates)
    for key, records in runs.items():
        if key in medians:
            continue
        medians[key] = {
            field: statistics.median(r[field] for r in records)
            for field in records[0]
            if all(field in r for r in records)
        }
    return medians


def _peaks(medians, context):
    """FP32 peak GFLOP/s per thread count: the best of the peak_fp32 benchmark's median and the
    harness's own best-of-4 measurement in the context (a peak is the fastest the machine went;
    on a shared machine a median can be dragged down by other processes)."""
    peaks = {}
    for (workload, _, _, threads), record in medians.items():
        if workload == "peak_fp32" and "flops" in record:
            peaks[threads] = record["flops"] / 1e9
    for key, value in context.items():
        prefix = "kiln_peak_fp32_gflops_threads"
        if key.startswith(prefix) and value not in (None, ""):
            threads = int(key[len(prefix):])
            peaks[threads] = max(peaks.get(threads, 0.0), float(value))
    return peaks


def summarize(raw):
    """The content of latest.json from a parsed Google Benchmark JSON document."""
    if not isinstance(raw, dict) or "benchmarks" not in raw or "context" not in raw:
        raise ResultsError(
            "expected Google Benchmark JSON with 'context' and 'benchmarks' "
            "(run kiln_bench with --benchmark_out_format=json)"
        )
    context = raw["context"]
    medians = collect_medians(raw["benchmarks"])
    peaks = _peaks(medians, context)
    workloads = {}
    for (workload, measure, peer, threads), record in sorted(medians.items()):
        if workload == "peak_fp32":
            continue
        entry = {"seconds": record["seconds"], "cpu_seconds": record["cpu_seconds"]}
        if "loss" in record:
            entry["loss"] = record["loss"]
        if "flops" in record:
            entry["gflops"] = record["flops"] / 1e9
            if peaks.get(threads):
                entry["fraction_of_peak"] = entry["gflops"] / peaks[threads]
        threads_key = f"threads:{threads}"
        workloads.setdefault(workload, {}).setdefault(measure, {}).setdefault(threads_key, {})[
            peer
        ] = entry
    return {
        "date": context.get("date", ""),
        "machine": {
            "host_name": context.get("host_name", ""),
            "cpu_model": context.get("kiln_cpu_model", ""),
            "num_cpus": context.get("num_cpus"),
            "mhz_per_cpu": context.get("mhz_per_cpu"),
            "compiler": context.get("kiln_compiler", ""),
            "torch_version": context.get("kiln_torch_version", ""),
            "denormals": context.get("kiln_denormals", ""),
            # other processes at the start of the run: on a shared machine, read ratios with it
            "load_avg": context.get("load_avg", []),
        },
        "blas": {
            "core": context.get("kiln_blas_core", ""),
            "config": context.get("kiln_blas_config", ""),
            "libraries": context.get("kiln_blas_libraries", ""),
            "openblas_coretype": context.get("kiln_openblas_coretype", ""),
        },
        "peak_fp32_gflops": {f"threads:{t}": g for t, g in sorted(peaks.items())},
        "workloads": workloads,
    }


def format_seconds(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("\u00b5s", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _cell(entry):
    if entry is None:
        return DASH
    text = format_seconds(entry["seconds"])
    if "gflops" in entry:
        text += f" ({entry['gflops']:.1f} GFLOP/s"
        if "fraction_of_peak" in entry:
            text += f", {100 * entry['fraction_of_peak']:.0f}% of peak"
        text += ")"
    return text


def _peer_columns(summary):
    seen = set()
    for measures in summary["workloads"].values():
        for by_threads in measures.values():
            for peers in by_threads.values():
                seen.update(peers)
    kiln = sorted(p for p in seen if p.startswith("kiln")) or ["kiln"]
    # eigen and torch always get a column, so a peer that was not built shows as missing.
    others = list(_PREFERRED_PEERS)
    others += sorted(p for p in seen if p not in kiln and p not in others)
    return kiln, others


def markdown(summary):
    """The ratio table of latest.md: one row per workload, measure and thread count."""
    kiln, others = _peer_columns(summary)
    header = ["workload", "measure"] + kiln + others
    header += [f"{k} \u00f7 {o}" for k in kiln for o in others]
    lines = [
        "# kiln benchmark results",
        "",
        f"{summary['date']} on {summary['machine']['host_name']} "
        f"({summary['machine']['cpu_model']}, {summary['machine']['num_cpus']} CPUs); "
        f"BLAS core {summary['blas']['core'] or DASH}; FP32 peak "
        + ", ".join(f"{g:.1f} GFLOP/s ({t})" for t, g in summary["peak_fp32_gflops"].items())
        + "; load average at start "
        + (", ".join(f"{x:.2f}" for x in summary["machine"]["load_avg"]) or DASH)
        + ".",
        "",
        "Median wall-clock time per step or per whole run; ratios are kiln \u00f7 peer "
        "(below 1: kiln is faster). compile-* rows: kiln's JIT latency (cold: empty disk cache; "
        "warm: loaded from it; step: the step alone, on one thread; trainer: the Trainer's "
        "kernels, the step with its fused epoch, the evaluation and the prediction, compiled "
        "side by side on the machine's threads although the row says 1 thread).",
        "",
        "Command: `kiln_bench --benchmark_enable_random_interleaving=true "
        "--benchmark_out=raw.json --benchmark_out_format=json` (built with "
        "`-DKILN_BENCH_TORCH=ON`), then `python3 bench/scripts/results_table.py raw.json`.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for workload in sorted(summary["workloads"]):
        measures = summary["workloads"][workload]
        for measure in sorted(measures, key=lambda m: (m != "step", m)):
            for threads_key in sorted(measures[measure], key=lambda k: int(k.split(":")[1])):
                peers = measures[measure][threads_key]
                threads = int(threads_key.split(":")[1])
                row = [workload, f"{measure}, {threads} thread{'s' if threads > 1 else ''}"]
                row += [_cell(peers.get(p)) for p in kiln + others]
                for k in kiln:
                    for o in others:
                        if k in peers and o in peers and peers[o]["seconds"] > 0:
                            row.append(f"{peers[k]['seconds'] / peers[o]['seconds']:.3g}")
                        else:
                            row.append(DASH)
                lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", help="kiln_bench output, --benchmark_out_format=json")
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results")
    parser.add_argument("--out-dir", default=default_out, help="where latest.{json,md} go")
    args = parser.parse_args(argv)
    try:
        with open(args.raw, encoding="utf-8") as f:
            raw = json.load(f)
        summary = summarize(raw)
    except (OSError, json.JSONDecodeError, ResultsError) as e:
        print(f"[results_table] {args.raw}: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "latest.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out_dir, "latest.md"), "w", encoding="utf-8") as f:
        f.write(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
