"""An EMA Workbench entry point: ``reesim.ema.model()`` returns an EMA ``Model``.

The model's function is :func:`run`: keyword arguments are quantiles ``u`` in (0, 1) of the
scenario's uncertainties (EMA samples them uniformly; reesim maps each through its distribution
around the resolved value, so the Workbench samples exactly the scenario's distributions) and
lever values; it returns the scenario's outcomes as a dict of floats. One call is one run.
"""

from __future__ import annotations

import logging
import warnings
from functools import partial
from typing import Any

import numpy as np

from reesim.ensemble.designs import QUANTILE_EDGE, scenario_factors
from reesim.ensemble.outcomes import compute_outcomes, scenario_outcomes
from reesim.errors import InputError
from reesim.scenario import Scenario, load_scenario

log = logging.getLogger("reesim.ema")


def run(scenario: Scenario | str = "baotou-xlrm", overrides: tuple[str, ...] = (),
        **params: Any) -> dict[str, float]:
    """Run one member: ``params`` are uncertainty quantiles (by name) and lever values."""
    from reesim.api import simulate
    from reesim.ensemble.runner import ReesimEvaluator

    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides)
    factors = {f.name: f for f in scenario_factors(scen)}
    unknown = sorted(set(params) - set(factors) - set(scen.levers))
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(unknown)}", field="params",
                         allowed=", ".join([*factors, *scen.levers]))
    design = {}
    for name, factor in factors.items():
        u = float(np.clip(params.get(name, 0.5), QUANTILE_EDGE, 1.0 - QUANTILE_EDGE))
        design[name] = [float(np.clip(factor.ppf(np.array([u]))[0], factor.low, factor.high))]
    policy = {k: v for k, v in params.items() if k in scen.levers}
    outcomes = scenario_outcomes(scen)
    evaluator = ReesimEvaluator(scen.model_dump(mode="json"),
                                {k: lever.path for k, lever in scen.levers.items()}, {}, scen.seed)
    policy_scen = evaluator.policy_scenario(policy)
    result = simulate(policy_scen, members=1, design=design or None)
    table = compute_outcomes(result.dataset, outcomes)
    return {k: float(v) for k, v in table.iloc[0].items()}


def model(scenario: str = "baotou-xlrm", overrides: tuple[str, ...] = (),
          name: str = "reesim") -> Any:
    """An EMA Workbench ``Model`` of ``scenario``: uncertainties, levers and outcomes declared."""
    with warnings.catch_warnings():          # optional Workbench extras are not installed
        warnings.simplefilter("ignore")
        from ema_workbench import CategoricalParameter, Model, RealParameter, ScalarOutcome
    scen = load_scenario(scenario, overrides)
    ema_model = Model(name, function=partial(run, scen))
    ema_model.uncertainties = [RealParameter(f.name, QUANTILE_EDGE, 1.0 - QUANTILE_EDGE)
                               for f in scenario_factors(scen)]
    scalar = {k: lever for k, lever in scen.levers.items()
              if all(isinstance(c, str | int | float) for c in lever.choices())}
    skipped = sorted(set(scen.levers) - set(scalar))
    if skipped:
        log.warning("levers %s set whole sections and are left out of the EMA model (they "
                    "keep the scenario's own value)", ", ".join(skipped))
    ema_model.levers = [CategoricalParameter(k, lever.choices()) for k, lever in scalar.items()]
    ema_model.outcomes = [ScalarOutcome(k) for k in scenario_outcomes(scen)]
    return ema_model
