"""Mutation check: some test must fail for each one-line mutation of src.

The mutations are issue 7's eight and, since the thirty-first session, the separators' residue
rule. For every mutation: copy ``src/`` to a temporary folder, replace exactly one line (the
original must occur exactly once, so a refactor that moves it fails loudly here), check that
Python imports ``reesim`` from the copy, run pytest against it and list the failing tests. A
mutation that no test catches is reported as SURVIVED and the script exits 1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "src/reesim/model/mechanisms"

MUTATIONS: list[tuple[str, str, str, str]] = [
    # the targets are the compiled kernels' lines since the mechanisms moved into them; until
    # the thirty-first session (2026-12-05) the first seven still named the numpy lines they
    # replaced, so the script stopped at its first mutation ("found 0 times")
    ("price rule sign flipped", f"{MODEL}/market.py",
     "            excess = x - beta * log_ratio - glut * soft_min - offset[e]",
     "            excess = x + beta * log_ratio - glut * soft_min - offset[e]"),
    ("export quota ignored", f"{MODEL}/market.py",
     "within = np_minimum(quota / np_maximum(sum_elements(exports_wanted[m]), 1e-300), 1.0)",
     "within = 1.0"),
    ("separation backlog off", f"{MODEL}/separation.py",
     "                factor[k, r] = np_minimum(np_maximum((stop[m, 0] - months)",
     "                factor[k, r] = 1.0 + 0.0 * np_minimum(np_maximum((stop[m, 0] - months)"),
    ("in-use lifetimes doubled", f"{MODEL}/in_use.py",
     "    lifetime = apps.lifetime_yr.to_numpy(float)",
     "    lifetime = 2.0 * apps.lifetime_yr.to_numpy(float)"),
    ("thrift rebound symmetric", f"{MODEL}/demand.py",
     "                    else thrift_rate[m, j] / rebound_slowdown[m, 0])",
     "                    else thrift_rate[m, j])"),
    ("essential-element rule off", f"{MODEL}/demand.py",
     "                app_fill = np_minimum(fill[first[a]], fill[second[a]])",
     "                app_fill = 1.0"),
    ("mine closures after losses off", f"{MODEL}/capacity.py",
     "            closing = loss >= closure_months[m, 0]",
     "            closing = False"),
    ("thorium x1000", f"{MODEL}/environment.py",
     "KG_PER_T = 1000.0",
     "KG_PER_T = 1.0"),
    # beyond issue 7's eight: the separators' residue rule (thirty-first session, 2026-12-05)
    ("separators' residue off", f"{MODEL}/separation.py",
     "    return np.clip((stop - months) / (stop - full), 0.0, 1.0)",
     "    return np.ones_like(months)"),
]


def mutate(tmp: Path, path: str, old: str, new: str) -> None:
    """Replace the one line of ``path`` (in the copy) that contains ``old``."""
    target = tmp / path
    text = target.read_text()
    count = text.count(old)
    if count != 1:
        raise SystemExit(f"mutation target found {count} times in {path}: {old!r}")
    target.write_text(text.replace(old, new))


def run_tests(src: Path, args: list[str]) -> tuple[int, list[str], str]:
    """Run pytest with ``src`` first on the path; return its exit code, failures and summary.

    Hypothesis keeps its example database beside the mutant, so no mutant replays another's
    failures (and the worktree's database is left alone).
    """
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1",
           "HYPOTHESIS_STORAGE_DIRECTORY": str(src.parent / ".hypothesis")}
    where = subprocess.run([sys.executable, "-c", "import reesim; print(reesim.__file__)"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(src)):
        raise SystemExit(f"reesim imported from {where}, not from the mutated copy {src}")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--tb=no", "-rf",
                           "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    failed = sorted(set(re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M)))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return proc.returncode, failed, summary


def main() -> int:
    """Check every mutation; exit 1 if any survives."""
    args = sys.argv[1:] or ["tests"]
    survived = []
    for name, path, old, new in MUTATIONS:
        tmp = Path(tempfile.mkdtemp(prefix="reesim-mutant-"))
        try:
            shutil.copytree(ROOT / "src", tmp / "src",
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            mutate(tmp, path, old, new)
            code, failed, summary = run_tests(tmp / "src", args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"== {name} ({path}): {summary}")
        for test in failed:
            print(f"   caught by {test}")
        if code == 0 or not failed:
            survived.append(name)
            print("   SURVIVED: no test failed")
        sys.stdout.flush()
    print(f"{len(MUTATIONS) - len(survived)} of {len(MUTATIONS)} mutations caught"
          + (f"; survived: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
