"""The simulator's figures, each with its source; the few without one are marked as assumptions.

Sources named here are those of ``DOMAIN.md`` and of the project's reference-data tables (the
``refdata/domain/*.csv`` files staged beside the repository). The values are copied in as
constants because an installed package has no reference data to read at run time.
"""

from __future__ import annotations

from ionledger.domain.battery import Chemistry
from ionledger.governance.composition import composition

# Chemistries the fleet draws from, in index order (an int column in the plan refers to these).
CHEMISTRIES: tuple[Chemistry, ...] = (
    Chemistry.LFP,
    Chemistry.NMC111,
    Chemistry.NMC532,
    Chemistry.NMC622,
    Chemistry.NMC811,
    Chemistry.NCA,
)
LFP = 0

# NEV sales in units by year: refdata china_nev_sales_gwh.csv (CAAM figures; 2016 onwards the
# DOMAIN.md sources). Cohort sizes are proportional to these; years after 2025 repeat 2025
# (assumption: no forecast in the sources).
NEV_SALES: dict[int, int] = {
    2011: 8_159, 2012: 12_791, 2013: 17_642, 2014: 74_763, 2015: 331_092,
    2016: 507_000, 2017: 777_000, 2018: 1_256_000, 2019: 1_206_000, 2020: 1_367_000,
    2021: 3_521_000, 2022: 6_887_000, 2023: 9_495_000, 2024: 12_866_000, 2025: 16_490_000,
}  # fmt: skip


def nev_sales(year: int) -> int:
    return NEV_SALES.get(year, NEV_SALES[max(NEV_SALES)] if year > max(NEV_SALES) else 0)


def lfp_share(year: int) -> float:
    """Share of LFP in a production year's installed GWh.

    2018: 22.2 of 56.9 GWh; 2022: 183.8 of 294.6 GWh (refdata china_nev_sales_gwh.csv).
    2023 on: ~75% (DOMAIN.md: 548 GWh installed in 2024, ~75% LFP). Before 2018 the 2018 share
    is held and 2019-2021 are interpolated linearly (assumption: no figures for those years).
    """
    share_2018, share_2022 = 22.2 / 56.9, 183.8 / 294.6
    if year <= 2018:
        return share_2018
    if year < 2022:
        return share_2018 + (share_2022 - share_2018) * (year - 2018) / 4
    return share_2022 if year == 2022 else 0.75


# Split of the non-LFP (ternary) share, older and newer cohorts. Assumption: the sources give no
# split; the drift from 532/622 towards 811 follows the industry's high-nickel trend.
TERNARY_MIX_BEFORE_2020 = (0.0, 0.10, 0.50, 0.25, 0.10, 0.05)
TERNARY_MIX_FROM_2020 = (0.0, 0.0, 0.25, 0.30, 0.40, 0.05)

# Battery life: Weibull shape 3.5, scale in years for BEV passenger packs, LFP/NMC111/523/622/811/
# NCA = 9.5/8.5/8/7.5/7/7.5 (refdata lifetime_secondlife_params.csv, after
# Miffyfei/EOL-Power-Battery-Recycling-Industry PEV_BATT_WEIBULL).
WEIBULL_SHAPE = 3.5
WEIBULL_SCALE_YEARS = (9.5, 8.5, 8.0, 7.5, 7.0, 7.5)

# Rated pack energy of passenger packs, kWh, and how often each occurs. Assumption (the brief's
# 40-100 kWh passenger range; no distribution in the sources).
PACK_KWH = (40.0, 50.0, 55.0, 60.0, 70.0, 75.0, 80.0, 90.0, 100.0)
PACK_KWH_WEIGHTS = (0.08, 0.14, 0.12, 0.16, 0.14, 0.12, 0.10, 0.08, 0.06)

# Pack structure. Real packs hold far more cells; we keep 4-12 modules of 4-16 cells so that
# a million-pack fleet stays a tractable benchmark (each cell is listed in an event).
MODULES = (4, 12)
CELLS_PER_MODULE = (4, 16)

# Mass, kg per kWh, from EverBatt 2023 (refdata everbatt2023_cell_composition_per_kWh.csv,
# BatPaC 100 kWh design): pack_kg_per_kWh, pack_hw_kg (per 100 kWh pack) and cell_kg_per_kWh.
PACK_KG_PER_KWH = (6.486, 5.384, 5.186, 5.148, 4.887, 4.987)
PACK_HW_KG_PER_100KWH = (176.5, 156.0, 154.6, 154.8, 151.4, 151.2)
CELL_KG_PER_KWH = (4.238, 3.41, 3.233, 3.193, 2.976, 3.077)
# DOMAIN.md: "real packs are heavier" than EverBatt's designs; by how much is our assumption.
REAL_PACK_MASS_FACTOR = (1.0, 1.25)

# Nominal pack voltage, V, to turn kWh into Ah. Assumption: ~100 cells in series at a typical
# 3.2 V (LFP) or 3.65 V (ternary) nominal cell voltage.
PACK_VOLTAGE = (320.0, 365.0, 365.0, 365.0, 365.0, 365.0)

# Materials per kWh of pack, kg: the governance composition table (one source of truth for
# what the simulator's recyclers recover and what the recycling rules weigh inputs against;
# EverBatt 2023, its derivation in governance/data/composition_v1.toml), in CHEMISTRIES order.
MATERIALS: tuple[str, ...] = composition().materials
MATERIAL_KG_PER_KWH: tuple[tuple[float, ...], ...] = tuple(
    tuple(composition().kg_per_kwh[str(chem)][m] for m in MATERIALS) for chem in CHEMISTRIES
)
# Hydrometallurgical recovery: Ni/Co/Mn 98%, Li 90%, Cu/Al/graphite 90% (DOMAIN.md, EverBatt);
# steel 90% (EverBatt 2019 Table 12, refdata everbatt2019_recycling_defaults.csv).
RECOVERY = (0.90, 0.98, 0.98, 0.98, 0.90, 0.90, 0.90, 0.90)

# End of life. Formal share: "in 2024 only 30% of retired batteries entered formal recycling
# channels" (DOMAIN.md, policy brief); the industry proposal says "less than 25%".
FORMAL_SHARE = 0.30
# State of health at retirement: typically 70-80% (DOMAIN.md; refdata
# lifetime_secondlife_params.csv: observed 70-90%). Mean/sd and clip are our fit to that band.
SOH_MEAN, SOH_SD, SOH_CLIP = 75.0, 4.0, (62.0, 92.0)
# What a tester can plausibly report for a retired pack; a planted anomaly lies outside it (and
# inside 0..100 %, so that it imports: see sim/anomalies.py).
SOH_PLAUSIBLE = (50.0, 95.0)
# Cascade use needs capacity left (assumption: 70%, just under the 80% traction limit of
# GB/T 34015.3 quoted in DOMAIN.md); LFP is favoured for stationary storage (assumption).
SECOND_LIFE_MIN_SOH = 70.0
SECOND_LIFE_PROB = (0.6, 0.25, 0.25, 0.25, 0.25, 0.25)
# Informal exits: no event at all / a removal and then nothing / a removal, then a shipment to
# an unregistered workshop. Assumption: DOMAIN.md says most retirements go informal, not how
# they look. A reported shipment to a workshop is a diversion (rule custody.diversion), so it
# happens only as a planted anomaly (sim/anomalies.py, at the anomaly rate); the other informal
# exits split silent/removed by these weights.
INFORMAL_KINDS = ("silent", "removed", "diverted")
SILENT, REMOVED, DIVERTED = range(3)
INFORMAL_KIND_WEIGHTS = (0.5, 0.5)  # silent, removed
# Cross-province transfers wait 30-45 days for re-approval (DOMAIN.md, governance).
CROSS_PROVINCE_WAIT_DAYS = (30, 45)
# Share of formal shipments that stay in the province when a white-listed firm is there.
# Assumption (DOMAIN.md: provinces protect local dismantlers).
IN_PROVINCE_PREFERENCE = 0.7

# In-service events. Assumptions: no rates in the sources. At most one replacement per vehicle
# (refdata lifetime_secondlife_params.csv, "Max battery replacements per vehicle").
REPAIR_RATE = 0.08
REPLACEMENT_RATE = 0.03

# Population sizes. White-listed firms: 156 (DOMAIN.md, MIIT white list, 5 batches 2018-2024);
# the cascade/recycling/both split and the other counts are assumptions.
N_BATTERY_MAKERS = 16
N_VEHICLE_MAKERS = 40
N_DEALERS = 600
N_OUTLETS = 250
N_DISMANTLERS = 200
N_CASCADE_ONLY = 56
N_RECYCLER_ONLY = 60
N_CASCADE_AND_RECYCLER = 40
N_WORKSHOPS = 300

# The MIIT white list: 156 firms in 5 batches, 2018-2024 (DOMAIN.md). Batch dates and sizes are
# assumptions (approximately the announcements as we recall them; DOMAIN.md gives only the span
# and the total): an entry is valid from its batch's date. Our white-listed firms draw their
# batch with these weights, each category (cascade use, recycling) on its own.
WHITE_LIST_BATCH_DATES = ("2018-09-01", "2019-12-01", "2021-12-01", "2022-11-01", "2024-06-01")
WHITE_LIST_BATCH_SIZES = (5, 22, 20, 41, 68)
# Licensed capacity, t/yr, drawn log-uniformly. Assumption: the brief's "thousands to tens of
# thousands t/yr"; no per-firm figures in the sources. A firm's capacity is raised where the
# simulated fleet would otherwise exceed it (a fleet the size of the national one can), except
# for the recyclers given too little capacity on purpose (anomaly over_capacity).
RECYCLING_CAPACITY_TPA = (5_000.0, 50_000.0)
CASCADE_CAPACITY_TPA = (2_000.0, 20_000.0)
DEALER_OUTLET_SHARE = 0.5  # 4S stores that are also collection outlets (DOMAIN.md proposal 6)

# Provincial weights for sales, service and end-of-life sites. Assumption: DOMAIN.md gives no
# provincial split; the large NEV markets (Guangdong, Zhejiang, Jiangsu, Shandong, Henan,
# Shanghai, Beijing, Sichuan...) weigh more.
MARKET_WEIGHTS: dict[str, float] = {
    "CN-GD": 12, "CN-ZJ": 9, "CN-JS": 8, "CN-SD": 7, "CN-HA": 6, "CN-SH": 6, "CN-BJ": 5,
    "CN-SC": 5, "CN-HB": 4, "CN-HN": 4, "CN-FJ": 3, "CN-AH": 3, "CN-HE": 3, "CN-CQ": 3,
    "CN-GX": 3, "CN-SN": 2.5, "CN-TJ": 2, "CN-YN": 2, "CN-GZ": 1.5, "CN-JX": 1.5, "CN-LN": 1.5,
    "CN-SX": 1.5, "CN-HI": 1.5, "CN-NM": 0.7, "CN-JL": 0.7, "CN-HL": 0.6, "CN-GS": 0.6,
    "CN-XJ": 0.6, "CN-NX": 0.3, "CN-QH": 0.2, "CN-XZ": 0.1,
}  # fmt: skip
# Weights for factories and white-listed plants. Assumption: the battery, vehicle and recycling
# industry clusters (Fujian, Guangdong, Jiangsu, Sichuan, Jiangxi, Hunan, Anhui...).
INDUSTRY_WEIGHTS: dict[str, float] = {
    "CN-GD": 10, "CN-JS": 9, "CN-FJ": 6, "CN-ZJ": 6, "CN-SC": 5, "CN-AH": 5, "CN-JX": 5,
    "CN-HN": 5, "CN-HB": 4, "CN-SH": 4, "CN-SD": 4, "CN-CQ": 3, "CN-HA": 3, "CN-BJ": 2,
    "CN-TJ": 2, "CN-GX": 2, "CN-QH": 1, "CN-SN": 2, "CN-GZ": 1, "CN-HE": 2, "CN-LN": 1,
}  # fmt: skip
