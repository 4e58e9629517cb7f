#!/usr/bin/env python3
"""W6's peers: the heat-equation step of kiln_bench in JAX and PyTorch, timed the same way.

The step (bench/harness/pinn_benchmarks.cpp): u_t - u_xx = f on [-1, 1] x [0, 10] with
f = u_t - u_xx of u = (e^(1-x^2) - 1)(t+1)^(-1/2), a 2-32-32-32-1 tanh network, the mean squared
residual at 256 interior points (and mean u^2 at 64 boundary points for the "both" variants),
its gradient, and an Adam update (lr 1e-3). f32 throughout, one thread.

Variants, each the way a user of that framework would write it:
  jax-rev     jit(value_and_grad) of a loss whose u_t and u_xx come from jax.grad of jax.grad
              per point under vmap (reverse over reverse, the common PINN code)
  jax-fwd     the same with u_xx from jax.jvp of jax.jvp and u_t from jax.jvp (forward mode, what
              kiln does)
  torch       PyTorch eager, torch.autograd.grad(create_graph=True) twice (the common PINN code;
              torch.compile cannot compile double backward)

Prints one JSON object: {"<variant>[-both]": {"median_us": ..., "min_us": ..., "steps": ...},
"versions": {...}}. Neither framework is a dependency of kiln: install them in a virtual
environment (bench/pinn/run.sh says how).

    python3 bench/pinn/heat_peer.py --seconds 2 --variants jax-fwd,torch
"""

import argparse
import json
import os
import statistics
import sys
import time

# One thread for every framework, set before any of them is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

WIDTHS = (2, 32, 32, 32, 1)
INTERIOR, BOUNDARY = 256, 64
LR = 1e-3


def points(seed):
    """Interior points uniform in the box, boundary points on x = +-1 (the box's faces in x)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    interior = np.stack(
        [rng.uniform(-1, 1, INTERIOR), rng.uniform(0, 10, INTERIOR)], axis=1
    ).astype(np.float32)
    boundary = np.stack(
        [rng.choice([-1.0, 1.0], BOUNDARY), rng.uniform(0, 10, BOUNDARY)], axis=1
    ).astype(np.float32)
    return interior, boundary


def init(seed):
    """PyTorch's default Linear init, as numpy arrays [out, in] and [out]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params.append((w, b))
    return params


def time_steps(step, seconds):
    """Runs step() for about `seconds` after a warm-up. Per-step wall and process CPU times of
    batches of 20 steps (us): on a shared machine the CPU time is the peer's own work; the loss of
    the first step shows that every variant computes the same thing."""
    first_loss = step()
    for _ in range(19):
        step()
    wall, cpu, total, steps = [], [], 0.0, 0
    while total < seconds or len(wall) < 5:
        n = 20
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        wall.append(dt / n * 1e6)
        cpu.append(dc / n * 1e6)
        total += dt
        steps += n
    return {
        "median_us": statistics.median(wall),
        "min_us": min(wall),
        "cpu_median_us": statistics.median(cpu),
        "steps": steps,
        "first_loss": first_loss,
    }


def jax_step(mode, both, interior, boundary, params):
    import jax
    import jax.numpy as jnp

    def net(p, xt):  # one point [2] -> scalar
        h = xt
        for i, (w, b) in enumerate(p):
            h = w @ h + b
            if i + 1 < len(p):
                h = jnp.tanh(h)
        return h[0]

    def f(xt):
        x, t = xt[0], xt[1]
        bump = jnp.exp(1.0 - x * x)
        return -0.5 * (bump - 1.0) * (t + 1.0) ** -1.5 - (4.0 * x * x - 2.0) * bump * (
            t + 1.0
        ) ** -0.5

    ex, et = jnp.array([1.0, 0.0], jnp.float32), jnp.array([0.0, 1.0], jnp.float32)

    def residual(p, xt):
        u = lambda z: net(p, z)
        if mode == "rev":
            g = jax.grad(u)
            u_t = g(xt)[1]
            u_xx = jax.grad(lambda z: g(z)[0])(xt)[0]
        else:
            u_t = jax.jvp(u, (xt,), (et,))[1]
            u_xx = jax.jvp(lambda z: jax.jvp(u, (z,), (ex,))[1], (xt,), (ex,))[1]
        return u_t - u_xx - f(xt)

    def loss(p, xi, xb):
        r = jax.vmap(residual, (None, 0))(p, xi)
        value = jnp.mean(r * r)
        if both:
            ub = jax.vmap(net, (None, 0))(p, xb)
            value = value + jnp.mean(ub * ub)
        return value

    def adam(p, m, v, g, k):
        b1, b2, eps = 0.9, 0.999, 1e-8
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1**k, 1 - b2**k
        p = jax.tree_util.tree_map(
            lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v
        )
        return p, m, v

    @jax.jit
    def step(p, m, v, k, xi, xb):
        value, g = jax.value_and_grad(loss)(p, xi, xb)
        p, m, v = adam(p, m, v, g, k)
        return p, m, v, k + 1.0, value

    p = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, p)
    state = [p, zeros, zeros, jnp.float32(1.0)]
    xi, xb = jnp.asarray(interior), jnp.asarray(boundary)

    def run():
        out = step(*state, xi, xb)
        state[:] = out[:4]
        return float(out[4].block_until_ready())

    return run


def torch_step(both, interior, boundary, params):
    import torch

    torch.set_num_threads(1)
    layers = [
        (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
        for w, b in params
    ]
    flat = [t for wb in layers for t in wb]
    opt = torch.optim.Adam(flat, lr=LR)
    xi, xb = torch.tensor(interior), torch.tensor(boundary)

    def net(z):
        h = z
        for i, (w, b) in enumerate(layers):
            h = torch.nn.functional.linear(h, w, b)
            if i + 1 < len(layers):
                h = torch.tanh(h)
        return h

    def run():
        z = xi.clone().requires_grad_(True)
        u = net(z)
        (g,) = torch.autograd.grad(u.sum(), z, create_graph=True)
        u_x, u_t = g[:, 0], g[:, 1]
        (gx,) = torch.autograd.grad(u_x.sum(), z, create_graph=True)
        u_xx = gx[:, 0]
        x, t = xi[:, 0], xi[:, 1]
        bump = torch.exp(1.0 - x * x)
        f = -0.5 * (bump - 1.0) * (t + 1.0) ** -1.5 - (4.0 * x * x - 2.0) * bump * (t + 1.0) ** -0.5
        r = u_t - u_xx - f
        value = (r * r).mean()
        if both:
            value = value + (net(xb) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        return value.item()

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per variant")
    ap.add_argument("--variants", default="jax-rev,jax-fwd,torch")
    ap.add_argument("--both", action="store_true", help="also the step with the boundary term")
    args = ap.parse_args()
    interior, boundary = points(2)
    params = init(1)
    results, versions = {}, {}
    for variant in args.variants.split(","):
        for both in (False, True) if args.both else (False,):
            if variant.startswith("jax"):
                import jax

                versions["jax"] = jax.__version__
                run = jax_step(variant.split("-")[1], both, interior, boundary, params)
            elif variant == "torch":
                import torch

                versions["torch"] = torch.__version__
                run = torch_step(both, interior, boundary, params)
            else:
                sys.exit(f"heat_peer.py: unknown variant {variant!r} (jax-rev, jax-fwd, torch)")
            results[variant + ("-both" if both else "")] = time_steps(run, args.seconds)
    results["versions"] = versions
    print(json.dumps(results))


if __name__ == "__main__":
    main()
