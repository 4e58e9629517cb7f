"""Tests of results_table.py on small hand-made Google Benchmark documents."""

import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stderr

import results_table as rt


def aggregate(run_name, aggregate_name, real_time, unit="us", **counters):
    return {
        "name": f"{run_name}_{aggregate_name}",
        "run_name": run_name,
        "run_type": "aggregate",
        "aggregate_name": aggregate_name,
        "real_time": real_time,
        "cpu_time": real_time,
        "time_unit": unit,
        **counters,
    }


def iteration(run_name, real_time, unit="ms", **counters):
    return {
        "name": run_name,
        "run_name": run_name,
        "run_type": "iteration",
        "real_time": real_time,
        "cpu_time": real_time,
        "time_unit": unit,
        **counters,
    }


CONTEXT = {
    "date": "2025-01-02T03:04:05+00:00",
    "host_name": "box",
    "num_cpus": 2,
    "mhz_per_cpu": 2100,
    "load_avg": [0.5, 0.25, 0.125],
    "kiln_cpu_model": "Test CPU",
    "kiln_blas_core": "SkylakeX",
    "kiln_peak_fp32_gflops_threads1": "100.00",
    "kiln_peak_fp32_gflops_threads2": "190.00",
}


def document(benchmarks, context=CONTEXT):
    return {"context": dict(context), "benchmarks": benchmarks}


class ParseNameTest(unittest.TestCase):
    def test_strips_settings_and_keeps_threads(self):
        self.assertEqual(
            rt.parse_name("W4_step/torch/threads:2/repeats:5/real_time"), ("W4", "step", "torch", 2)
        )
        self.assertEqual(rt.parse_name("W1_run/eigen/iterations:1/repeats:1/real_time"),
                         ("W1", "run", "eigen", 1))
        self.assertEqual(rt.parse_name("peak_fp32/threads:2/repeats:3"), ("peak_fp32", "", "", 2))
        self.assertIsNone(rt.parse_name("something_else"))


class SummarizeTest(unittest.TestCase):
    def test_medians_ratios_and_peak_fraction(self):
        raw = document(
            [
                aggregate("W1_step/eigen/repeats:5/real_time", "mean", 9.0),
                aggregate("W1_step/eigen/repeats:5/real_time", "median", 2.0, loss=0.5),
                aggregate("W1_step/kiln/repeats:5/real_time", "median", 0.5),
                aggregate("W1_step/torch/repeats:5/real_time", "median", 250.0),
                aggregate("W4_step/eigen/threads:2/repeats:5/real_time", "median", 1000.0,
                          flops=95e9),
                aggregate("peak_fp32/threads:2/repeats:5/real_time", "median", 1.0, unit="ms",
                          flops=200e9),
                # a median dragged below the context's best-of measurement: the best counts
                aggregate("peak_fp32/threads:1/repeats:5/real_time", "median", 1.0, unit="ms",
                          flops=80e9),
                # one repetition: no aggregate, so the median of the runs is used
                iteration("W3_grid/torch/iterations:1/repeats:1/real_time", 3000.0),
                iteration("W3_grid/eigen/repeats:3/real_time", 30.0),
                iteration("W3_grid/eigen/repeats:3/real_time", 10.0),
                iteration("W3_grid/eigen/repeats:3/real_time", 20.0),
                dict(iteration("W2_step/eigen", 1.0), error_occurred=True),
            ]
        )
        s = rt.summarize(raw)
        w1 = s["workloads"]["W1"]["step"]["threads:1"]
        self.assertAlmostEqual(w1["eigen"]["seconds"], 2e-6)
        self.assertAlmostEqual(w1["eigen"]["cpu_seconds"], 2e-6)
        self.assertEqual(w1["eigen"]["loss"], 0.5)
        self.assertAlmostEqual(w1["torch"]["seconds"], 250e-6)
        grid = s["workloads"]["W3"]["grid"]["threads:1"]
        self.assertAlmostEqual(grid["eigen"]["seconds"], 0.020)
        self.assertAlmostEqual(grid["torch"]["seconds"], 3.0)
        w4 = s["workloads"]["W4"]["step"]["threads:2"]["eigen"]
        self.assertAlmostEqual(w4["gflops"], 95.0)
        self.assertAlmostEqual(w4["fraction_of_peak"], 95.0 / 200.0)
        self.assertEqual(s["peak_fp32_gflops"], {"threads:1": 100.0, "threads:2": 200.0})
        self.assertNotIn("W2", s["workloads"])
        self.assertEqual(s["blas"]["core"], "SkylakeX")
        self.assertEqual(s["date"], CONTEXT["date"])

        md = rt.markdown(s)
        self.assertIn("| W1 | step, 1 thread | 500 ns | 2 \u00b5s | 250 \u00b5s | 0.25 | 0.002 |", md)
        # no kiln W3 grid yet: both ratios are dashes
        self.assertIn("| W3 | grid, 1 thread | \u2014 | 20 ms | 3 s | \u2014 | \u2014 |", md)
        self.assertIn("1 ms (95.0 GFLOP/s, 48% of peak)", md)
        self.assertIn("load average at start 0.50, 0.25, 0.12.", md)

    def test_kiln_column_shown_even_before_kiln_exists(self):
        s = rt.summarize(document([aggregate("W1_run/eigen/repeats:5", "median", 6.0, unit="ms")]))
        md = rt.markdown(s)
        self.assertIn("| workload | measure | kiln | eigen | torch | kiln \u00f7 eigen | kiln \u00f7 torch |",
                      md)
        self.assertIn("| W1 | run, 1 thread | \u2014 | 6 ms | \u2014 | \u2014 | \u2014 |", md)

    def test_rejects_documents_that_are_not_benchmark_output(self):
        with self.assertRaises(rt.ResultsError) as e:
            rt.summarize({"benchmarks": []})
        self.assertEqual(
            str(e.exception),
            "expected Google Benchmark JSON with 'context' and 'benchmarks' "
            "(run kiln_bench with --benchmark_out_format=json)",
        )


class MainTest(unittest.TestCase):
    def test_writes_latest_json_and_md(self):
        with tempfile.TemporaryDirectory() as d:
            raw_path = os.path.join(d, "raw.json")
            with open(raw_path, "w", encoding="utf-8") as f:
                json.dump(document([aggregate("W1_step/eigen", "median", 1.5)]), f)
            self.assertEqual(rt.main([raw_path, "--out-dir", os.path.join(d, "out")]), 0)
            with open(os.path.join(d, "out", "latest.json"), encoding="utf-8") as f:
                latest = json.load(f)
            self.assertAlmostEqual(
                latest["workloads"]["W1"]["step"]["threads:1"]["eigen"]["seconds"], 1.5e-6
            )
            with open(os.path.join(d, "out", "latest.md"), encoding="utf-8") as f:
                self.assertIn("| W1 | step, 1 thread |", f.read())

    def test_reports_a_bad_file_with_its_path(self):
        with tempfile.TemporaryDirectory() as d:
            raw_path = os.path.join(d, "raw.json")
            with open(raw_path, "w", encoding="utf-8") as f:
                f.write("{}")
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(rt.main([raw_path, "--out-dir", d]), 1)
            self.assertTrue(
                err.getvalue().startswith(f"[results_table] {raw_path}: expected Google Benchmark")
            )
            self.assertFalse(os.path.exists(os.path.join(d, "latest.json")))


if __name__ == "__main__":
    unittest.main()
