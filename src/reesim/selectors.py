"""Selections on a result dataset that several reports share (see :mod:`reesim.indicators`)."""

from __future__ import annotations

from reesim.indicators import mined_in_china

__all__ = ["mined_in_china"]
