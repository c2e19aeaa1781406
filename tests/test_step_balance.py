"""Runs that keep fewer records: the same numbers, and every month's balances still checked."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reesim import load_scenario, simulate
from reesim.balance import check_step
from reesim.datasets import load_inputs
from reesim.errors import BalanceError, InputError, ModelError
from reesim.model import simulate as loop
from reesim.model.build import build_model
from reesim.model.state import initial_state
from reesim.model.step import step
from reesim.model.step_balance import FLOW_NAMES, STOCK_NAMES, StepBalance
from reesim.model.variables import STAGES, VARIABLES
from test_determinism import UNCERTAIN  # the same uncertain scenario as the determinism tests

SHORT = ["end_year=2006", "output.frequency=year"]


def test_a_run_that_records_a_few_variables_gives_the_same_numbers():
    scenario = load_scenario("baotou", [*SHORT, *UNCERTAIN])
    full = simulate(scenario, members=5, seed=4)
    kept = ["price", "inventory", "unmet_demand"]               # in the table's order
    part = simulate(scenario, members=5, seed=4, record=kept)
    recorded = [n for n in part.dataset.data_vars if n in VARIABLES]
    assert recorded == kept
    assert "inventory_initial" in part.dataset and "reserves_initial" not in part.dataset
    for name in [*kept, "inventory_initial", "parameter_samples"]:
        assert part.dataset[name].values.tobytes() == full.dataset[name].values.tobytes(), name
    assert part.manifest["recorded"] == kept and "recorded" not in full.manifest


def test_a_broken_month_fails_although_its_variable_is_not_recorded(monkeypatch):
    def broken(state, inputs, t):
        state, values = step(state, inputs, t)
        if t == 62:                                          # 2005-03
            values["separation_output"] = values["separation_output"].copy()
            values["separation_output"][1, 0, 3] += 5.0     # member 1, first region, Nd
        return state, values

    monkeypatch.setattr(loop, "step", broken)
    scenario = load_scenario("baotou", SHORT)
    with pytest.raises(BalanceError) as info:
        simulate(scenario, members=2, record=["price"])
    message = str(info.value)
    assert "stage 'separation'" in message and "member 1," in message
    assert "element Nd" in message and "2005-03" in message


@pytest.mark.parametrize("member,month,stock", [(1, 62, False), (0, 0, True), (1, 71, True)])
def test_a_broken_month_in_full_monthly_records_fails_naming_member_and_month(
        monkeypatch, member, month, stock):
    """Monthly records of every variable are checked after the run, a row per member-month:
    a leak names the stage, the member and the month, also in the first month (checked against
    the run's start values) and in a stock (the month after sees its change too, so the error
    names the first)."""
    def broken(state, inputs, t):
        state, values = step(state, inputs, t)
        if t == month:
            name = "inventory" if stock else "separation_output"
            values[name] = values[name].copy()
            values[name][member, 0, 3] += 5.0                  # first holder or region, Nd
        return state, values

    monkeypatch.setattr(loop, "step", broken)
    scenario = load_scenario("baotou", ["end_year=2006", *UNCERTAIN])
    with pytest.raises(BalanceError) as info:
        simulate(scenario, members=2)
    message = str(info.value)
    when = f"{2000 + month // 12}-{month % 12 + 1:02d}"
    stage = "'market'" if stock else "'separation'"
    assert f"stage {stage}" in message and f"member {member}," in message
    assert "element Nd" in message and when in message


def test_a_nan_in_an_unrecorded_variable_is_named_not_reported_as_a_leak(monkeypatch):
    def undefined(state, inputs, t):
        state, values = step(state, inputs, t)
        if t == 62:                                          # 2005-03
            values["separation_losses"] = values["separation_losses"].copy()
            values["separation_losses"][1, 0, 3] = np.nan    # member 1, first region, Nd
        return state, values

    monkeypatch.setattr(loop, "step", undefined)
    scenario = load_scenario("baotou", SHORT)
    with pytest.raises(ModelError, match=r"NaN in separation_losses \(member 1, 2005-03\)"):
        simulate(scenario, members=2, record=["price"])


def test_unknown_recorded_variables_are_refused_with_the_allowed_names():
    scenario = load_scenario("baotou", SHORT)
    with pytest.raises(InputError, match="priec") as info:
        simulate(scenario, record=["priec"])
    assert info.value.field == "record" and "unmet_demand" in info.value.allowed
    with pytest.raises(InputError, match="list of variable names"):
        simulate(scenario, record="price")


@pytest.fixture(scope="module")
def month():
    """A month (2000-02) of four members' values, the stocks before it and the labels."""
    model = build_model(load_scenario("baotou", UNCERTAIN), load_inputs(), 4, 1)
    state, _ = step(initial_state(model), model.inputs, 0)
    before = {name: values.copy() for name, values in _stocks(state).items()}
    state, values = step(state, model.inputs, 1)
    return values, before, loop._labels(model)


def _stocks(state) -> dict[str, np.ndarray]:
    return {"inventory": state.inventory, "concentrate_stock": state.concentrate.sum(axis=1),
            "in_use_stock": state.in_use.sum(axis=2), "tailings_stock": state.tailings,
            "reserves": state.reserves}


def _verdict(check, *args) -> str | None:
    """The error's stage and cell (the residual's last digits may differ), or None."""
    try:
        check(*args)
    except BalanceError as error:
        return str(error).split(": residual")[0]
    return None


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_compiled_check_and_the_numpy_check_agree(month, data):
    """Any value of any balance term nudged: both checks fail at the same stage, member and cell.

    The numpy check (:func:`reesim.balance.check_step`, the reference, also used on records)
    is handed the month's stock changes; the compiled one the stocks before it.
    """
    values, before, labels = month
    name = data.draw(st.sampled_from((*FLOW_NAMES, *STOCK_NAMES)))
    values = dict(values)
    values[name] = values[name].copy()
    index = data.draw(st.tuples(*(st.integers(0, n - 1) for n in values[name].shape)))
    finite = np.isfinite(values[name][index])
    size = data.draw(st.sampled_from([1e-9, 1e-3, 5.0, -40.0, np.nan]))
    values[name][index] = (values[name][index] if finite else 0.0) + size
    with np.errstate(invalid="ignore"):
        change = {n: values[n] - before[n] for n in STOCK_NAMES}
    balance = StepBalance({n: v.shape for n, v in values.items()})
    compiled = _verdict(balance.check, values, before, 1 / 12, "2000-02", labels, 10)
    reference = _verdict(check_step, values, change, 1 / 12, "2000-02", labels, 10)
    assert compiled == reference
    unknown_reserve = name in ("reserve_additions", "reserves") and np.isinf(
        before["reserves"][index[:2]])        # a deposit of unknown size is not checked
    # 1e-9 hides in any cell's tolerance and 1e-3 in a large one (RTOL x the stage's scale:
    # Bayan Obo's reserves, 5.6e7 t, allow 0.56 t), which the agreement above covers
    if abs(size) >= 5.0 and finite and not unknown_reserve:
        assert compiled is not None and f"member {10 + index[0]}," in compiled


def test_every_stage_is_laid_out():
    sizes = {"element": 16, "producer": 5, "region": 3, "application": 4, "holder": 6,
             "market": 2, "destination": 2, "exporter": 2, "stage": 2}
    shapes = {n: (1, *(sizes[d] for d in VARIABLES[n].dims)) for n in VARIABLES}
    balance = StepBalance(shapes)
    assert len(balance.keep_shape) == len(STAGES)
    assert balance.bounds[-1] == sum(int(np.prod(k)) for k in balance.keep_shape)
    assert (np.diff(balance.bounds) == [int(np.prod(k)) for k in balance.keep_shape]).all()


@pytest.mark.parametrize(("dims", "keep", "blocks"), [
    (("producer", "element"), ("element",), (5, 1, 1, 16, 1)),         # summed before
    (("producer", "element"), ("producer",), (1, 1, 1, 5, 16)),        # summed after
    (("producer", "element"), ("producer", "element"), (1, 1, 1, 80, 1)),   # kept whole
    (("market", "destination", "element"), ("market", "element"), (1, 2, 2, 16, 1)),
])
def test_a_term_is_read_in_blocks_that_add_into_its_kept_cells(dims, keep, blocks):
    from reesim.model.step_balance import _blocks

    sizes = {"producer": 5, "element": 16, "market": 2, "destination": 2}
    assert _blocks(dims, tuple(sizes[d] for d in dims), keep) == blocks


def test_kept_dims_in_three_runs_or_out_of_order_are_refused():
    from reesim.model.step_balance import _blocks

    with pytest.raises(ValueError, match="more than two runs"):
        _blocks(("a", "b", "c", "d", "e"), (2, 2, 2, 2, 2), ("a", "c", "e"))
    with pytest.raises(ValueError, match="do not reduce"):
        _blocks(("a", "b"), (2, 2), ("b", "a"))


def test_arrays_of_another_layout_are_checked_alike(month):
    """Value arrays in Fortran order or strided views get the same verdicts."""
    values, before, labels = month
    balance = StepBalance({n: v.shape for n, v in values.items()})
    odd = dict(values)
    odd["separation_feed"] = np.asfortranarray(values["separation_feed"])
    odd["reserve_additions"] = np.repeat(values["reserve_additions"], 2, axis=1)[:, ::2]
    assert not odd["reserve_additions"].flags.c_contiguous
    assert _verdict(balance.check, odd, before, 1 / 12, "2000-02", labels) is None
    odd["separation_feed"] = odd["separation_feed"] + 1.0
    assert "stage 'concentrate'" in _verdict(balance.check, odd, before, 1 / 12, "2000-02",
                                            labels)


def test_calibration_runs_record_what_their_metrics_and_step_gaps_read():
    """A calibration run recording METRIC_ and STEP_CHECK_VARIABLES scores as a full one."""
    from reesim.calibration.step_check import STEP_CHECK_VARIABLES, member_step_gaps, with_substeps
    from reesim.validation.metrics import METRIC_VARIABLES, member_metrics

    scenario = load_scenario("baotou", ["end_year=2025", *UNCERTAIN])    # the record's span
    full = simulate(scenario, members=2, seed=5).dataset
    part = simulate(scenario, members=2, seed=5,
                    record=[*METRIC_VARIABLES, *STEP_CHECK_VARIABLES]).dataset
    expected, got = member_metrics(full), member_metrics(part)
    assert len(expected) > 100
    assert expected.equals(got)
    finer = simulate(with_substeps(scenario, 2 * scenario.market.substeps), members=2, seed=5,
                     record=STEP_CHECK_VARIABLES).dataset
    for a, b in zip(member_step_gaps(full, finer), member_step_gaps(part, finer), strict=True):
        np.testing.assert_array_equal(a, b)
