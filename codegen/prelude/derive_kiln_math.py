#!/usr/bin/env python3
"""Derives the polynomial coefficients in kiln_math.h.

Each polynomial is a near-minimax fit of a weighted error (relative error of the function it
serves), found by Lawson's iteratively reweighted least squares on Chebyshev nodes, with the
reference values from mpmath at 40 digits. Coefficients are rounded to the target type one at a
time, lowest degree first, and the remaining ones are refitted after each rounding, so that the
rounding of one coefficient is absorbed by the next. The printed error is the approximation error
alone (rounded coefficients, exact arithmetic), in units of 2^-24 (float) or absolute (double);
the header states the max ulp measured on the real float evaluation.

    pip install numpy mpmath && python3 derive_kiln_math.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def chebyshev_nodes(lo, hi, n):
    t = np.cos(np.pi * (np.arange(n) + 0.5) / n)[::-1]
    return np.concatenate([[lo], (lo + hi) / 2 + (hi - lo) / 2 * t, [hi]])


def lawson(a, g, iters=400):
    """Minimax fit of a @ c ~ g by Lawson's algorithm; returns the best iterate."""
    u = np.full(len(g), 1.0 / len(g))
    best = None
    for _ in range(iters):
        s = np.sqrt(u)
        c, *_ = np.linalg.lstsq(a * s[:, None], g * s, rcond=None)
        e = np.abs(a @ c - g)
        if best is None or e.max() < best[0]:
            best = (e.max(), c)
        u = np.maximum(u * e, (u * e).max() * 1e-12)
        u /= u.sum()
    return best[1]


def fit(target, weight, degree, lo, hi, dtype, n=2000):
    """Coefficients c[0..degree], rounded to dtype, minimising
    max |weight * (sum c_j x^j - target)| over [lo, hi]."""
    xs = chebyshev_nodes(lo, hi, n)
    g = np.array([float(target(mp.mpf(x))) for x in xs])
    w = np.array([float(weight(mp.mpf(x))) for x in xs])
    a = np.stack([xs**p for p in range(degree + 1)], axis=1) * w[:, None]
    gw = g * w
    coeffs = []
    for j in range(degree + 1):
        rest = gw - (a[:, :j] @ np.array(coeffs) if j else 0.0)
        coeffs.append(float(dtype(lawson(a[:, j:], rest)[0])))
    c = np.array(coeffs)
    return c, np.abs(a @ c - gw).max()


def limit(f, at_zero):
    return lambda x: at_zero if x == 0 else f(x)


SQRT_HALF_M1 = float(np.float32(mp.sqrt(0.5))) - 1 - 1e-6
SQRT_TWO_M1 = float(np.float32(mp.sqrt(2))) - 1 + 1e-6
R_EXP = 0.347  # |x - k ln2| <= ln2/2 plus the rounding of k
ERF_SPLIT, ERF_END = 1.0, 4.0
ERF_MID = ERF_SPLIT  # expanding at the split keeps the constant term, and its rounding, small
R_TRIG = 0.786  # |r| <= pi/4 plus slack
TANH_SPLIT = 0.625
rt = mp.sqrt

PROBLEMS = [
    # name, target, weight, degree, interval, dtype
    ("expm1: expm1(r) = r + r^2 Q(r)", limit(lambda r: (mp.expm1(r) - r) / r**2, mp.mpf(0.5)),
     limit(lambda r: r**2 / mp.expm1(r), mp.mpf(0)), 5, (-R_EXP, R_EXP), np.float32),
    ("log1p: log(1+f) = f + f^2 P(f)", limit(lambda f: (mp.log1p(f) - f) / f**2, mp.mpf(-0.5)),
     limit(lambda f: f**2 / mp.log1p(f), mp.mpf(0)), 8, (SQRT_HALF_M1, SQRT_TWO_M1), np.float32),
    ("tanh: tanh(x) = x + x^3 T(x^2)",
     limit(lambda s: (mp.tanh(rt(s)) - rt(s)) / rt(s)**3, -mp.mpf(1) / 3),
     limit(lambda s: rt(s)**3 / mp.tanh(rt(s)), mp.mpf(0)), 5, (0, TANH_SPLIT**2), np.float32),
    ("erf small: erf(x) = x + x E(x^2)", limit(lambda s: (mp.erf(rt(s)) - rt(s)) / rt(s),
                                               2 / rt(mp.pi) - 1),
     limit(lambda s: rt(s) / mp.erf(rt(s)), rt(mp.pi) / 2), 6, (0, ERF_SPLIT**2), np.float32),
    (f"erf large: erf(x) = 1 - exp(L(x - {ERF_MID}))", lambda u: mp.log(mp.erfc(u + ERF_MID)),
     lambda u: mp.erfc(u + ERF_MID) / mp.erf(u + ERF_MID), 7,
     (ERF_SPLIT - ERF_MID, ERF_END - ERF_MID), np.float32),
    ("sin: sin(r) = r + r^3 S(r^2)", limit(lambda s: (mp.sin(rt(s)) - rt(s)) / rt(s)**3,
                                           -mp.mpf(1) / 6),
     limit(lambda s: rt(s)**3 / mp.sin(rt(s)), mp.mpf(0)), 3, (0, R_TRIG**2), np.float32),
    ("cos: cos(r) = 1 - r^2/2 + r^4 C(r^2)",
     limit(lambda s: (mp.cos(rt(s)) - 1 + s / 2) / s**2, mp.mpf(1) / 24),
     lambda s: s**2 / mp.cos(rt(s)), 3, (0, R_TRIG**2), np.float32),
    ("pow, double expm1: expm1(r) = r + r^2 Q(r)",
     limit(lambda r: (mp.expm1(r) - r) / r**2, mp.mpf(0.5)),
     limit(lambda r: r**2 / mp.expm1(r), mp.mpf(0)), 7, (-R_EXP, R_EXP), np.float64),
    ("pow, double log1p: log(1+f) = f + f^2 P(f)",
     limit(lambda f: (mp.log1p(f) - f) / f**2, mp.mpf(-0.5)),
     limit(lambda f: f**2 / mp.log1p(f), mp.mpf(0)), 12, (SQRT_HALF_M1, SQRT_TWO_M1), np.float64),
]


def truncated(x, keep_bits):
    """x rounded to double, then cut to keep_bits significant bits (so products stay exact)."""
    m, e = mp.frexp(x)
    return float(mp.floor(m * 2**keep_bits) * mp.mpf(2) ** (e - keep_bits))


def rsqrt_magic():
    """The K in 1/sqrt(d) ~ double_from(K - bits(d) / 2) that minimises the max relative error."""
    d = np.linspace(1, 4, 200001)[:-1]
    half = d.view(np.uint64) >> np.uint64(1)
    def err(k):
        return np.abs((np.uint64(k) - half).view(np.float64) * np.sqrt(d) - 1).max()
    best, step = (9.0, 0x5FE0000000000000), 1 << 44
    lo, hi = best[1], best[1] + (1 << 52)
    while step >= 1 << 20:
        for k in range(lo, hi, step):
            best = min(best, (err(k), k))
        lo, hi, step = best[1] - 2 * step, best[1] + 2 * step, step // 8
    return best


def split_constants():
    ln2, pio2 = mp.log(2), mp.pi / 2
    hi = truncated(ln2, 15)  # 15 bits: k * hi exact in float for |k| < 512
    lo = float(np.float32(ln2 - hi))
    print(f"// float ln2 = {hi.hex()} + {lo.hex()}, log2(e) = {float(np.float32(1 / ln2)):.9g}")
    hi = truncated(ln2, 44)  # 44 bits: k * hi exact in double for |k| < 512
    print(f"// double ln2 = {hi.hex()} + {float(ln2 - hi)!r}, log2(e) = {float(1 / ln2)!r}")
    hi = truncated(pio2, 26)  # 26 bits: k * hi exact in double for |k| < 2^27
    print(f"// double pi/2 = {hi.hex()} + {float(pio2 - hi)!r}, 2/pi = {float(1 / pio2)!r}")
    err, k = rsqrt_magic()
    print(f"// 1/sqrt magic = {k:#x} (max relative error {err:.4f})")


def main():
    split_constants()
    for name, target, weight, degree, (lo, hi), dtype in PROBLEMS:
        c, err = fit(target, weight, degree, lo, hi, dtype)
        single = dtype == np.float32
        print(f"// {name} on [{lo:.6g}, {hi:.6g}]: max weighted error "
              + (f"{err / 2**-24:.3g} * 2^-24" if single else f"{err:.3g}"))
        for j, v in enumerate(c):
            print(f"  c{j} = " + (f"{v:.9g}f" if single else f"{v:.17g}"))


if __name__ == "__main__":
    main()
