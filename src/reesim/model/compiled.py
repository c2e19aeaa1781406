"""numpy-exact scalar helpers for the compiled (numba) kernels of the mechanisms.

A kernel that replaces numpy code must give the numbers numpy gave, whatever the batch: these
helpers reproduce numpy's semantics (NaN rules of ``np.minimum`` and ``np.maximum``) and the
order of operations of its sums (``tests/test_compiled_sums.py`` checks them bit for bit).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def np_minimum(a: float, b: float) -> float:
    """``np.minimum`` of two numbers (NaN if either is NaN)."""
    return a if (a < b or a != a) else b


@numba.njit(cache=True)
def np_maximum(a: float, b: float) -> float:
    """``np.maximum`` of two numbers (NaN if either is NaN)."""
    return a if (a > b or a != a) else b


@numba.njit(cache=True)
def sum_elements(a: np.ndarray) -> float:
    """``a.sum()`` of a contiguous 1-d array of at most 128 values, in numpy's order.

    Compiled kernels sum over the element axis with this so that their totals are the same
    numbers as numpy's ``x.sum(axis=-1)``: numpy adds to 0.0 the pairwise sum, which for
    fewer than 8 values is a plain running sum and for 8 to 128 values runs eight
    accumulators over blocks of 8, adds them pairwise and then the remainder (longer arrays
    are split in halves, which this does not need).
    """
    n = a.shape[0]
    if n > 128:
        raise ValueError("sum_elements sums at most 128 values")
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[i]
        return 0.0 + res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    while i < n - (n % 8):
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return 0.0 + res
