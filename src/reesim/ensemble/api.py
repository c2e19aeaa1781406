"""One call to design, lay out, run and catalogue an ensemble of a scenario."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reesim.ensemble import runner
from reesim.ensemble.designs import lever_policies, make_design, scenario_factors
from reesim.ensemble.outcomes import scenario_outcomes
from reesim.errors import InputError
from reesim.output import Interrupted, check_folder_path
from reesim.scenario import Scenario, scenario_hash
from reesim.scenario.schema import OutputOptions


def run_ensemble(scenario: Scenario, out: str | Path, *, design: str = "lhs", samples: int = 100,
                 seed: int | None = None, keep: Sequence[str] = (),
                 chunk_size: int | None = None, scheduler: str | None = None,
                 workers: int | None = None, client: Any = None,
                 progress: Callable[[int, int], None] | None = None,
                 catalog: str | Path | None = None,
                 frequency: str = "year") -> runner.RunReport:
    """Run ``scenario``'s XLRM ensemble into ``out`` (resuming it if it is already there).

    The uncertainties are sampled by ``design`` (``samples``: Latin hypercube rows, Sobol base
    sample, Morris trajectories or factorial levels) and crossed with every lever combination;
    outcomes are the standard indicators plus the scenario's own. ``keep`` names variables
    stored in full in ``kept.zarr``. Members record annual values unless ``frequency`` is
    ``"month"`` (outcomes are annual figures; monthly records cost 12x the memory). The run is
    recorded in the DuckDB catalog (``catalog``, default: ``catalog.duckdb`` beside ``out``, or
    REESIM_CATALOG).
    """
    from reesim.api import simulate
    from reesim.datasets import load_inputs
    from reesim.ensemble.catalog import Catalog, default_catalog
    from reesim.results import code_version, numerics

    if frequency not in ("year", "month"):
        raise InputError(f"frequency {frequency!r} is not allowed", field="--frequency",
                         allowed="year, month")
    check_folder_path(out)          # a file or a link: refused before anything runs
    scenario = scenario.model_copy(update={"output": OutputOptions(frequency=frequency)})
    for name, lever in scenario.levers.items():
        section, _, target = lever.path.partition(".")
        if section in ("parameters", "constants") and target in scenario.uncertainty:
            raise InputError(f"lever {name!r} sets {lever.path}, which is also an uncertainty",
                             field=f"levers.{name}.path",
                             allowed="a parameter or constant that is not in `uncertainty`")
    seed = scenario.seed if seed is None else seed
    outcomes = scenario_outcomes(scenario)
    the_design = make_design(design, samples, seed, scenario_factors(scenario),
                             lever_policies(scenario.levers))
    evaluator = {"kind": "reesim", "scenario": scenario.model_dump(mode="json"),
                 "levers": {name: lever.path for name, lever in scenario.levers.items()},
                 "outcomes": {k: v.model_dump(mode="json") for k, v in outcomes.items()},
                 "seed": seed}
    probe = runner.ReesimEvaluator(**{k: v for k, v in evaluator.items() if k != "kind"})
    policy_scenarios = [probe.policy_scenario(p) for p in the_design.policies]  # validates levers
    template = None
    if keep and not (Path(out) / runner.SPEC_FILE).exists():
        template = simulate(policy_scenarios[0], members=1, seed=seed).dataset
    data = load_inputs()
    meta = {"scenario": scenario.name, "scenario_hash": scenario_hash(scenario), "seed": seed,
            "code_version": code_version(), "data_version": data.version,
            "numerics": numerics(),     # the client's; workers of a cluster should match it
            "outcomes": {k: {"description": v.description, "unit": v.unit}
                         for k, v in outcomes.items()}}
    folder = runner.create(out, the_design, evaluator, keep=keep, chunk_size=chunk_size,
                           meta=meta, template=template)
    book = Catalog(catalog or default_catalog(folder))
    spec = runner.read_spec(folder)
    entry = book.start(kind="ensemble", scenario=scenario.name, scenario_hash=meta[
        "scenario_hash"], seed=seed, code_version=meta["code_version"],
        data_version=data.version, members=the_design.members, path=folder,
        design=spec["design"] | {"chunk_size": spec["chunk_size"], "keep": list(keep)})
    try:
        report = runner.run(folder, scheduler=scheduler, workers=workers, client=client,
                            progress=progress)
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt | Interrupted)
        book.finish(entry, "interrupted" if stopped else "failed")
        raise
    book.finish(entry, "done", outcomes=folder / runner.OUTCOMES_FILE)
    return report
