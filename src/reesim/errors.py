"""User-facing errors: bad scenarios, bad data tables, broken invariants.

Every error a user can cause carries enough context (file, field, value, allowed range) to be
fixed without reading a traceback; the CLI prints ``str(error)`` and exits with code 2.
"""

from __future__ import annotations


class ReesimError(Exception):
    """Base class of reesim's own errors."""


class InputError(ReesimError):
    """Bad user or packaged input: names the file, the field and what is allowed."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 allowed: str | None = None) -> None:
        self.file = file
        self.field = field
        self.allowed = allowed
        parts = []
        if file:
            parts.append(f"in {file}")
        if field:
            parts.append(f"field {field}")
        where = (" (" + ", ".join(parts) + ")") if parts else ""
        text = f"{message}{where}"
        if allowed:
            text += f"\n  allowed: {allowed}"
        super().__init__(text)


class BalanceError(ReesimError):
    """A mass balance does not close: names stage, element, time and the residual (t REO)."""


class ModelError(ReesimError):
    """A run produced an undefined value (NaN): names the variable, member and time."""
