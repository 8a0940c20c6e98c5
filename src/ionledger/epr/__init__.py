"""Extended producer responsibility certificates.

White-listed recyclers and cascade-use firms issue certificates for the battery mass they
processed (each gram once); certificates move between enterprises and are surrendered by
producers against their obligation for a year. Every operation is a record in the verifiable
log; the balances are a projection of those records (``ionledger rebuild`` recomputes them).

This package's ``__init__`` stays light: the store imports :mod:`ionledger.epr.records` to keep
the records out of EPCIS queries, and the service (:mod:`ionledger.epr.certificates`) imports
the store.
"""

from __future__ import annotations

from ionledger.epr.records import EPR_RECORD_TYPE
from ionledger.epr.rules import EPR_RULES, EprViolation

__all__ = ["EPR_RECORD_TYPE", "EPR_RULES", "EprViolation"]
