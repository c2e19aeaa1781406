"""Keep numba from importing scipy's BLAS at start-up when no kernel of reesim uses it.

When numba sets up its typing of numpy functions (at the first kernel loaded from its cache)
it imports ``numba.np.arraymath``, which probes for BLAS once, at import, by importing
``scipy.linalg.cython_blas`` (0.08 s of a fresh ``reesim run``, measured with ``-X
importtime``): the answer only chooses how ``np.dot`` of two vectors is compiled, and no
reesim kernel calls BLAS. :func:`defer_blas_probe` answers that probe with "BLAS is there if
scipy is installed" (scipy is a dependency), without the import; numba's real check
(``numba.np.linalg.ensure_blas``) stays in place for every kernel that does need BLAS, which
then imports it as before. If numba's layout differs (another numba version) or the probe has
already run, nothing is changed.
"""

from __future__ import annotations

import importlib.util
import sys


def defer_blas_probe() -> bool:
    """Import ``numba.np.arraymath`` with its BLAS probe answered lazily; True if done so."""
    if "numba.np.arraymath" in sys.modules:
        return False                 # probed already
    try:
        from numba.np import linalg
    except ImportError:              # pragma: no cover (numba is a dependency)
        return False
    real = getattr(linalg, "ensure_blas", None)
    if real is None or "numba.np.arraymath" in sys.modules:
        return False

    def probe() -> None:
        """Answer arraymath's import-time question: BLAS is there if scipy is installed."""
        if importlib.util.find_spec("scipy") is None:
            raise ImportError("scipy 0.16+ is required for linear algebra")

    linalg.ensure_blas = probe
    try:
        import numba.np.arraymath  # noqa: F401  (its _HAVE_BLAS from the probe)
    finally:
        linalg.ensure_blas = real    # numba's own check for every later caller
    return True
