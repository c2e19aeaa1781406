"""Benchmark: where an ensemble batch's time goes inside the compiled code, sampled by Linux perf.

cProfile (``bench_profile.py``) sees each numba kernel as one opaque call. This samples the
machine code instead: a child process warms up, reports the native address of every compiled
kernel and of numba's runtime, then runs one batch of ``baotou-ensemble`` (its uncertainties
sampled per member, annual records of the standard outcomes' variables, as an ensemble worker
runs a chunk) while ``perf record`` samples it. The report splits the batch's time into the
kernels' own code (by kernel: a kernel's figure includes what it inlines), the C library's
transcendental functions (exp, log, log1p, pow, called from the kernels), numba's atomic
reference counting (``NRT_incref``/``NRT_decref``), the interpreter, numpy and the rest, each as
a share and in microseconds per member-month. It answers "what is the floor of this engine?":
the transcendental functions alone cost what they cost whatever the layout.

On 2026-12-07 (fifty-fourth session, 250 members, idle 2-core VM, 7.2-7.3 s a batch): the
kernels' own code 54%, libm 26.5% (exp 9.9, log 6.3, log1p 5.2, pow 4.2), numba's reference
counting 5.9%, libc (memset, memmove, malloc) 5.1%, the interpreter 4.8%, numpy 4.0%, the
kernel's page clearing 3.3%. Prints figures; asserts nothing. Needs ``perf`` (Debian package
``linux-perf``) and permission to sample a child process (``perf_event_paranoid`` at most 2).
Run: ``.venv/bin/python benchmarks/bench_native.py [--members 250] [--frequency 999]``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SCENARIO = "baotou-ensemble"
TRANSCENDENTAL = {"exp": "exp", "log": "log", "log1p": "log1p", "pow": "pow"}
"""libm symbols by the function they implement (glibc names them __ieee754_exp_fma etc.)."""
REFCOUNT = ("NRT_incref", "NRT_decref")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=250)
    parser.add_argument("--frequency", type=int, default=999, help="samples per second")
    parser.add_argument("--top", type=int, default=12, help="kernels to list")
    parser.add_argument("--callers", action="store_true",
                        help="also sample call stacks (DWARF) and say which kernels call libm")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.members, args.child)
        return 0
    perf = shutil.which("perf")
    if perf is None:
        print("perf is not on PATH: install it (Debian: apt-get install linux-perf) to run this "
              "benchmark", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        child = subprocess.Popen([sys.executable, __file__, "--members", str(args.members),
                                  "--child", str(folder)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdin is not None and child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            print("the child process failed before its batch", file=sys.stderr)
            return 1
        data = folder / "perf.data"
        stacks = ["--call-graph", "dwarf,4096"] if args.callers else []
        recorder = subprocess.Popen([perf, "record", "-q", "-F", str(args.frequency), *stacks,
                                     "-p", str(child.pid), "-o", str(data)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)                       # perf attaches before the batch starts
        child.stdin.write("go\n")
        child.stdin.flush()
        wall = float(child.stdout.readline())
        recorder.send_signal(signal.SIGINT)
        _, perf_errors = recorder.communicate()
        child.wait()
        if not data.exists():
            print(f"perf recorded nothing (is perf_event_paranoid above 2?): {perf_errors}",
                  file=sys.stderr)
            return 1
        report = subprocess.run([perf, "report", "-i", str(data), "--stdio", "--no-children",
                                 "--sort", "dso,sym", "-F", "overhead,dso,sym"],
                                capture_output=True, text=True, check=True).stdout
        addresses = json.loads((folder / "addresses.json").read_text())
        script = subprocess.run([perf, "script", "-i", str(data), "-F", "ip,sym,dso"],
                                capture_output=True, text=True, check=True).stdout \
            if args.callers else ""
    _print(report, addresses, wall, args.members, args.top)
    if script:
        _print_callers(script, addresses["kernels"])
    return 0


def _child(members: int, folder: Path) -> None:
    """Warm up, write the compiled code's addresses, then run one timed batch on "go"."""
    from reesim import load_scenario, simulate
    from reesim.ensemble.outcomes import outcome_variables, scenario_outcomes

    scenario = load_scenario(SCENARIO)
    needed = sorted(outcome_variables(scenario_outcomes(scenario)))
    simulate(scenario, members=2, seed=1, record=needed)    # compiled kernels loaded, batch layout
    (folder / "addresses.json").write_text(json.dumps(_native_addresses()))
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    simulate(scenario, members=members, seed=1, record=needed)
    print(time.perf_counter() - start, flush=True)


def _native_addresses() -> dict[str, list[tuple[int, str]]]:
    """Start addresses of every compiled overload of every numba dispatcher, and of numba's
    runtime functions (reference counting, allocation), as (address, name) pairs."""
    import gc

    from numba.core.registry import CPUDispatcher
    from numba.core.runtime import nrt

    kernels = []
    for obj in gc.get_objects():
        if isinstance(obj, CPUDispatcher):
            name = f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"
            for compiled in obj.overloads.values():
                kernels.append((compiled.library.get_pointer_to_function(
                    compiled.fndesc.llvm_func_name), name))
    library = nrt.rtsys._library                  # numba's runtime, compiled at start-up
    runtime = [(library.get_pointer_to_function(f.name), f.name)
               for f in library._final_module.functions if not f.is_declaration]
    return {"kernels": sorted(kernels), "runtime": sorted(runtime)}


def _print(report: str, addresses: dict[str, list[list]], wall: float, members: int,
           top: int) -> None:
    """The report's samples grouped by kind and by kernel, with us per member-month."""
    kernels = addresses["kernels"]
    runtime = addresses["runtime"]
    starts = [a for a, _ in kernels]
    runtime_starts = [a for a, _ in runtime]
    kinds, by_kernel, maths = Counter(), Counter(), Counter()
    line = re.compile(r"^\s*([\d.]+)%\s+(\S+(?: \S+)*?)\s+\[(.)\]\s+(\S+)")
    for text in report.splitlines():
        match = line.match(text)
        if not match:
            continue
        share, dso, symbol = float(match[1]), match[2], match[4]
        if dso.startswith("[JIT]") and symbol.startswith("0x"):
            address = int(symbol, 16)
            name = _owner(address, runtime_starts, runtime, 0x100)
            if name in REFCOUNT:
                kinds["numba's reference counting (atomic incref/decref)"] += share
            elif name is not None:
                kinds["numba's runtime (allocation, other)"] += share
            else:
                kinds["compiled kernels' own code"] += share
                by_kernel[_owner(address, starts, kernels, None) or "?"] += share
        elif dso.startswith("libm"):
            kinds["libm (transcendental functions)"] += share
            base = re.sub(r"^(__ieee754_|__)|(_fma|@.*)$", "", symbol)
            maths[TRANSCENDENTAL.get(base, "other")] += share
        elif dso.startswith("libc"):
            kinds["libc (memset, memmove, malloc)"] += share
        elif dso.startswith("libpython"):
            kinds["the interpreter"] += share
        elif "multiarray" in dso or "umath" in dso:
            kinds["numpy"] += share
        elif "kernel" in dso:
            kinds["the OS kernel (page clearing)"] += share
        else:
            kinds["other (numba helpers, extensions)"] += share
    months = _months()
    per = 1e6 * wall / (members * months) / 100.0       # us per member-month per percent
    print(f"{SCENARIO}, {members} members x {months} months (annual records of the standard "
          f"outcomes' variables): {wall:.2f} s, {100 * per:.1f} us per member-month")
    print(f"{'share':>7} {'us/m-m':>7}  where the CPU was")
    for kind, share in kinds.most_common():
        print(f"{share:6.1f}% {share * per:7.2f}  {kind}")
    print(f"{sum(kinds.values()):6.1f}% of the samples classified (the rest: perf's lines "
          "below its print threshold)")
    print(f"{'':>7} {'':>7}  of libm: " + ", ".join(
        f"{name} {share:.1f}%" for name, share in maths.most_common()))
    print(f"{'share':>7} {'us/m-m':>7}  the compiled kernels' own code, by kernel (with what "
          f"each inlines)")
    for name, share in by_kernel.most_common(top):
        print(f"{share:6.1f}% {share * per:7.2f}  {name}")


def _print_callers(script: str, kernels: list[list]) -> None:
    """Which kernels the libm samples were called from (the first compiled frame above them)."""
    starts = [a for a, _ in kernels]
    callers: Counter[str] = Counter()
    for sample in script.split("\n\n"):
        frames = [f.split(None, 1) for f in sample.strip().splitlines() if f.strip()]
        if not frames or "libm" not in frames[0][-1]:
            continue
        for address, rest in frames[1:]:
            if "libm" in rest or rest.endswith("(inlined)"):
                continue
            caller = _owner(int(address, 16), starts, kernels, None) \
                if "perf-" in rest or "[unknown]" in rest else None
            callers[caller or "not a compiled kernel"] += 1
            break
    total = sum(callers.values())
    print(f"libm's samples by the kernel that called them ({total} samples with stacks):")
    for name, count in callers.most_common(8):
        print(f"{count / total:6.1%}  {name}")


def _owner(address: int, starts: list[int], named: list[list], reach: int | None) -> str | None:
    """The name of the function whose start is the nearest at or below ``address`` (within
    ``reach`` bytes of it if given), or None."""
    i = bisect.bisect_right(starts, address) - 1
    if i < 0 or (reach is not None and address - starts[i] > reach):
        return None
    return named[i][1]


def _months() -> int:
    from reesim import load_scenario

    scenario = load_scenario(SCENARIO)
    return 12 * (scenario.end_year - scenario.start_year + 1)


if __name__ == "__main__":
    sys.exit(main())
