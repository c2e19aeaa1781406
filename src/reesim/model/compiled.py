"""numpy-exact scalar helpers for the compiled (numba) kernels of the mechanisms.

A kernel that replaces numpy code must give the numbers numpy gave, whatever the batch: these
helpers reproduce numpy's semantics (NaN rules of ``np.minimum`` and ``np.maximum``, its fast
paths for an array to a scalar power) and the order of operations of its sums and einsum dot
products (``tests/test_compiled_sums.py``, ``test_mech_demand.py`` and ``test_mech_regimes.py``
check them bit for bit). They are compiled with numpy's error model, as the kernels are: a
division by zero gives inf, as in numpy, whoever calls them first (numba compiles a helper
with the flags of its first caller, so a helper left on Python's error model raised
ZeroDivisionError when a test called it before any kernel had).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def np_minimum(a: float, b: float) -> float:
    """``np.minimum`` of two numbers (NaN if either is NaN)."""
    return a if (a < b or a != a) else b


@numba.njit(cache=True, error_model="numpy")
def np_maximum(a: float, b: float) -> float:
    """``np.maximum`` of two numbers (NaN if either is NaN)."""
    return a if (a > b or a != a) else b


@numba.njit(cache=True, error_model="numpy")
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


@numba.njit(cache=True, error_model="numpy")
def einsum_dot(a: np.ndarray, b: np.ndarray) -> float:
    """``np.einsum`` of two 1-d arrays of equal length with a contiguous last axis, summed.

    The order of numpy's einsum (``"me,e->m"``, ``"mke,mae->mka"``...) summing over that
    axis (numpy 2.4 built for x86-64-v2, its baseline here): two lanes accumulate the products
    of even and odd positions, four pairs at a time from the last pair to the first of each
    block of eight, then the rest pair by pair (a missing odd position adds 0 * 0); the lanes
    are added and the sum added to 0.0 (``tests/test_mech_demand.py`` checks it against
    ``np.einsum``).
    """
    n = a.shape[0]
    even = 0.0
    odd = 0.0
    i = 0
    while n - i >= 8:
        even = a[i + 6] * b[i + 6] + even
        odd = a[i + 7] * b[i + 7] + odd
        even = a[i + 4] * b[i + 4] + even
        odd = a[i + 5] * b[i + 5] + odd
        even = a[i + 2] * b[i + 2] + even
        odd = a[i + 3] * b[i + 3] + odd
        even = a[i] * b[i] + even
        odd = a[i + 1] * b[i + 1] + odd
        i += 8
    while i < n:
        even = a[i] * b[i] + even
        odd = (a[i + 1] * b[i + 1] if i + 1 < n else 0.0 * 0.0) + odd
        i += 2
    return 0.0 + (even + odd)


@numba.njit(cache=True, error_model="numpy")
def scalar_power(x: float, exponent: float) -> float:
    """``x ** exponent`` as numpy computes an array to the power of a scalar (numba).

    numpy squares for an exponent of exactly 2.0, takes the square root for 0.5 and the
    reciprocal for -1.0; other exponents go through the C library's ``pow``, as here.
    """
    if exponent == 2.0:
        return x * x
    if exponent == 0.5:
        return math.sqrt(x)
    if exponent == -1.0:
        return 1.0 / x
    return x ** exponent


@numba.njit(cache=True, error_model="numpy")
def numpy_power(x: float, exponent: float, one_value: bool) -> float:
    """``x ** exponent`` as numpy raises an array to the power of an exponent *array* (numba).

    numpy takes its scalar fast path (:func:`scalar_power`) when the exponent array holds a
    single value (``one_value``: a one-member batch's (1, 1) member column) and the C library's
    ``pow`` element by element otherwise, on rows as short as the model's (elements, producers,
    applications; numpy's power loop has fast paths of its own on rows of thousands of values),
    so a compiled kernel that raises to a member value passes whether the array it replaces has
    one value (``tests/test_compiled_sums.py`` checks both against numpy).
    """
    return scalar_power(x, exponent) if one_value else x ** exponent
