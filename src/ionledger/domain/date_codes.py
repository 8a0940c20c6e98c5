"""The GB/T 34014 production-date alphabets (code positions 15-17), as data, in one place.

What is official and what is not:

* Month (position 16): ``1``-``9`` = January-September, ``A``/``B``/``C`` = October-December.
  Official.
* Year (position 15): ``1``-``9`` = 2011-2019, then ``A`` = 2020, ``B`` = 2021, ... Unofficial,
  but every implementation we know of agrees. Letters skip ``I``, ``O``, ``Q`` (and ``Z`` is
  never reached), so ``Y`` = 2041 is the last year.
* Day (position 17): ``1``-``9`` = days 1-9, then letters for days 10-31. Not settled: sources
  disagree on which letters are skipped. We skip ``I``, ``O``, ``Q``, which gives exactly 31
  symbols ending at ``Y``.

Both letter choices follow the character classes of the Catena-X regex
(``io.catenax.traction_battery_code`` 2.0.0), which ends at ``Y`` and leaves out ``O`` and ``Q``;
that regex does admit ``I`` (and ``0`` as a day): see docs/identifiers.md for that disagreement.
If the day alphabet is ever settled differently, this module is the only place to change.
"""

from __future__ import annotations

FIRST_YEAR = 2011

# Index i of a string holds the symbol for value (first value + i).
YEAR_SYMBOLS = "123456789ABCDEFGHJKLMNPRSTUVWXY"  # 2011-2041
MONTH_SYMBOLS = "123456789ABC"  # 1-12
DAY_SYMBOLS = "123456789ABCDEFGHJKLMNPRSTUVWXY"  # 1-31

LAST_YEAR = FIRST_YEAR + len(YEAR_SYMBOLS) - 1

YEAR_OF: dict[str, int] = {c: FIRST_YEAR + i for i, c in enumerate(YEAR_SYMBOLS)}
MONTH_OF: dict[str, int] = {c: 1 + i for i, c in enumerate(MONTH_SYMBOLS)}
DAY_OF: dict[str, int] = {c: 1 + i for i, c in enumerate(DAY_SYMBOLS)}

YEAR_SYMBOL: dict[int, str] = {v: c for c, v in YEAR_OF.items()}
MONTH_SYMBOL: dict[int, str] = {v: c for c, v in MONTH_OF.items()}
DAY_SYMBOL: dict[int, str] = {v: c for c, v in DAY_OF.items()}

# Human-readable alphabets for error messages and docs.
YEAR_RULE = f"1-9, A-Y without I, O, Q ({FIRST_YEAR}-{LAST_YEAR})"
MONTH_RULE = "1-9A-C"
DAY_RULE = "1-9, A-Y without I, O, Q (days 1-31)"
