"""Keep xarray from importing dask in a process that never uses dask arrays.

xarray asks, for every array it wraps, whether the array is a dask array; the first time it
imports ``dask`` and ``dask.array`` to know the type (0.4-0.7 s on the 2-core VM, more than a
third of a fresh ``reesim run``'s simulation time), although a reesim run has only numpy arrays.
No object can be a dask array before ``dask.array`` is imported, so :func:`defer_dask` puts in
xarray's cache of duck-array modules an entry that answers "no dask array type" until then, and
becomes xarray's own entry as soon as ``dask.array`` is imported (by reesim's ensemble runner or
a user's code): the answer is the same as xarray's in every case, only the import is deferred.

xarray also asks ``dask.base.is_dask_collection`` whether an array it indexes is a dask
collection (``xarray.namedarray.utils.is_dask_collection``), importing ``dask.base`` and with it
jinja2 (0.13 s of a fresh run, measured with ``-X importtime``). Dask answers ``False`` at once
for anything without a callable ``__dask_graph__`` (a class, a numpy array); the deferred check
gives that answer without the import and hands everything else to xarray's own function.

The cache and the helper are private to xarray; if their layout differs (another xarray
version) nothing is changed and xarray imports dask as before.
"""

from __future__ import annotations

import sys


def defer_dask() -> bool:
    """Defer both of xarray's dask imports; True if the cache entry is installed (or there).

    The two are independent: the collection check gives dask's own answer whether or not the
    cache entry could be installed (another xarray layout, or ``dask.array`` already imported).
    """
    _defer_collection_check()
    return _defer_array_module()


def _defer_array_module() -> bool:
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


def _defer_collection_check() -> bool:
    """Answer xarray's "a dask collection?" without importing dask where dask would say no."""
    try:
        from xarray.namedarray import utils
    except ImportError:      # pragma: no cover (xarray is a dependency)
        return False
    real = getattr(utils, "is_dask_collection", None)
    if real is None or getattr(real, "_reesim_deferred", False):
        return real is not None

    def is_dask_collection(x: object) -> bool:
        """dask.base.is_dask_collection's first test, then xarray's own check."""
        if isinstance(x, type) or not callable(getattr(x, "__dask_graph__", None)):
            return False         # dask's own answer for these, without importing dask
        return real(x)

    is_dask_collection._reesim_deferred = True    # type: ignore[attr-defined]
    utils.is_dask_collection = is_dask_collection
    return True
