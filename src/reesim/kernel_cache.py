"""Where numba keeps reesim's compiled kernels: a folder keyed by the kernels' source code.

Numba's on-disk cache checks only the source file of the function it loads, not the files of
the functions that one calls (a documented limit of numba's cache): after a change to a helper
in ``market/price_rule.py``, the trade kernel of ``model/step.py`` loaded its compiled copy of
the old helper, silently, until its own file changed. reesim therefore points numba's cache
(``NUMBA_CACHE_DIR``) at a folder named after a hash of every module under ``reesim/model``,
where all its kernels live, and of the package's path: change any of them and every kernel
compiles afresh, once.

The folder is ``<base>/reesim-kernels-<key>``, ``<base>`` being ``NUMBA_CACHE_DIR`` if the user
set it, else ``REESIM_CACHE_DIR``, else ``~/.cache/reesim`` (``XDG_CACHE_HOME`` honoured). The
compiled files of all but the :data:`KEEP_FOLDERS` most recently used folders are deleted (the
folders stay, so a process still running older code can write its next kernel there).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

PREFIX = "reesim-kernels-"
"""Name of a kernel cache folder, before its key."""
KEEP_FOLDERS = 4
"""Kernel cache folders whose compiled files are kept (the most recently used): switching
between a few checkouts does not recompile each time."""
_COMPILED_SUFFIXES = (".nbi", ".nbc")


def kernel_source_key(root: Path | None = None) -> str:
    """A hash (16 hex digits) of the path and bytes of every ``.py`` file under ``reesim/model``.

    ``root`` is the ``reesim`` package folder (this file's by default); its absolute path is
    hashed too, so that each checkout or installation has its own folder and the pruning below
    clears the caches of checkouts since deleted (numba keeps a cache per source path within a
    folder anyway). Reading some 30 files takes about a millisecond.
    """
    package = (Path(__file__).parent if root is None else Path(root)).resolve()
    digest = hashlib.sha256(str(package).encode())
    for path in sorted((package / "model").rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update(sys.version.encode())            # a cache is per Python version anyway
    return digest.hexdigest()[:16]


def cache_base(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """The folder under which the keyed kernel folders live (see the module's docstring)."""
    env = os.environ if environ is None else environ
    for name in ("NUMBA_CACHE_DIR", "REESIM_CACHE_DIR"):
        if env.get(name):
            return Path(env[name]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "reesim"


def configure(environ: dict[str, str] | os._Environ[str] | None = None,
              root: Path | None = None) -> Path | None:
    """Point numba's cache at this source's kernel folder; return it (None if it cannot be made).

    Sets ``NUMBA_CACHE_DIR`` in ``environ`` (``os.environ`` by default) before numba is
    imported, and numba's loaded configuration too if it already was. The user's own
    ``NUMBA_CACHE_DIR`` becomes the base, once: a folder that already is a kernel folder is
    not nested again. An unwritable base (or no home folder) leaves numba's default (next to
    the sources).
    """
    env = os.environ if environ is None else environ
    try:
        base = cache_base(env)
        if base.name.startswith(PREFIX):           # configured before (e.g. a parent process)
            base = base.parent
        folder = base / f"{PREFIX}{kernel_source_key(root)}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "last-used").write_text(f"{time.time():.0f}\n")
        (folder / "pruned").unlink(missing_ok=True)    # in use again
    except (OSError, RuntimeError):                # RuntimeError: no home folder to be found
        return None
    env["NUMBA_CACHE_DIR"] = str(folder)
    numba = sys.modules.get("numba")
    if numba is not None and environ is None:
        numba.config.CACHE_DIR = str(folder)
    prune(base)
    return folder


def prune(base: Path, keep: int = KEEP_FOLDERS) -> list[Path]:
    """Delete the compiled files of all but the ``keep`` most recently used kernel folders.

    Returns the folders pruned. Only numba's ``.nbi``/``.nbc`` files go; errors (a file another
    process just removed) are ignored.
    """
    folders = sorted((p for p in base.glob(f"{PREFIX}*")
                      if p.is_dir() and not (p / "pruned").exists()),
                     key=_last_used, reverse=True)
    pruned = []
    for folder in folders[keep:]:
        for path in folder.rglob("*"):
            if path.suffix in _COMPILED_SUFFIXES:
                try:
                    path.unlink()
                except OSError:
                    pass
        try:
            (folder / "pruned").touch()            # not searched again (unless used again)
            (folder / "last-used").unlink(missing_ok=True)
        except OSError:
            pass
        pruned.append(folder)
    return pruned


def _last_used(folder: Path) -> float:
    try:
        return (folder / "last-used").stat().st_mtime
    except OSError:
        return 0.0
