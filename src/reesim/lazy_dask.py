"""Keep xarray from importing dask in a process that never uses dask arrays.

xarray asks, for every array it wraps, whether the array is a dask array; the first time it
imports ``dask`` and ``dask.array`` to know the type (0.4-0.7 s on the 2-core VM, more than a
third of a fresh ``reesim run``'s simulation time), although a reesim run has only numpy arrays.
No object can be a dask array before ``dask.array`` is imported, so :func:`defer_dask` puts in
xarray's cache of duck-array modules an entry that answers "no dask array type" until then, and
becomes xarray's own entry as soon as ``dask.array`` is imported (by reesim's ensemble runner or
a user's code): the answer is the same as xarray's in every case, only the import is deferred.

The cache is private to xarray; if its layout differs (another xarray version) nothing is
changed and xarray imports dask as before.
"""

from __future__ import annotations

import sys


def defer_dask() -> bool:
    """Install the deferred dask entry in xarray's cache; True if installed (or already there)."""
    try:
        from xarray.namedarray import pycompat
    except ImportError:      # pragma: no cover (xarray is a dependency)
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    real = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or real is None:
        return False
    if "dask" in cache:      # already known (dask imported, or installed before)
        return True
    if "dask.array" in sys.modules:
        return False         # nothing to save: xarray's own entry is cheap now

    class _DeferredDask(real):
        """xarray's dask entry, built only once ``dask.array`` has been imported."""

        def __init__(self) -> None:       # no import here
            pass

        def _resolve(self):
            entry = real("dask")
            cache["dask"] = entry           # xarray's own entry from now on
            return entry

        @property
        def type(self):                     # what xarray asks for every wrapped array
            if "dask.array" not in sys.modules:
                return ()                   # no dask array can exist yet
            return self._resolve().type

        def __getattr__(self, name: str):   # module, version, available: xarray's answer
            if name.startswith("__"):
                raise AttributeError(name)
            return getattr(self._resolve(), name)

    cache["dask"] = _DeferredDask()
    return True
