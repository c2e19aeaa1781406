"""The sourced support tables (reference/, observations/) load, validate and hold what they say."""

import pandas as pd
import pytest

from reesim.datasets import (
    SUPPORT_TABLES,
    OutlookRow,
    load_table,
    parse_table,
    read_csv,
    read_index,
)
from reesim.dims import ELEMENTS
from reesim.errors import InputError


@pytest.mark.parametrize(("folder", "name"), sorted(SUPPORT_TABLES))
def test_support_tables_load_with_provenance(folder, name):
    table = load_table(folder, name)
    assert len(table) > 0
    assert table.source.str.len().min() >= 3
    assert set(table.basis) <= {"reported", "derived", "estimate"}
    meta = read_index(folder)["datasets"][name]
    assert set(meta["columns"]) == set(table.columns)


def test_every_element_has_a_real_reference_price():
    prices = load_table("reference", "element_prices").set_index("element")
    assert sorted(prices.index) == sorted(ELEMENTS)
    assert (prices.price_usd_per_kg > 0).all()
    # the old anchors' shared placeholder (24.55 USD/kg for Ho, Tm, Yb, Lu, Sc) is gone
    assert not (prices.price_usd_per_kg.round(2) == 24.55).any()
    minor = prices.loc[["Ho", "Er", "Tm", "Yb", "Lu", "Sc"], "price_usd_per_kg"]
    assert minor.nunique() == len(minor)
    estimates = prices[prices.basis == "estimate"]
    assert estimates.note.str.contains("ESTIMATE").all()
    # the published ordering survives: Lu and Sc dearer than Yb, Tb dearer than Dy
    assert prices.at["Lu", "price_usd_per_kg"] > prices.at["Yb", "price_usd_per_kg"]
    assert prices.at["Tb", "price_usd_per_kg"] > prices.at["Dy", "price_usd_per_kg"]


def test_china_share_is_like_with_like():
    share = load_table("observations", "china_share")
    preferred = share[share.preferred]
    assert preferred.year.is_unique
    assert (share.china_share_fraction <= 1.0).all()
    # 2010: preferred China 130,000 t over DS140 world 101,000 t gave 1.29; the like-with-like
    # share is BGR's 97.6%
    assert preferred.set_index("year").at[2010, "china_share_fraction"] == pytest.approx(0.976)


def test_preferred_editions_match_the_production_table():
    editions = load_table("observations", "production_editions")
    production = read_csv("observations", "production.csv")
    preferred = editions[editions.preferred].set_index(["entity", "year"])
    values = preferred.mine_production_t_reo.reindex(
        pd.MultiIndex.from_frame(production[["entity", "year"]]))
    assert values.notna().all()
    assert (values.to_numpy() == production.mine_production_t_reo.to_numpy()).all()
    # revisions are kept side by side: Australia 2024 is 13,000 t in MCS2025, 29,000 t in MCS2026
    aus = editions[(editions.entity == "australia") & (editions.year == 2024)]
    assert {13000.0, 29000.0} <= set(aus.mine_production_t_reo)


def test_outlooks_carry_the_issue_targets():
    outlooks = load_table("reference", "demand_outlooks")
    iea = outlooks[(outlooks.publisher == "IEA") & (outlooks.target_year == 2040)]
    assert (iea.published_low == 1.5).any() and (iea.published_high == 1.6).any()
    adamas = outlooks[(outlooks.publisher == "Adamas Intelligence") & (outlooks.base_year == 2023)
                      & (outlooks.target_year == 2040)]
    assert adamas.comparison.tolist() == ["cagr"] and adamas.published_low.iloc[0] == 7.5


def test_exports_and_prices_reach_the_new_years():
    exports = read_csv("observations", "exports.csv")
    assert {2018, 2019, 2020, 2022, 2023, 2024, 2025} <= set(exports.year)
    prices = read_csv("observations", "prices.csv")
    years = pd.to_datetime(prices.period_start).dt.year
    assert years.max() == 2020
    assert set(prices[years == 2020].element) >= {"Nd", "Dy", "Tb", "La", "Ce", "Eu", "Lu", "Ho"}


def test_a_bad_outlook_row_names_file_line_and_field():
    header = ",".join(OutlookRow.model_fields)
    good = load_table("reference", "demand_outlooks").iloc[0].to_dict()
    good.update(published_low=2.0, published_high=1.0)
    row = ",".join("" if pd.isna(v) else f'"{v}"' for v in good.values())
    with pytest.raises(InputError) as err:
        parse_table(f"{header}\n{row}\n", OutlookRow, "data/reference/demand_outlooks.csv")
    assert "demand_outlooks.csv" in str(err.value) and "line 2" in str(err.value)


def test_unknown_support_table_is_a_clear_error():
    with pytest.raises(InputError, match="no row model"):
        load_table("reference", "nonexistent")
