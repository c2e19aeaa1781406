"""Run an ensemble in chunks of members on Dask distributed, resumably.

An ensemble folder holds ``ensemble.json`` (what to run: scenario, design, outcomes, chunking),
``design.parquet`` (one row per member) and, as chunks finish, ``chunks/outcomes-*.parquet``
and the kept variables in ``kept.zarr``. Each chunk is computed and written by the worker that
ran it (Zarr region first, then the outcomes file, atomically, as the chunk's completion mark);
only a few numbers per chunk travel back to the client. Rerunning skips chunks already marked
done; a chunk recomputed after a worker died writes the same bytes again. When every chunk is
done the client joins the chunk files into ``outcomes.parquet`` (design columns + outcomes),
checking that every member appears exactly once.

A member's inputs are its design row, which follows from its index alone (see
:mod:`reesim.ensemble.designs`); the engine draws no random numbers once the design sets the
sampled parameters (the scenario's own sampling is switched off) and is batch-invariant, so
neither the chunk size nor the number of workers changes any number. A folder is resumed only
by the same ensemble under the same code and data versions, so results never mix versions.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import dask
import numpy as np
import pandas as pd
import xarray as xr

from reesim.ensemble.designs import Design
from reesim.errors import InputError, ReesimError
from reesim.output import folder_mode, replace_atomically
from reesim.scenario import Scenario

log = logging.getLogger("reesim.ensemble.runner")

SPEC_FILE, DESIGN_FILE, OUTCOMES_FILE, KEPT_STORE = (
    "ensemble.json", "design.parquet", "outcomes.parquet", "kept.zarr")
_IDENTITY_KEYS = ("evaluator", "keep", "chunk_size", "design", "code_version", "data_version")
"""What makes two ensembles the same (a folder resumes only the same ensemble)."""
MAX_CHUNK = 250
"""Members per chunk at most by default (about 1.6 MiB of annual records per member)."""


class Evaluator(Protocol):
    """Computes outcomes (and optionally kept variables) for design rows of one policy."""

    def evaluate(self, rows: pd.DataFrame, keep: Sequence[str]) -> tuple[
            pd.DataFrame, xr.Dataset | None]:
        """Outcomes indexed by ``member`` (the rows' member ids), and kept variables."""
        ...


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``path`` ``a.b.c`` (``None`` removes the key)."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise InputError(f"lever path {path!r}: {part!r} is not a section", field="levers")
        node = child
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


class ReesimEvaluator:
    """Runs reesim for design rows: levers applied to the scenario, factors as the design."""

    def __init__(self, scenario: dict[str, Any], levers: dict[str, str],
                 outcomes: dict[str, Any], seed: int) -> None:
        self.scenario = scenario
        self.levers = levers          # lever name -> scenario path
        self.outcomes = outcomes      # outcome name -> Outcome spec (JSON)
        self.seed = seed

    def policy_scenario(self, policy: dict[str, Any]) -> Scenario:
        """The scenario one lever combination gives (uncertainties replaced by the design)."""
        from reesim.scenario.loader import validate

        data = json.loads(json.dumps(self.scenario))
        for name, value in policy.items():
            _set_path(data, self.levers[name], value)
        data["uncertainty"], data["levers"] = {}, {}
        label = "levers " + ", ".join(f"{k}={v!r}" for k, v in policy.items()) if policy else ""
        return validate(data, f"scenario {data['name']} {label}".strip())

    def evaluate(self, rows: pd.DataFrame, keep: Sequence[str]) -> tuple[
            pd.DataFrame, xr.Dataset | None]:
        """Simulate the rows as one batch; the design sets every sampled parameter."""
        from reesim.api import simulate
        from reesim.ensemble.outcomes import compute_outcomes, outcome_variables
        from reesim.ensemble.xlrm import Outcome

        policy = {c.removeprefix("lever."): _lever_value(rows[c].iloc[0])
                  for c in rows.columns if c.startswith("lever.")}
        scenario = self.policy_scenario(policy)
        factors = [c.removeprefix("u.") for c in rows.columns if c.startswith("u.")]
        design = {name: rows[name].to_numpy(dtype=float) for name in factors}
        specs = {k: Outcome.model_validate(v) for k, v in self.outcomes.items()}
        needed = outcome_variables(specs) | set(keep)
        result = simulate(scenario, members=len(rows), seed=self.seed, design=design or None,
                          record=_known_variables(needed))
        ds = result.dataset.assign_coords(member=rows["member"].to_numpy())
        table = compute_outcomes(ds, specs)
        return table, (ds[list(keep)] if keep else None)


def _known_variables(names: set[str]) -> list[str] | None:
    """The recorded variables an ensemble needs, or all (None) if one is not a variable.

    Recording only what the outcomes and ``--keep`` read saves the memory and the time of the
    other records (their balances are still checked every month); a name that is no variable
    is left to :func:`compute_outcomes`, whose error names the outcome and the variables
    allowed.
    """
    from reesim.model.variables import VARIABLES

    return sorted(names) if names and names <= set(VARIABLES) else None


class FunctionEvaluator:
    """Evaluates a vectorized function ``f(X) -> y`` of the factor values (tests, benchmarks).

    ``function`` is ``"module:attribute"``; the outcome is named ``outcome``. It goes through
    the same runner, files and analyses as reesim's outcomes.
    """

    def __init__(self, function: str, outcome: str = "y") -> None:
        self.function = function
        self.outcome = outcome

    def evaluate(self, rows: pd.DataFrame, keep: Sequence[str]) -> tuple[
            pd.DataFrame, xr.Dataset | None]:
        """Apply the function to the factor columns (in design order)."""
        if keep:
            raise InputError("a function ensemble keeps no variables", field="--keep")
        module, _, attr = self.function.partition(":")
        func = getattr(importlib.import_module(module), attr)
        factors = [c.removeprefix("u.") for c in rows.columns if c.startswith("u.")]
        y = np.asarray(func(rows[factors].to_numpy(dtype=float)), dtype=float)
        return pd.DataFrame({self.outcome: y},
                            index=pd.Index(rows["member"].to_numpy(), name="member")), None


def _lever_value(cell: str) -> Any:
    """A lever value back from its JSON cell in the design table."""
    return json.loads(cell)


_EVALUATORS = {"reesim": ReesimEvaluator, "function": FunctionEvaluator}


@dataclass
class Chunk:
    """Members ``start`` (inclusive) to ``stop`` (exclusive)."""

    start: int
    stop: int

    @property
    def name(self) -> str:
        """The chunk's outcomes file name (its completion mark)."""
        return f"outcomes-{self.start:08d}-{self.stop:08d}.parquet"


def chunks(members: int, size: int) -> list[Chunk]:
    """Split ``members`` into consecutive chunks of ``size`` (the last may be shorter)."""
    return [Chunk(a, min(a + size, members)) for a in range(0, members, size)]


def default_chunk_size(members: int) -> int:
    """About eight chunks, at most :data:`MAX_CHUNK` members each."""
    return max(1, min(MAX_CHUNK, -(-members // 8)))


def create(out: str | Path, design: Design, evaluator: dict[str, Any], *, keep: Sequence[str] = (),
           chunk_size: int | None = None, meta: dict[str, Any] | None = None,
           template: xr.Dataset | None = None) -> Path:
    """Lay out an ensemble folder (spec, design, empty Zarr store), or check an existing one.

    An existing folder is resumed only if it holds the same ensemble (same spec digest); any
    other existing content is an error, never overwritten. ``template`` is a one-member result
    whose kept variables give the Zarr store its shape.
    """
    out = Path(out)
    size = chunk_size or default_chunk_size(design.members)
    if not isinstance(size, int) or size < 1:
        raise InputError(f"chunk size must be a positive integer, got {size!r}",
                         field="--chunk-size")
    spec = {"format": 1, "evaluator": evaluator, "keep": list(keep), "chunk_size": size,
            "design": {"kind": design.kind, "samples": design.samples, "seed": design.seed,
                       "factors": list(design.factors), "policies": design.policies,
                       "futures": design.futures, "members": design.members,
                       "digest": design.digest()},
            **(meta or {})}
    identity = _identity(spec)
    spec["identity"] = identity
    if (out / SPEC_FILE).exists():
        old = read_spec(out)
        if old.get("identity") != identity:
            raise InputError(f"{out} holds a different ensemble (its "
                             f"{'; '.join(_differences(old, spec))} differ from this "
                             "command's); choose another --out, or rerun with its options to "
                             "resume it", field="--out")
        return out
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not an ensemble folder; choose another --out",
                         field="--out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tmp.chmod(folder_mode())           # as run folders (mkdtemp makes it 0700)
        (tmp / "chunks").mkdir()
        design.table().to_parquet(tmp / DESIGN_FILE, index=False)
        if keep:
            if template is None:
                raise InputError("kept variables need a template result", field="--keep")
            _zarr_template(template, keep, design.members, size, tmp / KEPT_STORE)
        spec["created_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        (tmp / SPEC_FILE).write_text(json.dumps(spec, indent=2, default=str) + "\n")
        inside = out.exists() and _cwd_is(out)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
        if inside:          # the empty folder we stood in is replaced: stand in the new one,
            os.chdir(out)   # or the workers this process spawns have no working directory
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


_OPTION_NAMES = {"keep": "--keep", "chunk_size": "--chunk-size", "kind": "--design",
                 "samples": "--samples", "seed": "--seed",
                 "factors": "uncertain factors (the scenario's `uncertainty`)",
                 "code_version": "reesim code version", "data_version": "packaged data version"}


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two ensembles' specs, in the terms of the command's options.

    E.g. ``--frequency (year here, month in the folder)``; the whole ``evaluator`` or
    ``design`` is named only if no part of it is recognised.
    """
    def part(name: str, was: Any, now: Any) -> str:
        label = _OPTION_NAMES.get(name, name)
        plain = all(isinstance(v, str | int | float | type(None)) for v in (was, now))
        return f"{label} ({now} here, {was} in the folder)" if plain else label

    found: list[str] = []
    for key in _IDENTITY_KEYS:
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        if key == "evaluator":
            found += _evaluator_differences(was or {}, now or {})
        elif key == "design":
            found += [part(k, (was or {}).get(k), now.get(k)) for k in ("kind", "samples", "seed",
                      "factors") if (was or {}).get(k) != now.get(k)] or ["design"]
        else:
            found.append(part(key, was, now))
    labels = [text.split(" (")[0] for text in found]     # --seed is the design's and the run's
    return [text for i, text in enumerate(found) if labels[i] not in labels[:i]]


def _evaluator_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The parts of the evaluator that differ: --frequency, --seed, the scenario, its outcomes."""
    found = []
    was_scen, now_scen = old.get("scenario") or {}, new.get("scenario") or {}
    was_freq = (was_scen.get("output") or {}).get("frequency")
    now_freq = (now_scen.get("output") or {}).get("frequency")
    if was_freq != now_freq:
        found.append(f"--frequency ({now_freq} here, {was_freq} in the folder)")
    if old.get("seed") != new.get("seed"):
        found.append(f"--seed ({new.get('seed')} here, {old.get('seed')} in the folder)")
    rest = [k for k in sorted(set(was_scen) | set(now_scen))
            if k != "output" and was_scen.get(k) != now_scen.get(k)]
    if rest:
        found.append(f"scenario ({', '.join(rest)}: its file or --set)")
    for key, label in (("outcomes", "scenario's outcomes"), ("levers", "scenario's levers")):
        if old.get(key) != new.get(key) and key not in rest:
            found.append(label)
    return found or ["evaluator"]


def _cwd_is(folder: Path) -> bool:
    """Whether the working directory is ``folder``."""
    try:
        return Path.cwd().resolve() == folder.resolve()
    except OSError:
        return False


def _identity(spec: dict[str, Any]) -> str:
    import hashlib

    text = json.dumps({k: spec.get(k) for k in _IDENTITY_KEYS}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _zarr_template(template: xr.Dataset, keep: Sequence[str], members: int, size: int,
                   store: Path) -> None:
    """Create the Zarr store: kept variables over all members, chunked by ``size`` members."""
    import dask.array as da

    missing = [v for v in keep if v not in template.data_vars]
    if missing:
        raise InputError(f"unknown variable(s) to keep: {', '.join(missing)}", field="--keep",
                         allowed=", ".join(template.data_vars))
    no_member = [v for v in keep if "member" not in template[v].dims]
    if no_member:
        raise InputError(f"{', '.join(no_member)} do not vary by member; nothing to keep",
                         field="--keep")
    one = template[list(keep)]
    variables = {}
    for name in keep:
        var = one[name]
        shape = tuple(members if d == "member" else var.sizes[d] for d in var.dims)
        chunking = tuple(size if d == "member" else var.sizes[d] for d in var.dims)
        variables[name] = (var.dims, da.zeros(shape, chunks=chunking, dtype=var.dtype),
                           var.attrs)
    coords = {k: (v.astype(object) if v.dtype.kind == "U" else v)   # Zarr v3 string type
              for k, v in one.coords.items() if "member" not in v.dims}
    coords["member"] = np.arange(members)
    lazy = xr.Dataset(variables, coords=coords, attrs=template.attrs)
    lazy.to_zarr(store, compute=False, mode="w", consolidated=False)


def read_spec(out: str | Path) -> dict[str, Any]:
    """The ``ensemble.json`` of an ensemble folder (clear error if there is none)."""
    path = Path(out) / SPEC_FILE
    if not path.is_file():
        raise InputError(f"{out} is not an ensemble folder (no {SPEC_FILE})", field="RUN")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", file=str(path)) from None


@functools.lru_cache(maxsize=4)
def _evaluator(spec_text: str) -> Evaluator:
    spec = json.loads(spec_text)
    kind = spec.pop("kind")
    return _EVALUATORS[kind](**spec)


def run_chunk(out: str, start: int, stop: int) -> dict[str, Any]:
    """Compute members ``start..stop`` and write them (runs on a worker; idempotent)."""
    t0 = time.perf_counter()
    folder = Path(out)
    chunk = Chunk(start, stop)
    mark = folder / "chunks" / chunk.name
    info = {"start": start, "stop": stop, "pid": os.getpid(), "skipped": mark.exists()}
    if not info["skipped"]:
        spec = read_spec(folder)
        rows = pd.read_parquet(folder / DESIGN_FILE,
                               filters=[("member", ">=", start), ("member", "<", stop)])
        rows = rows.sort_values("member").reset_index(drop=True)
        if len(rows) != stop - start:
            raise ReesimError(f"design rows {start}..{stop} incomplete in {folder}")
        evaluator = _evaluator(json.dumps(spec["evaluator"]))
        keep = spec["keep"]
        tables, kept = [], []
        for _, group in rows.groupby("policy", sort=True):
            table, ds = evaluator.evaluate(group.reset_index(drop=True), keep)
            tables.append(table)
            if ds is not None:
                kept.append(ds)
        table = pd.concat(tables).sort_index()
        if kept:
            ds = xr.concat(kept, dim="member") if len(kept) > 1 else kept[0]
            ds = ds.sortby("member")
            ds = ds.drop_vars([n for n, v in ds.variables.items() if "member" not in v.dims])
            ds.to_zarr(folder / KEPT_STORE, region={"member": slice(start, stop)},
                       consolidated=False)
        replace_atomically(mark, lambda p: table.reset_index().to_parquet(p, index=False))
    info["seconds"] = time.perf_counter() - t0
    info["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if not info["skipped"]:
        from reesim.results import numerics

        info["numerics"] = numerics()
    return info


@dataclass
class RunReport:
    """What a call of :func:`run` did: chunks computed and skipped, time, worker memory."""

    out: Path
    members: int
    computed_chunks: int
    skipped_chunks: int
    seconds: float
    peak_rss_mib_by_worker: dict[int, float]
    numerics: list[dict[str, str]] = field(default_factory=list)
    """The numerical platforms the chunks computed here ran on (:func:`reesim.results.numerics`):
    one, the creating client's, unless the workers differ (a member's last bits then depend on
    its worker, and :func:`run` warns)."""
    mixed_numerics: bool = False
    """Whether the chunks ran on several platforms or on another than the creating client's."""


TRIM = "MALLOC_TRIM_THRESHOLD_"
"""glibc's trim threshold, read from the environment when a process starts."""


def _client(scheduler: str | None, workers: int | None):
    """A Dask client: on ``scheduler`` (or DASK_SCHEDULER_ADDRESS), else a LocalCluster."""
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address, set_as_default=False), None
    n = workers or os.cpu_count() or 1
    with _without_malloc_trim():
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.CRITICAL)
    return Client(cluster, set_as_default=False), cluster


@contextlib.contextmanager
def _without_malloc_trim() -> Iterator[None]:
    """Start workers without ``MALLOC_TRIM_THRESHOLD_`` in their environment.

    Dask's nannies set it to 64 KiB (``distributed.nanny.pre-spawn-environ``; a ``None`` there
    unsets it), writing it into this process's environment too, where the next cluster's
    workers would inherit it: it is left out of both while the workers start, and this
    process's environment is restored after. Dask sets it so that workers hand freed memory
    back to the system at once; the time step's kernels allocate and free their month's arrays
    some thirty times a month, and with it each chunk of 250 members took about 790,000 page
    faults and 2.5-2.9 s of system time (4,700 and 0.4 s without; measured 2026-12-07 in one
    worker). 3,000 members of ``baotou-ensemble`` on two workers, alternated: 98.0 and 115.9 s
    with it, 77.4 and 72.4 s without; each worker's peak memory 0.50 GB either way, far below
    the 4 GB allowed. Only reesim's own LocalCluster: a cluster given by ``--scheduler`` keeps
    its own settings.
    """
    before = os.environ.pop(TRIM, None)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{TRIM}": None}):
            yield
    finally:
        os.environ.pop(TRIM, None)
        if before is not None:
            os.environ[TRIM] = before


def run(out: str | Path, *, scheduler: str | None = None, workers: int | None = None,
        client: Any = None, progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Compute every unfinished chunk of the ensemble in ``out``, then join the outcomes.

    ``client`` (a ``distributed.Client``) takes precedence over ``scheduler`` (an address, or
    the DASK_SCHEDULER_ADDRESS environment variable); without either a LocalCluster with
    ``workers`` processes (default: one per core) is started and closed. ``progress`` gets
    (members done, members in total).
    """
    from distributed import as_completed

    t0 = time.perf_counter()
    folder = Path(out).resolve()
    spec = read_spec(folder)
    members = spec["design"]["members"]
    all_chunks = chunks(members, spec["chunk_size"])
    todo = [c for c in all_chunks if not (folder / "chunks" / c.name).exists()]
    done = sum(c.stop - c.start for c in all_chunks) - sum(c.stop - c.start for c in todo)
    if progress:
        progress(done, members)
    peaks: dict[int, float] = {}
    platforms: list[dict[str, str]] = []
    computed = 0
    if todo:
        own_client, own_cluster = client is None, None
        if own_client:
            client, own_cluster = _client(scheduler, workers)
        try:
            futures = [client.submit(run_chunk, str(folder), c.start, c.stop, pure=False,
                                     key=f"reesim-chunk-{spec['identity']}-{c.start}-{c.stop}")
                       for c in todo]
            for future in as_completed(futures, loop=client.loop):
                info = future.result()
                computed += not info["skipped"]
                peaks[info["pid"]] = max(peaks.get(info["pid"], 0.0), info["peak_rss_mib"])
                if "numerics" in info and info["numerics"] not in platforms:
                    platforms.append(info["numerics"])
                done += info["stop"] - info["start"]
                if progress:
                    progress(done, members)
        finally:
            if own_client:
                client.close()
            if own_cluster is not None:
                own_cluster.close()
    join(folder)
    created_on = spec.get("numerics")        # the platform of the client that created it
    mixed = len(platforms) > 1 or bool(created_on and platforms and platforms != [created_on])
    if mixed:
        log.warning("the ensemble's chunks ran on numerical platforms %s, created on %s: members "
                    "differ in their last bits by worker; run every worker and the client with "
                    "the same numpy and NPY_DISABLE_CPU_FEATURES=X86_V4 (docs/model.md, "
                    "reproducibility)", "; ".join(str(p) for p in platforms), created_on)
    return RunReport(folder, members, computed, len(all_chunks) - len(todo),
                     time.perf_counter() - t0, peaks, platforms, mixed)


def join(out: str | Path) -> pd.DataFrame:
    """Join the chunk files into ``outcomes.parquet``; every member must appear exactly once."""
    folder = Path(out)
    spec = read_spec(folder)
    members = spec["design"]["members"]
    parts = [pd.read_parquet(folder / "chunks" / c.name)
             for c in chunks(members, spec["chunk_size"])
             if (folder / "chunks" / c.name).exists()]
    outcomes = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    ids = outcomes["member"].to_numpy() if len(outcomes) else np.array([], dtype=int)
    if len(ids) != members or not np.array_equal(np.sort(ids), np.arange(members)):
        dup = int(len(ids) - len(np.unique(ids)))
        raise ReesimError(f"{folder}: {len(np.unique(ids))} of {members} members present, "
                          f"{dup} duplicated; rerun the same command to finish it")
    design = pd.read_parquet(folder / DESIGN_FILE)
    table = design.merge(outcomes, on="member", how="left", validate="one_to_one")
    table = table.sort_values("member").reset_index(drop=True)
    replace_atomically(folder / OUTCOMES_FILE, lambda p: table.to_parquet(p, index=False))
    return table


def load_outcomes(out: str | Path, run_hint: str = "") -> pd.DataFrame:
    """The joined outcomes table of a finished ensemble (design columns + outcomes).

    Without one, says which of the cases it is: no such folder, a run folder (``reesim run``;
    ``run_hint`` adds what the command can do with one instead), not an ensemble, or an
    ensemble not finished (rerun to resume).
    """
    folder = Path(out)
    path = folder / OUTCOMES_FILE
    if path.is_file():
        return pd.read_parquet(path)
    if not folder.exists():
        raise InputError(f"{out} does not exist; give an ensemble folder written by "
                         "`reesim ensemble`", field="RUN")
    if (folder / "results.nc").is_file():
        raise InputError(f"{out} is a run folder of `reesim run`, not an ensemble: it has no "
                         f"ensemble outcomes{run_hint}", field="RUN")
    if not (folder / SPEC_FILE).is_file():
        raise InputError(f"{out} is not an ensemble folder (no {SPEC_FILE})", field="RUN")
    raise InputError(f"{out} has no {OUTCOMES_FILE}: the ensemble is not finished; rerun "
                     "the same `reesim ensemble` command to resume it", field="RUN")


def open_kept(out: str | Path) -> xr.Dataset:
    """The kept variables of an ensemble (lazy, from its Zarr store)."""
    store = Path(out) / KEPT_STORE
    if not store.exists():
        raise InputError(f"{out} kept no variables (run the ensemble with --keep)", field="--keep")
    return xr.open_zarr(store, consolidated=False)
