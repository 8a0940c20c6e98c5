"""Identifiers and timestamps for simulated events, made fast enough for millions of packs.

Times are integer seconds on China's clock (UTC+8) since 1970-01-01; every event is written
with offset ``+08:00``.
"""

from __future__ import annotations

import datetime

import numpy as np

from ionledger.domain.gbt34014 import BATTERY_TYPE_LFP, BATTERY_TYPE_TERNARY, make_code
from ionledger.domain.vocabulary import GBT_URN_PREFIX
from ionledger.errors import ValidationError
from ionledger.sim.registry import VIN_ALPHABET

TZ_OFFSET = "+08:00"
DAY = 86_400
_EPOCH = datetime.date(1970, 1, 1).toordinal()


def day_number(d: datetime.date) -> int:
    return d.toordinal() - _EPOCH


def date_of(day: int) -> datetime.date:
    return datetime.date.fromordinal(_EPOCH + day)


class Clock:
    """Formats event times; dates are cached, so a timestamp costs three lookups."""

    def __init__(self) -> None:
        self._dates: dict[int, str] = {}
        self._hm = [f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
        self._ss = [f"{s:02d}{TZ_OFFSET}" for s in range(60)]

    def __call__(self, t: int) -> str:
        day, s = divmod(t, DAY)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = date_of(day).isoformat()
        return text + self._hm[s // 60] + self._ss[s % 60]


# One ID per row, comma-terminated, so that a block splits into IDs in one C-level call.
_UUID_TEMPLATE = np.frombuffer(b"urn:uuid:00000000-0000-0000-0000-000000000000,", np.uint8)
_UUID_GROUPS = ((9, 0, 8), (18, 8, 4), (23, 12, 4), (28, 16, 4), (33, 20, 12))  # at, from, len


class EventIds:
    """Version-4-shaped UUID URNs whose bits come from a seeded generator (reproducible).

    Made a block at a time with numpy: formatting them one by one cost more than the events.
    """

    _BLOCK = 4_096

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._pool: list[str] = []

    def __call__(self) -> str:
        if not self._pool:
            self._refill()
        return self._pool.pop()

    def _refill(self) -> None:
        n = self._BLOCK
        raw = self._rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        nibbles = np.empty((n, 32), dtype=np.uint8)
        nibbles[:, 0::2], nibbles[:, 1::2] = raw >> 4, raw & 0x0F
        hexits = nibbles + np.uint8(ord("0")) + (nibbles > 9) * np.uint8(ord("a") - ord("9") - 1)
        text = np.empty((n, len(_UUID_TEMPLATE)), dtype=np.uint8)
        text[:] = _UUID_TEMPLATE
        for at, start, length in _UUID_GROUPS:
            text[:, at : at + length] = hexits[:, start : start + length]
        ids = text.tobytes().decode("ascii").split(",")
        ids.pop()  # after the last comma
        ids.reverse()  # pop() from the end hands them out in generation order
        self._pool = ids


_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_BATCHES = 36**4


def batch_code(batch: int) -> str:
    """Four base-36 characters numbering a production batch (a chunk of the simulation)."""
    if not 0 <= batch < MAX_BATCHES:
        raise ValidationError(f"batch {batch} is out of range 0-{MAX_BATCHES - 1}")
    digits = []
    for _ in range(4):
        batch, d = divmod(batch, 36)
        digits.append(_BASE36[d])
    return "".join(reversed(digits))


class CodeFactory:
    """GB/T 34014 codes (as URNs) for one production batch.

    The traceability code (positions 8-14) is the plant's 3-character line code followed by the
    4-character batch code, so batches never share a code and can be made independently (in
    parallel); serials are counted per manufacturer and production day within the batch.

    make_code validates every field (~6 us a call) and a pack carries ~90 codes, which made it
    the generator's bottleneck; so it is called once per (manufacturer, product type, battery
    type, spec, trace, day) to get the 17-character prefix, and the 7-digit serial (the code's
    last field, positions 18-24) is appended here.
    """

    def __init__(self, batch: int) -> None:
        self._batch = batch_code(batch)
        self._serials: dict[tuple[str, int], int] = {}  # (manufacturer, day) -> next serial
        self._digits: list[str] = []  # serial -> its 7 digits, grown on demand

    def block(
        self, manufacturer: str, product: str, lfp: bool, spec: str, line: str, day: int, n: int
    ) -> list[str]:
        """``n`` consecutive codes of one kind, made on production line ``line`` on ``day``."""
        key = (manufacturer, day)
        first = self._serials.get(key, 1)
        stop = first + n
        if stop - 1 > 9_999_999:
            raise ValidationError(f"GB/T 34014 serials exhausted for {manufacturer} on day {day}")
        self._serials[key] = stop
        btype = BATTERY_TYPE_LFP if lfp else BATTERY_TYPE_TERNARY
        trace = line + self._batch
        code = make_code(manufacturer, product, btype, spec, trace, date_of(day), first)
        if n == 1:
            return [GBT_URN_PREFIX + code]
        digits = self._digits
        if stop > len(digits):
            digits.extend(f"{s:07d}" for s in range(len(digits), max(stop, 2 * len(digits))))
        head = GBT_URN_PREFIX + code[:17]
        return [head + d for d in digits[first:stop]]


# ISO 3779 check digit, the rule GB 16735 takes over (same tables as US 49 CFR 565).
_VIN_VALUE = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}  # fmt: skip
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# Model-year character (position 10): A = 2010 ... Y = 2030, then 1-9 (30-year cycle).
_MODEL_YEAR = "ABCDEFGHJKLMNPRSTVWXY123456789"


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUE[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    r = total % 11
    return "X" if r == 10 else str(r)


VIN_SERIALS = 1_000_000
VIN_PLANTS = len(VIN_ALPHABET)


def make_vin(wmi: str, vds: str, year: int, number: int) -> str:
    """A 17-character VIN: WMI, 5 descriptor characters, check digit, model year, plant, serial.

    ``number`` (unique per maker and model year) fills the serial (6 digits) and, above a
    million, the plant character.
    """
    plant, serial = divmod(number, VIN_SERIALS)
    if plant >= VIN_PLANTS:
        raise ValidationError(f"VIN number {number} out of range for WMI {wmi}")
    year_char = _MODEL_YEAR[(year - 2010) % 30]
    body = f"{wmi}{vds}0{year_char}{VIN_ALPHABET[plant]}{serial:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]
