#!/usr/bin/env python3
"""PyTorch peers of bench/cuda/cuda_bench.cpp, for a GPU machine.

Times the same workloads with PyTorch eager and torch.compile:
  mlp_step/<batch>    32-64-64-64-64-16 ReLU MLP, MSE, Adam(lr=1e-3), one training step,
                      batch 2^14 .. 2^18, data resident on the GPU
  regression_step     the course's 1-14-10-1 (tanh, sigmoid) network, MSE, Adam, batch 5
  regression_epoch    one epoch of it: 2000 samples of sin(x) + noise, shuffled, batch 5

  python3 bench/cuda/torch_mlp.py [--repeats 20] [--json results.json] [--modes eager,compile]
                                  [--tf32]

Without a CUDA device it prints "no GPU" and exits 0. Times are medians over --repeats
measurements of CUDA-event time, after warm-up (which includes torch.compile's compile).
"""

import argparse
import json
import math
import statistics
import sys


def mlp(torch, widths, acts):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if acts[i] is not None:
            layers.append(acts[i]())
    return torch.nn.Sequential(*layers)


def make_step(torch, model, mode):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    if mode == "compile":
        return torch.compile(step)
    if mode == "compile-cudagraphs":
        return torch.compile(step, mode="reduce-overhead")
    return step


def time_cuda(torch, fn, repeats, inner):
    """Median milliseconds of `inner` calls of fn, measured with CUDA events."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    return statistics.median(times)


def bench_mlp_step(torch, mode, batch, repeats):
    torch.manual_seed(0)
    model = mlp(torch, [32, 64, 64, 64, 64, 16], [torch.nn.ReLU] * 4 + [None]).cuda()
    x = torch.rand(batch, 32, device="cuda") * 2 - 1
    y = torch.rand(batch, 16, device="cuda") * 2 - 1
    step = make_step(torch, model, mode)
    return time_cuda(torch, lambda: step(x, y), repeats, 10)


def regression_model(torch):
    return mlp(torch, [1, 14, 10, 1], [torch.nn.Tanh, torch.nn.Sigmoid, None]).cuda()


def bench_regression_step(torch, mode, repeats):
    torch.manual_seed(0)
    model = regression_model(torch)
    x = torch.rand(5, 1, device="cuda") * 6 - 3
    y = torch.sin(x)
    step = make_step(torch, model, mode)
    return time_cuda(torch, lambda: step(x, y), repeats, 100)


def bench_regression_epoch(torch, mode, repeats):
    torch.manual_seed(0)
    model = regression_model(torch)
    n, batch = 2000, 5
    x = torch.rand(n, 1, device="cuda") * 6 - 3
    y = torch.sin(x) + 0.2 * torch.randn(n, 1, device="cuda")
    step = make_step(torch, model, mode)

    def epoch():
        perm = torch.randperm(n, device="cuda")
        xs, ys = x[perm], y[perm]
        for b0 in range(0, n, batch):
            step(xs[b0:b0 + batch], ys[b0:b0 + batch])

    return time_cuda(torch, epoch, max(3, repeats // 4), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--modes", default="eager,compile,compile-cudagraphs")
    parser.add_argument("--tf32", action="store_true",
                        help="matmuls on TF32 tensor cores (compare with cuda_bench's tf32:1 rows)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed")
        return 0
    if not torch.cuda.is_available():
        print("no GPU")
        return 0
    # kiln's kernels are plain f32 unless asked for TF32 (CompileOptions::tf32)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    results = []
    for mode in args.modes.split(","):
        for k in range(14, 19):
            batch = 1 << k
            ms = bench_mlp_step(torch, mode, batch, args.repeats)
            results.append({"workload": f"mlp_step/{batch}", "mode": mode, "ms": ms,
                            "samples_per_s": batch / ms * 1e3})
        results.append({"workload": "regression_step", "mode": mode,
                        "ms": bench_regression_step(torch, mode, args.repeats)})
        ms = bench_regression_epoch(torch, mode, args.repeats)
        results.append({"workload": "regression_epoch", "mode": mode, "ms": ms, "steps_per_s": 400 / ms * 1e3})
    device = torch.cuda.get_device_name(0)
    print(f"# {device}, torch {torch.__version__}")
    print(f"{'workload':24} {'mode':20} {'ms':>12}")
    for r in results:
        print(f"{r['workload']:24} {r['mode']:20} {r['ms']:12.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "torch": torch.__version__, "results": results}, f, indent=2)
    return 0 if all(math.isfinite(r["ms"]) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
