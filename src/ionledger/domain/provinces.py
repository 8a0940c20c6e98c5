"""China's provincial-level divisions, keyed by ISO 3166-2:CN code (2017 revision)."""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "CN-BJ": "Beijing",
    "CN-TJ": "Tianjin",
    "CN-HE": "Hebei",
    "CN-SX": "Shanxi",
    "CN-NM": "Inner Mongolia",
    "CN-LN": "Liaoning",
    "CN-JL": "Jilin",
    "CN-HL": "Heilongjiang",
    "CN-SH": "Shanghai",
    "CN-JS": "Jiangsu",
    "CN-ZJ": "Zhejiang",
    "CN-AH": "Anhui",
    "CN-FJ": "Fujian",
    "CN-JX": "Jiangxi",
    "CN-SD": "Shandong",
    "CN-HA": "Henan",
    "CN-HB": "Hubei",
    "CN-HN": "Hunan",
    "CN-GD": "Guangdong",
    "CN-GX": "Guangxi",
    "CN-HI": "Hainan",
    "CN-CQ": "Chongqing",
    "CN-SC": "Sichuan",
    "CN-GZ": "Guizhou",
    "CN-YN": "Yunnan",
    "CN-XZ": "Tibet",
    "CN-SN": "Shaanxi",
    "CN-GS": "Gansu",
    "CN-QH": "Qinghai",
    "CN-NX": "Ningxia",
    "CN-XJ": "Xinjiang",
}


def is_province(code: str) -> bool:
    return code in PROVINCES
