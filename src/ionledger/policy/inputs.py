"""The data a run stands on, as arrays over its years: sales, mixes, lifetimes, materials, prices,
recovery rates, emission factors and white-listed capacity.

Everything here comes from the reference data (``refdata/domain``, read at run time; the file and
its original source are named beside each use) or from the package tables (``policy/data``, each
row with its source). Years the sources do not cover are filled as documented per field (held or
interpolated: assumptions, listed in docs/simulator.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ionledger.errors import ConfigurationError
from ionledger.policy.axes import (
    CHEMISTRIES,
    ELEMENTS,
    N_C,
    N_E,
    PROVINCE_CODES,
    ROUTES,
    Floats,
)
from ionledger.policy.refdata import (
    Row,
    by_key,
    find_row,
    number,
    read_package_table,
    read_refdata,
    slashed,
)

SALES_FILE = "china_nev_sales_gwh.csv"
LIFE_FILE = "lifetime_secondlife_params.csv"
COMPOSITION_FILE = "everbatt2023_cell_composition_per_kWh.csv"
PRICES_FILE = "metal_prices_2025.csv"
RECOVERY_FILE = "everbatt2019_recycling_defaults.csv"
EF_FILE = "everbatt2023_greet_material_emission_factors.csv"
PROCESS_GHG_FILE = "derived_recycling_process_ghg_per_kg_battery.csv"
PACK_GHG_FILE = "derived_pack_cradle_to_gate_ghg_per_kWh.csv"
CHANNEL_FILE = "china_channel_calibration_Miffyfei.csv"
EOL_FILE = "china_EOL_forecast_Miffyfei_BS.csv"

# Molar-mass ratios (kg of compound per kg of element) to turn GREET's per-compound factors into
# per-element ones: Li2CO3/2Li = 73.89/13.88, MnSO4/Mn = 151.0/54.94.
_LI2CO3_PER_LI = 73.89 / 13.88
_MNSO4_PER_MN = 151.0 / 54.94


@dataclass(frozen=True, slots=True)
class Data:
    years: np.ndarray  # (T,) int
    units: Floats  # (T,) NEV sales incl. exports (CAAM); after the last year, that year's
    last_sales_year: int
    export_share: Floats  # (T,)
    kwh_per_unit: Floats  # (T,) installed GWh / units, held outside the sourced years
    seg_share: Floats  # (T, S)
    chem_share: Floats  # (T, C) (of packs, = of GWh within a segment)
    prov_share: Floats  # (T, P) of a sale year's vehicles
    weibull_k: float
    weibull_scale: Floats  # (S, C) battery first-life scale, years
    vehicle_mean_life: Floats  # (T, S) by sale year
    content: Floats  # (C, E) kg of element per kWh of pack
    pack_kg_per_kwh: Floats  # (C,)
    electrolyte_kg_per_kwh: Floats  # (C,)
    price_usd_per_kg: Floats  # (E,) contained metal; graphite has no price in the sources (0)
    recovery: Floats  # (R, E) formal routes
    ef_virgin: Floats  # (E,) kg CO2e avoided per kg of element recovered
    process_ghg: Floats  # (R,) kg CO2e per kg of battery processed (China grid)
    pack_ghg_lfp: float  # kg CO2e per kWh of new LFP pack (displaced by a reused one)
    capacity_national: Floats  # (T,) white-listed capacity, t/yr
    capacity_share: Floats  # (T, P)
    eol_forecast: dict[int, Row]  # Miffyfei BS forecast by year (for calibration checks)


def load_data(refdata: Path, start_year: int, end_year: int) -> Data:
    years = np.arange(start_year, end_year + 1)
    units, last, kwh = _sales(read_refdata(refdata, SALES_FILE), years)
    seg_share, export_share = _segment(years)
    life = read_refdata(refdata, LIFE_FILE)
    k, scale, vehicle = _lifetimes(life, years)
    content, pack_kg, electrolyte = _composition(read_refdata(refdata, COMPOSITION_FILE))
    return Data(
        years=years,
        units=units,
        last_sales_year=last,
        export_share=export_share,
        kwh_per_unit=kwh,
        seg_share=seg_share,
        chem_share=_chemistry(years),
        prov_share=_provinces(years),
        weibull_k=k,
        weibull_scale=scale,
        vehicle_mean_life=vehicle,
        content=content,
        pack_kg_per_kwh=pack_kg,
        electrolyte_kg_per_kwh=electrolyte,
        price_usd_per_kg=_prices(read_refdata(refdata, PRICES_FILE)),
        recovery=_recovery(read_refdata(refdata, RECOVERY_FILE)),
        ef_virgin=_emission_factors(read_refdata(refdata, EF_FILE)),
        process_ghg=_process_ghg(read_refdata(refdata, PROCESS_GHG_FILE)),
        pack_ghg_lfp=_pack_ghg(read_refdata(refdata, PACK_GHG_FILE)),
        capacity_national=_capacity(read_refdata(refdata, CHANNEL_FILE), years),
        capacity_share=_capacity_share(years),
        eol_forecast={int(r["Year"]): r for r in read_refdata(refdata, EOL_FILE)},
    )


def _held(known: dict[int, float], years: np.ndarray, *, interpolate: bool = True) -> Floats:
    """Values for ``years`` from sparse ``known`` ones: linear between, held beyond the ends."""
    xs = sorted(known)
    if interpolate:
        out: Floats = np.interp(years, xs, [known[x] for x in xs]).astype(np.float64)
        return out
    idx = np.searchsorted(xs, years, side="right") - 1
    return np.array([known[xs[max(i, 0)]] for i in idx], dtype=np.float64)


def _sales(rows: list[Row], years: np.ndarray) -> tuple[Floats, int, Floats]:
    # refdata china_nev_sales_gwh.csv: CAAM NEV sales (units) and installed GWh (CATARC, Gasgoo...)
    units = {int(r["year"]): number(r["nev_sales_units"]) for r in rows if r["nev_sales_units"]}
    gwh = {
        int(r["year"]): number(r["power_battery_installed_GWh"]) / number(r["nev_sales_units"])
        for r in rows
        if r["power_battery_installed_GWh"] and r["nev_sales_units"]
    }
    last = max(units)
    # kWh per vehicle outside the sourced years: held at the nearest sourced year (assumption).
    return _held(units, years, interpolate=False), last, _held(gwh, years) * 1e6


def _segment(years: np.ndarray) -> tuple[Floats, Floats]:
    rows = read_package_table("segment_mix.csv")
    com = _held({int(r["year"]): float(r["commercial_share"]) for r in rows}, years)
    phev = _held({int(r["year"]): float(r["phev_share_of_passenger"]) for r in rows}, years)
    export = _held({int(r["year"]): float(r["export_share"]) for r in rows}, years)
    seg = np.stack(((1 - com) * (1 - phev), (1 - com) * phev, com), axis=1)
    return seg, export


def _chemistry(years: np.ndarray) -> Floats:
    rows = read_package_table("chemistry_mix.csv")
    lfp = _held({int(r["year"]): float(r["lfp_share"]) for r in rows if r["lfp_share"]}, years)
    names = ("nmc111", "nmc532", "nmc622", "nmc811", "nca")
    split = {int(r["year"]): [float(r[n]) for n in names] for r in rows if r["nmc111"]}
    ternary = np.array([split[min(max(int(y), min(split)), max(split))] for y in years])
    ternary = ternary / ternary.sum(axis=1, keepdims=True)
    return np.concatenate((lfp[:, None], (1 - lfp)[:, None] * ternary), axis=1)


def _provinces(years: np.ndarray) -> Floats:
    # Province shares of the end-of-life tonnage in Miffyfei's city-level model (package table
    # province_fleet.csv): 2024 reflects vehicles sold up to ~2017, 2030 those of ~2020-2022.
    # A sale year's vehicles are split between the two (assumption: linear 2017 -> 2022).
    rows = by_key(read_package_table("province_fleet.csv"), "province")
    early = np.array([float(rows[p]["eol_t_2024"]) for p in PROVINCE_CODES])
    late = np.array([float(rows[p]["eol_t_2030"]) for p in PROVINCE_CODES])
    w = np.clip((years - 2017) / 5.0, 0.0, 1.0)[:, None]
    mix = (1 - w) * early / early.sum() + w * late / late.sum()
    return np.asarray(mix / mix.sum(axis=1, keepdims=True), dtype=np.float64)


def _lifetimes(rows: list[Row], years: np.ndarray) -> tuple[float, Floats, Floats]:
    # refdata lifetime_secondlife_params.csv, after Miffyfei/EOL-Power-Battery-Recycling-Industry
    # (PEV_BATT_WEIBULL, CEV_BATT_WEIBULL, VEH_LIFE_TABLE).
    def values(prefix: str) -> list[float]:
        return slashed(find_row(rows, "parameter", prefix, file=LIFE_FILE)["value"])

    k = values("Battery Weibull shape k")[0]
    scale = np.array(
        [
            values("Weibull scale BEV passenger"),
            values("Weibull scale PHEV passenger"),
            values("Weibull scale BEV commercial"),
        ]
    )
    replacements = values("Max battery replacements per vehicle")[0]
    if scale.shape != (3, N_C) or replacements != 1:
        raise ConfigurationError(f"{LIFE_FILE}: expected 6 chemistries and 1 replacement")
    band_row = find_row(rows, "parameter", "Vehicle mean life PEV", file=LIFE_FILE)
    bands = re.search(r"band ([\d/-]+)", band_row["parameter"])
    if bands is None:
        raise ConfigurationError(f"{LIFE_FILE}: cannot read the sale-year bands")
    starts = [int(b.split("-")[0]) for b in bands.group(1).split("/")]
    starts = [s if s > 1000 else 2000 + s for s in starts]
    pev, cev = slashed(band_row["value"]), values("Vehicle mean life CEV")
    idx = np.clip(np.searchsorted(starts, years, side="right") - 1, 0, len(starts) - 1)
    vehicle = np.stack((np.array(pev)[idx], np.array(pev)[idx], np.array(cev)[idx]), axis=1).astype(
        np.float64
    )
    return k, scale.astype(np.float64), vehicle


def _composition(rows: list[Row]) -> tuple[Floats, Floats, Floats]:
    # refdata everbatt2023_cell_composition_per_kWh.csv (Argonne EverBatt 2023 / BatPaC 5.0):
    # Li = in CAM + in LiPF6; Ni, Co, Mn from the CAM; Cu and Al the pack totals (+ Al in CAM).
    table = by_key(rows, "chemistry")
    content = np.zeros((N_C, N_E))
    for i, chem in enumerate(CHEMISTRIES):
        r = table[chem]
        f = {k: float(v) for k, v in r.items() if k not in ("chemistry", "source")}
        content[i] = (
            f["Li_in_CAM_kg_per_kWh"] + f["Li_in_LiPF6_kg_per_kWh"],
            f["Ni_in_CAM_kg_per_kWh"],
            f["Co_in_CAM_kg_per_kWh"],
            f["Mn_in_CAM_kg_per_kWh"],
            f["total_Cu_pack_kg_per_kWh"],
            f["total_Al_pack_kg_per_kWh"] + f["Al_in_CAM_kg_per_kWh"],
            f["graphite_kg_per_kWh"],
        )
    pack = np.array([float(table[c]["pack_kg_per_kWh"]) for c in CHEMISTRIES])
    electrolyte = np.array([float(table[c]["electrolyte_kg_per_kWh"]) for c in CHEMISTRIES])
    return content, pack, electrolyte


_PRICE_ITEMS = {  # refdata metal_prices_2025.csv rows (SMM, LME quotes; FX 7.07 CNY/USD there)
    "Li": "Li2CO3 battery grade (SMM avg)",
    "Ni": "Nickel LME",
    "Co": "CoSO4",
    "Mn": "MnSO4",
    "Cu": "Copper LME",
    "Al": "Aluminium LME",
}


def _prices(rows: list[Row]) -> Floats:
    out = np.zeros(N_E)
    for i, element in enumerate(ELEMENTS):
        if element in _PRICE_ITEMS:
            row = find_row(rows, "item", _PRICE_ITEMS[element], file=PRICES_FILE)
            out[i] = number(row["usd_per_kg_contained_metal"])
    return out


_RECOVERY_ROWS = {  # refdata everbatt2019_recycling_defaults.csv (EverBatt 2019 Table 12)
    "Li": "Lithium recovery",
    "Ni": "Ni2+ in output",
    "Co": "Co2+ in output",
    "Mn": "Mn2+ in output",
    "Cu": "Copper recovery",
    "Al": "Aluminum recovery",
    "graphite": "Graphite recovery",
}
_ROUTE_COLUMNS = {"hydro": "hydrometallurgical", "pyro": "pyrometallurgical", "direct": "direct"}


def _recovery(rows: list[Row]) -> Floats:
    """Recovery by route: 'NA' is 0, except that the direct route keeps the cathode (Li, Ni, Co,
    Mn) at its 'Cathode material recovered as-is' rate."""
    cathode = find_row(rows, "parameter", "Cathode material recovered", file=RECOVERY_FILE)
    out = np.zeros((len(ROUTES), N_E))
    for r, route in enumerate(ROUTES):
        column = _ROUTE_COLUMNS[route]
        for i, element in enumerate(ELEMENTS):
            text = find_row(rows, "parameter", _RECOVERY_ROWS[element], file=RECOVERY_FILE)[column]
            if text.strip().startswith("NA"):
                direct_cathode = route == "direct" and element in ("Li", "Ni", "Co", "Mn")
                out[r, i] = number(cathode["direct"]) if direct_cathode else 0.0
            else:
                out[r, i] = number(text)
    return out


def _emission_factors(rows: list[Row]) -> Floats:
    # refdata everbatt2023_greet_material_emission_factors.csv (GREET 2022 via EverBatt 2023)
    table = {r["material"]: float(r["GHG_kgCO2e_per_kg"]) for r in rows}
    return np.array(
        [
            table["Lithium Carbonate"] * _LI2CO3_PER_LI,
            table["Ni2+ in Ni salt/oxide"],
            table["Co2+ in Co salt/oxide"],
            table["Manganese Sulfate"] * _MNSO4_PER_MN,
            table["Copper"],
            table["Aluminum"],
            table["Graphite"],
        ]
    )


def _process_ghg(rows: list[Row]) -> Floats:
    # refdata derived_recycling_process_ghg_per_kg_battery.csv (DERIVED from EverBatt 2019
    # Table 10 inputs x GREET factors), China grid as GREET 2022 has it (0.700 kg/kWh).
    total = "total_excl_organics_combustion_and_credits_kgCO2e_per_kg_battery"
    names = {"hydro": "hydrometallurgical", "pyro": "pyrometallurgical", "direct": "direct"}
    out = []
    for route in ROUTES:
        match = [r for r in rows if r["route"] == names[route] and r["grid"].startswith("China (")]
        if not match:
            raise ConfigurationError(f"{PROCESS_GHG_FILE}: no China row for {names[route]}")
        out.append(float(match[0][total]))
    return np.array(out)


def _pack_ghg(rows: list[Row]) -> float:
    # refdata derived_pack_cradle_to_gate_ghg_per_kWh.csv: LFP pack, China grid (GREET 2022)
    for r in rows:
        if r["chemistry"] == "LFP" and r["grid"].startswith("China_GREET2022"):
            return float(r["total_kgCO2e_per_kWh"])
    raise ConfigurationError(f"{PACK_GHG_FILE}: no LFP / China_GREET2022 row")


def _capacity(rows: list[Row], years: np.ndarray) -> Floats:
    # refdata china_channel_calibration_Miffyfei.csv: white-listed capacity (t/yr) 2020-2025 and
    # 2030 (Miffyfei formal_capacity_by_province.csv, summed). 2018-2019 hold 2020 (assumption:
    # the first white-list batch is 2018, DOMAIN.md); 2026-2029 linear; after 2030 held.
    known: dict[int, float] = {}
    for r in rows:
        name = r["parameter"]
        if "capacity" in name and name.startswith(("Formal (white-list) capacity", "Formal cap")):
            found = [int(y) for y in re.findall(r"20\d\d", name)]
            values = slashed(r["value"].replace("t/yr", ""))
            known.update(zip(found, values, strict=True))
    if 2024 not in known:
        raise ConfigurationError(f"{CHANNEL_FILE}: no white-listed capacity for 2024")
    known[2018] = known[2019] = known[min(known)]
    return _held(known, years)


def _capacity_share(years: np.ndarray) -> Floats:
    # Package table whitelist_capacity.csv (Miffyfei formal_capacity_by_province.csv summed):
    # the 2024 split up to 2024, the 2030 one from 2030, linear between.
    rows = by_key(read_package_table("whitelist_capacity.csv"), "province")
    a = np.array([float(rows[p]["capacity_t_2024"]) for p in PROVINCE_CODES])
    b = np.array([float(rows[p]["capacity_t_2030"]) for p in PROVINCE_CODES])
    w = np.clip((years - 2024) / 6.0, 0.0, 1.0)[:, None]
    mix = (1 - w) * a / a.sum() + w * b / b.sum()
    return np.asarray(mix / mix.sum(axis=1, keepdims=True), dtype=np.float64)
