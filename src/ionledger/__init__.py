"""ionledger: an open, verifiable system of record for traction batteries.

The curated public API: identifiers, settings and errors here; the capture pipeline in
``ionledger.services``, the stores in ``ionledger.store``.
"""

from ionledger.domain.gbt34014 import BatteryCode, make_code, parse_code
from ionledger.domain.identity import canonical_id, to_uri
from ionledger.errors import IonLedgerError
from ionledger.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "BatteryCode",
    "IonLedgerError",
    "Settings",
    "__version__",
    "canonical_id",
    "make_code",
    "parse_code",
    "to_uri",
]
