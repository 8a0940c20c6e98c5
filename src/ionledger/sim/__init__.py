"""Fleet simulator: a reproducible population of enterprises and traction packs, written as the
EPCIS 2.0 events those enterprises would report, plus the ground truth to check a ledger against.

:func:`generate` is the entry point (``ionledger generate``). Modules: :mod:`.params` (figures
and their sources), :mod:`.fleet` (enterprises and sites) and :mod:`.registry` (registry.json),
:mod:`.lifecycle` (each pack's life, drawn per chunk with numpy), :mod:`.anomalies` (planted
faults), :mod:`.timeline` and :mod:`.recorder` (a life as events), :mod:`.epcis_writer` (events
and documents), :mod:`.truth` (truth.json), :mod:`.identifiers` (codes, VINs, event IDs, times).
"""

from ionledger.sim.generator import GenerateResult, generate

__all__ = ["GenerateResult", "generate"]
