"""The compiled kernels' sums, min/max and powers give numpy's numbers, bit for bit.

The mechanisms' numba kernels replaced numpy expressions on the promise that every result is
the same float; these helpers carry the order of numpy's sums (pairwise over the last axis,
in index order over any other) and numpy's NaN rules for minimum and maximum.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from c_library import numpys_power
from reesim.model.compiled import np_maximum, np_minimum, numpy_power, sum_elements
from reesim.model.step import _sum_axis, _sum_middle


def _spread(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values over 16 orders of magnitude with both signs and zeros: sums whose order shows."""
    values = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)
    values[rng.random(shape) < 0.2] = 0.0
    return values


@pytest.mark.parametrize("n", [*range(1, 41), 64, 127, 128])
def test_element_sums_are_numpys_pairwise_sums(n):
    rng = np.random.default_rng(n)
    rows = _spread(rng, (50, n))
    assert np.array_equal([sum_elements(row) for row in rows], rows.sum(axis=1))
    assert sum_elements(rows[0]) == rows[0].sum()


@pytest.mark.parametrize("shape", [(1, 41, 16), (3, 14, 16), (64, 9, 16), (300, 2, 16)])
def test_middle_axis_sums_are_numpys_running_sums(shape):
    values = _spread(np.random.default_rng(len(shape) + shape[0]), shape)
    assert np.array_equal(_sum_middle(values), values.sum(axis=1))


@pytest.mark.parametrize("members", [1, 15, 16, 300])
def test_step_sums_match_numpy_for_every_batch(members):
    values = _spread(np.random.default_rng(members), (members, 2, 9, 16))
    for axis in (1, 2):
        assert np.array_equal(_sum_axis(values, axis), values.sum(axis=axis))
    assert np.array_equal(_sum_axis(values[:, 0], 1), values[:, 0].sum(axis=1))


def test_minimum_and_maximum_propagate_nan_as_numpy_does():
    cases = [(1.0, 2.0), (2.0, 1.0), (np.nan, 1.0), (1.0, np.nan), (np.inf, 0.0), (-1.0, -1.0)]
    for a, b in cases:
        assert np.array_equal(np_minimum(a, b), np.minimum(a, b), equal_nan=True)
        assert np.array_equal(np_maximum(a, b), np.maximum(a, b), equal_nan=True)


@numba.njit
def _powers(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape)
    one_value = exponent.size == 1
    for m in range(x.shape[0]):
        for e in range(x.shape[1]):
            out[m, e] = numpy_power(x[m, e], exponent[m, 0], one_value)
    return out


@pytest.mark.parametrize("members", [1, 2, 64, 1000])
@pytest.mark.parametrize("value", [2.0, 0.5, -1.0, -4.2, 1.7])
def test_a_member_exponent_is_raised_as_numpy_raises_an_exponent_array(members, value):
    """numpy squares (and takes roots and reciprocals) for a one-value exponent array and calls
    pow for a (members, 1) one, on rows as short as the model's (16 elements, 41 producers);
    the two differ in the last bit for about one value in a thousand, so 40,000 values per case
    tell them apart (numpy_power picks by the exponent's size). The reference is numpy's where
    numpy uses the C library's pow, else the C library's (``c_library.py``: numpy's AVX-512
    loops differ from it)."""
    rng = np.random.default_rng(members)
    for width in (16, 41):
        for _ in range(max(40_000 // (members * width), 1)):
            x = rng.uniform(0.01, 1.3, (members, width))
            exponent = np.full((members, 1), value)
            np.testing.assert_array_equal(_powers(x, exponent), numpys_power(x, exponent))
