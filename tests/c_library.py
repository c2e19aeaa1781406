"""The C library's ``pow``, as reference for tests that check a compiled kernel's arithmetic.

The compiled kernels raise to a power with the C library's ``pow`` (numba), as numpy does for
float64 arrays on most hosts. numpy 2 on hosts with AVX-512 (its ``X86_V4`` dispatch, e.g.
Sapphire Rapids) raises, exponentiates and takes logs of float64 arrays with its own vectorised
loops instead, which differ from the C library in the last bit for some values in a hundred
(measured 2026-12-07: 54 of 1,024 powers, 4.7% of exps); with ``NPY_DISABLE_CPU_FEATURES=X86_V4``
numpy is the C library's again. A kernel cannot call those loops, so where numpy does not use
the C library the tests compare with the C library itself, through ctypes (not numba, the
thing tested).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

_LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
_LIBM.pow.restype = ctypes.c_double
_LIBM.pow.argtypes = (ctypes.c_double, ctypes.c_double)
_c_pow = np.vectorize(_LIBM.pow, otypes=[float])


def c_pow(x: np.ndarray, exponent: np.ndarray | float) -> np.ndarray:
    """The C library's ``pow`` element by element (broadcasting ``exponent``)."""
    return _c_pow(x, exponent)


_PROBE = np.random.default_rng(0).uniform(0.01, 1.3, 1024)
NUMPY_POWER_IS_C = bool(np.array_equal(_PROBE ** np.full(1024, 1.7), c_pow(_PROBE, 1.7)))
"""Whether this host's numpy raises float64 arrays to an array power with the C library."""


def numpys_power(x: np.ndarray, exponent: np.ndarray | float) -> np.ndarray:
    """``x ** exponent`` as numpy computes it where it uses the C library's ``pow``.

    That is numpy's own result on such hosts; elsewhere numpy's fast paths for a single
    exponent value of 2, 0.5 or -1 (a product, a square root, a reciprocal: exact operations,
    the same on every host) and the C library's ``pow`` for the rest.
    """
    exponent = np.asarray(exponent, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if NUMPY_POWER_IS_C or (exponent.size == 1 and float(exponent.flat[0]) in (2.0, 0.5, -1.0)):
            return x ** exponent
        return c_pow(x, exponent)
