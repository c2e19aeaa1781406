"""Benchmark: what an exp or log costs the compiled engine, and what SIMD across members would.

The market's sub-steps call the C library's exp, log, log1p and pow about 1,950 times a
member-month (``docs/benchmarks.md``), one value at a time, mostly in dependent chains (the
price solve's Newton steps). This prints, in nanoseconds per value on this host:

- numba calling the C library over independent values (throughput) and in a dependent chain
  (latency, as in a Newton solve);
- numpy's array functions over the same values (numpy >= 2 has its own SIMD loops for exp and
  log on AVX-512 hosts, which numba does not call);
- a pure-arithmetic exp inlined into a numba loop (range reduction, a degree-12 polynomial and
  the exponent set by a bit cast), over contiguous values, where LLVM can vectorize it, and in a
  dependent chain, where it cannot; and its error against the C library's.

It answers one question for issue 9: whether the transcendental calls could be made cheap
without leaving numba. The polynomial exp is a measurement prototype, not used by the model.
Prints figures; asserts nothing. Run: ``.venv/bin/python benchmarks/bench_transcendental.py
[--values 4000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

CALLS_PER_MEMBER_MONTH = 1950
"""The market's exp, log, log1p and pow calls a member-month (forty-seventh session's count)."""
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00


@intrinsic
def _bits_as_float(typingctx, bits):
    """An int64's bits read as a float64 (LLVM's bitcast, which vectorizes)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@numba.njit(inline="always")
def exp_polynomial(x: float) -> float:
    """exp(x) for |x| < 700: x = k ln2 + r, |r| <= ln2 / 2, exp(r) by its Taylor series to
    degree 12 (truncation below 1e-16), times 2**k set in the exponent bits."""
    k = math.floor(x * INV_LN2 + 0.5)
    r = x - k * LN2_HI - k * LN2_LO
    p = 1.0 / 479001600.0
    for c in (1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
              1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = p * r + c
    return p * _bits_as_float((np.int64(k) + 1023) << 52)


def _mapper(function):
    """A compiled loop ``out[i] = function(x[i])`` over contiguous values (independent calls)."""
    @numba.njit
    def apply(x, out):
        for i in range(x.size):
            out[i] = function(x[i])
    return apply


def _chainer(function):
    """A compiled loop ``y = function(x[i] - y / 2)``: each call waits for the last (latency)."""
    @numba.njit
    def chain(x):
        y = 0.0
        for i in range(x.size):
            y = function(x[i] - 0.5 * y)
        return y
    return chain


@numba.njit(inline="always")
def _pow_037(x: float) -> float:
    return x ** 0.37


_map_exp, _map_log, _map_log1p = _mapper(math.exp), _mapper(math.log), _mapper(math.log1p)
_map_pow, _map_exp_polynomial = _mapper(_pow_037), _mapper(exp_polynomial)
_chain_exp, _chain_exp_polynomial = _chainer(math.exp), _chainer(exp_polynomial)


def best_ns_per_value(call: Callable[[], object], values: int, repeat: int) -> float:
    """Fastest of ``repeat`` timings of enough calls to take about 0.2 s, per value (ns)."""
    call()
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(0.2 / once))
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)
    return best / values * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=4000,
                        help="values per call (250 members x 16 elements = 4000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(-5.0, 5.0, args.values)
    positive = rng.uniform(0.01, 50.0, args.values)
    out = np.empty_like(x)
    n, r = args.values, args.repeat

    rows = [
        ("numba, C library exp (independent values)", lambda: _map_exp(x, out)),
        ("numba, C library log", lambda: _map_log(positive, out)),
        ("numba, C library log1p", lambda: _map_log1p(positive, out)),
        ("numba, C library pow", lambda: _map_pow(positive, out)),
        ("numba, C library exp in a dependent chain", lambda: _chain_exp(x)),
        ("numpy exp over the array", lambda: np.exp(x, out=out)),
        ("numpy log over the array", lambda: np.log(positive, out=out)),
        ("numba, inlined polynomial exp (independent: vectorized)",
         lambda: _map_exp_polynomial(x, out)),
        ("numba, inlined polynomial exp in a dependent chain",
         lambda: _chain_exp_polynomial(x)),
    ]
    print(f"{n} values a call, fastest of {r}; ns per value, and what "
          f"{CALLS_PER_MEMBER_MONTH} calls a member-month would cost (us)")
    for label, call in rows:
        ns = best_ns_per_value(call, n, r)
        print(f"  {label:<58} {ns:6.2f} ns  {ns * CALLS_PER_MEMBER_MONTH / 1000:5.1f} us")

    wide = rng.uniform(-700.0, 700.0, 100_000)
    exact, approx = np.empty_like(wide), np.empty_like(wide)
    _map_exp(wide, exact)
    _map_exp_polynomial(wide, approx)
    error = np.abs(approx - exact) / exact
    print(f"polynomial exp against the C library's over [-700, 700]: max relative difference "
          f"{error.max():.2e}, {np.mean(approx == exact):.1%} of values bit for bit the same")
    asm = _map_exp_polynomial.inspect_asm(_map_exp_polynomial.signatures[0])
    width = "512-bit" if "zmm" in asm else "256-bit" if "ymm" in asm else "no"
    print(f"the polynomial loop's machine code uses {width} vector registers")


if __name__ == "__main__":
    main()
