"""Compiled kernels never run stale: numba's cache folder is keyed by the kernels' source.

Numba's own cache checks only the file of the function it loads; a kernel calling a helper in
another file kept the old helper compiled in. :mod:`reesim.kernel_cache` keys the folder by a
hash of every module under ``reesim/model``; these tests show the stale load with numba's
cache alone and its absence with the keyed folder, and check the folder's bookkeeping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from reesim import kernel_cache

HELPER = "import numba\n\n\n@numba.njit(cache=True)\ndef helper():\n    return {value}\n"
KERNEL = textwrap.dedent("""\
    import numba

    from kpkg.model.helper import helper


    @numba.njit(cache=True)
    def kernel():
        return helper() + 0
    """)
RUN = textwrap.dedent("""\
    import os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    if sys.argv[2] == "keyed":
        from reesim import kernel_cache
        kernel_cache.configure(root=Path(sys.argv[1]) / "kpkg")
    from kpkg.model.kernel import kernel
    print(kernel())
    """)


def _package(tmp_path: Path, value: int) -> Path:
    model = tmp_path / "src" / "kpkg" / "model"
    model.mkdir(parents=True, exist_ok=True)
    for folder in (model.parent, model):
        (folder / "__init__.py").touch()
    (model / "helper.py").write_text(HELPER.format(value=value))
    (model / "kernel.py").write_text(KERNEL)
    return tmp_path / "src"


def _kernel_value(src: Path, mode: str, cache: Path) -> int:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", RUN, str(src), mode], env=env, check=True,
                         capture_output=True, text=True, timeout=300)
    return int(out.stdout.strip().splitlines()[-1])


def test_a_changed_helper_reaches_the_kernel_that_calls_it(tmp_path):
    src = _package(tmp_path, 1)
    plain, keyed = tmp_path / "plain", tmp_path / "keyed"
    assert _kernel_value(src, "plain", plain) == 1
    assert _kernel_value(src, "keyed", keyed) == 1
    _package(tmp_path, 2)                                  # only the helper's file changes
    # numba's cache alone serves the kernel compiled with the old helper (its documented limit)
    assert _kernel_value(src, "plain", plain) == 1
    assert _kernel_value(src, "keyed", keyed) == 2


def test_the_key_follows_the_model_sources_only(tmp_path):
    root = tmp_path / "reesim"
    (root / "model" / "mechanisms").mkdir(parents=True)
    (root / "model" / "step.py").write_text("x = 1\n")
    (root / "model" / "mechanisms" / "market.py").write_text("y = 1\n")
    (root / "cli.py").write_text("z = 1\n")
    key = kernel_cache.kernel_source_key(root)
    assert len(key) == 16
    (root / "cli.py").write_text("z = 2\n")
    assert kernel_cache.kernel_source_key(root) == key
    (root / "model" / "mechanisms" / "market.py").write_text("y = 2\n")
    assert kernel_cache.kernel_source_key(root) != key
    copy = tmp_path / "elsewhere" / "reesim"                 # another checkout of the same code
    shutil.copytree(root, copy)
    assert kernel_cache.kernel_source_key(copy) != kernel_cache.kernel_source_key(root)


def test_the_folder_sits_under_the_users_cache_setting_once(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    folder = kernel_cache.configure(env)
    assert folder is not None and folder.parent == tmp_path / "mine"
    assert folder.name == kernel_cache.PREFIX + kernel_cache.kernel_source_key()
    assert env["NUMBA_CACHE_DIR"] == str(folder)
    assert kernel_cache.configure(env) == folder           # a child process: not nested again
    assert kernel_cache.cache_base({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "reesim"
    assert kernel_cache.cache_base({"REESIM_CACHE_DIR": str(tmp_path / "r")}) == tmp_path / "r"


def test_only_the_most_recently_used_folders_keep_their_compiled_files(tmp_path):
    folders = []
    for i in range(kernel_cache.KEEP_FOLDERS + 2):
        folder = tmp_path / f"{kernel_cache.PREFIX}{i:016x}"
        (folder / "deep").mkdir(parents=True)
        (folder / "deep" / "f.nbi").write_text("index")
        (folder / "deep" / "f.nbc").write_text("code")
        (folder / "last-used").write_text("")
        os.utime(folder / "last-used", (1_000 + i, 1_000 + i))
        folders.append(folder)
    pruned = kernel_cache.prune(tmp_path)
    assert sorted(pruned) == folders[:2]                    # the two least recently used
    for folder in folders[:2]:
        assert not list(folder.rglob("*.nb?")) and (folder / "pruned").exists()
    for folder in folders[2:]:
        assert len(list(folder.rglob("*.nb?"))) == 2
    assert kernel_cache.prune(tmp_path) == []               # pruned folders are not searched


def test_reesim_points_numba_at_its_keyed_folder(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    code = "import reesim, numba; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True, timeout=300).stdout.strip()
    assert Path(out) == tmp_path / (kernel_cache.PREFIX + kernel_cache.kernel_source_key())


def test_an_unwritable_base_leaves_numbas_default(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    env = {"NUMBA_CACHE_DIR": str(blocked / "below")}
    assert kernel_cache.configure(env) is None
    assert env == {"NUMBA_CACHE_DIR": str(blocked / "below")}      # untouched
