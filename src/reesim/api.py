"""The Python entry points: load a scenario, simulate it, get a labelled result."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import yaml

from reesim.datasets import load_inputs
from reesim.dims import APPLICATIONS, ELEMENTS, HOLDERS, MARKETS
from reesim.errors import InputError
from reesim.lazy_blas import defer_blas_probe
from reesim.lazy_dask import defer_dask
from reesim.model.build import build_model
from reesim.model.constants import member_constant_names
from reesim.model.constants import table as constant_table
from reesim.model.simulate import run
from reesim.model.variables import VARIABLES
from reesim.results import Result, annotate, make_manifest
from reesim.scenario import Scenario, scenario_hash
from reesim.scenario.schema import PARAMETER_NAMES, parameter_bounds

log = logging.getLogger("reesim.api")
defer_dask()   # a run wraps numpy arrays only: xarray need not import dask to check for it
defer_blas_probe()   # no kernel calls BLAS: numba need not import scipy's to probe for it

MAX_MEMBERS = 100_000
MAX_SEED = 2**63 - 1
"""Seeds are stored as signed 64-bit integers in results.nc and manifest.json."""
PEAK_FACTOR = 2.0
"""Peak memory of a run over the size of its records: measured 1.4 for a 20-member monthly
baotou run (RSS 666 MB for 389 MB of records, 2026-12 on this project's CI machine); 2.0 leaves
room for writing results.nc and the balance checks."""
MEMORY_FRACTION = 0.8
"""Share of the machine's available memory a run may plan to use."""
IDENTICAL_MEMBERS = "scenario %s declares no uncertainty: all %d members are identical"
"""The warning logged for an ensemble without uncertainties (the CLI says it before running)."""
MEMORY_ENV = "REESIM_MAX_MEMORY_GB"
"""Environment variable that sets the memory limit in GB instead (a way out on big machines)."""


def available_memory_bytes() -> int:
    """The memory the machine can give a new process now (Linux MemAvailable; else physical)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def memory_limit_bytes() -> int:
    """The planning limit: ``REESIM_MAX_MEMORY_GB`` if set, else 80% of the available memory."""
    raw = os.environ.get(MEMORY_ENV)
    if raw is not None:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{MEMORY_ENV}={raw!r} must be a positive number of GB",
                             field=MEMORY_ENV)
        return int(value * 2**30)
    return int(MEMORY_FRACTION * available_memory_bytes())


def estimate_memory_bytes(scenario: Scenario, members: int,
                          record: Sequence[str] | None = None) -> int:
    """Peak bytes a run will need: members x record periods x recorded values x 8 x PEAK_FACTOR.

    ``record``: the variables kept (all by default).
    """
    tables = load_inputs().tables
    regions = tables["regions"]
    sizes = {"element": len(ELEMENTS), "market": len(MARKETS), "destination": len(MARKETS),
             "holder": len(HOLDERS),
             "application": len(APPLICATIONS), "stage": 2,
             "producer": len(tables["producers"]), "region": len(regions),
             "exporter": int((regions.market == "china").sum())}
    per_period = sum(math.prod(sizes[d] for d in var.dims) for name, var in VARIABLES.items()
                     if record is None or name in record)
    years = scenario.end_year - scenario.start_year + 1
    periods = years * (12 if scenario.output.frequency == "month" else 1)
    return int(members * periods * per_period * 8 * PEAK_FACTOR)


def check_memory(scenario: Scenario, members: int, also: Sequence[Scenario] = (),
                 record: Sequence[str] | None = None) -> int:
    """Refuse a run whose estimated memory exceeds :func:`memory_limit_bytes`; return it.

    ``also``: scenarios run with the same members while this run's result is held (the CLI's
    free-market counterfactual), whose memory adds up; ``record`` the variables this run keeps.
    """
    need = estimate_memory_bytes(scenario, members, record) + sum(
        estimate_memory_bytes(other, members) for other in also)
    limit = memory_limit_bytes()
    if need > limit:
        per_member = need / members
        fit = max(int(limit // per_member), 0)
        ways = [f"fewer members (at most about {fit} fit)"]
        if scenario.output.frequency == "month":
            ways.insert(0, "annual records (--frequency year or output.frequency: year, "
                           "12 times less)")
        ways.append("a shorter window (end_year)")
        ways.append(f"or set {MEMORY_ENV} if the machine really has the memory")
        raise InputError(
            f"{members} members need about {need / 2**30:.1f} GB, more than the "
            f"{limit / 2**30:.1f} GB this run may use; use " + ", ".join(ways),
            field="members")
    return need


def _check_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name} must be an integer from {low} to {high}, got {value!r}",
                         field=name, allowed=f"{low}..{high}")
    if not low <= int(value) <= high:
        raise InputError(f"{name} must be from {low} to {high}, got {value}", field=name,
                         allowed=f"{low}..{high}")
    return int(value)


def _check_design(design: object, members: int) -> dict[str, np.ndarray]:
    if not isinstance(design, Mapping):
        raise InputError(f"design must map parameter names to {members} values, got "
                         f"{type(design).__name__}", field="design")
    arrays = {}
    constants = constant_table()
    allowed_names = (*PARAMETER_NAMES, *member_constant_names())
    for name, values in design.items():
        if name not in allowed_names:
            raise InputError(f"unknown parameter or member-level constant {name!r} in design",
                             field="design", allowed=", ".join(allowed_names))
        if isinstance(values, str | bytes):
            raise InputError(f"design[{name!r}] must be {members} numbers, got a string",
                             field=f"design.{name}")
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"design[{name!r}] must be {members} numbers", field=f"design.{name}"
                             ) from None
        if array.shape != (members,) or not np.isfinite(array).all():
            raise InputError(f"design[{name!r}] needs {members} finite values, got shape "
                             f"{array.shape}", field=f"design.{name}")
        if name in PARAMETER_NAMES:
            low, low_in, high, high_in = parameter_bounds(name)
        else:
            low, low_in, high, high_in = constants[name].low, True, constants[name].high, True
        # rounding of an optimizer's unit-cube round trip may overshoot a bound by ~1e-15
        slack_low, slack_high = (1e-9 * max(1.0, abs(b)) for b in (low, high))
        bad = (array < low - slack_low) | (array > high + slack_high) | (
            (array <= low) & (not low_in)) | ((array >= high) & (not high_in))
        if bad.any():
            allowed = f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
            raise InputError(f"design[{name!r}] has {int(bad.sum())} value(s) outside the "
                             f"allowed range, e.g. {array[bad][0]:g}", field=f"design.{name}",
                             allowed=allowed)
        arrays[name] = np.clip(array, low, high)
    return arrays


def _check_record(record: object) -> list[str] | None:
    if record is None:
        return None
    if isinstance(record, str | bytes) or not isinstance(record, Sequence | set | frozenset):
        raise InputError(f"record must be a list of variable names, got {record!r:.60}",
                         field="record", allowed=", ".join(VARIABLES))
    unknown = [str(n) for n in record if n not in VARIABLES]
    if unknown:
        raise InputError(f"record names unknown variable(s) {', '.join(unknown)}",
                         field="record", allowed=", ".join(VARIABLES))
    if not record:
        raise InputError("record names no variable", field="record",
                         allowed=", ".join(VARIABLES))
    return [n for n in VARIABLES if n in record]


def simulate(scenario: Scenario, members: int = 1, seed: int | None = None,
             progress: Callable[[int], None] | None = None,
             design: Mapping[str, Sequence[float]] | None = None,
             record: Sequence[str] | None = None) -> Result:
    """Run ``scenario`` for ``members`` ensemble members (one run is a batch of one).

    ``seed`` defaults to the scenario's own; the same scenario and seed give bit-identical
    datasets. With ``members > 1`` every declared uncertainty is sampled per member. ``design``
    sets behavioural parameters member by member ({name: one value per member}), e.g. to
    evaluate a calibration population in one run; member-level structural constants
    (:mod:`reesim.model.constants`) can be set the same way. ``progress`` is called with
    months done. ``record`` names the variables the result keeps (all by default): a run that
    needs a few of them (an ensemble's outcomes) saves the memory and time of the rest, whose
    balances are still checked every month. Bad arguments raise
    :class:`~reesim.errors.InputError`, as does a run whose estimated memory exceeds the limit
    (:func:`check_memory`).
    """
    if not isinstance(scenario, Scenario):
        raise InputError(f"scenario must be a Scenario from reesim.load_scenario(...), got "
                         f"{type(scenario).__name__} {scenario!r:.60}", field="scenario",
                         allowed='reesim.load_scenario("baotou") or a path to a .yaml file')
    members = _check_int(members, "members", 1, MAX_MEMBERS)
    seed = scenario.seed if seed is None else _check_int(seed, "seed", 0, MAX_SEED)
    if progress is not None and not callable(progress):
        raise InputError("progress must be a function of the months done", field="progress")
    arrays = _check_design(design, members) if design else None
    record = _check_record(record)
    if members > 1 and not scenario.uncertainty and not arrays:
        log.warning(IDENTICAL_MEMBERS, scenario.name, members)
    check_memory(scenario, members, record=record)
    data = load_inputs()
    model = build_model(scenario, data, members, seed, arrays)
    dataset = run(model, progress, record)
    manifest = make_manifest(scenario, scenario_hash(scenario), data.version, data.digest, seed,
                             members, scenario.output.frequency)
    manifest["constants"] = dict(scenario.constants)
    if record is not None:
        manifest["recorded"] = record
    dataset.attrs.update({
        "title": f"reesim result: {scenario.name}",
        "scenario": scenario.name, "scenario_hash": manifest["scenario_hash"],
        "data_version": data.version, "seed": seed, "members": members,
    })
    annotate(dataset, data.tables, scenario_yaml(scenario), data.digest)
    return Result(dataset=dataset, manifest=manifest, scenario=scenario)


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML text (what ``reesim show`` prints).

    libyaml's safe dumper writes the same text as PyYAML's pure-Python one (checked for every
    packaged scenario) in a tenth of the time: 13-29 ms of a 0.6 s run before.
    """
    return yaml.dump(scenario.model_dump(mode="json", exclude_none=True),
                     Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     allow_unicode=True, width=100)
