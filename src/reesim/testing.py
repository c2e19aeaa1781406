"""Helpers for checking results in tests and notebooks."""

from reesim.balance import assert_balanced, balance_report

__all__ = ["assert_balanced", "balance_report"]
