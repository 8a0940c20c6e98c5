"""From a bearer token to a principal, with the registry cached between requests."""

from __future__ import annotations

import threading

from ionledger.domain.gs1 import CompanyPrefixes
from ionledger.governance.access import Principal, acting_as, principal_of
from ionledger.governance.credentials import OPERATOR, authenticate
from ionledger.governance.registry import Registry
from ionledger.services.registry import load_registry
from ionledger.services.scoped import ScopedStore
from ionledger.store.port import EventStore


class Principals:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._version = -2
        self._prefixes: tuple[Registry, CompanyPrefixes] | None = None

    def registry(self) -> Registry:
        version = self.store.registry_seq()
        with self._lock:
            if self._registry is None or version != self._version:
                self._registry, self._version = load_registry(self.store), version
            return self._registry

    def company_prefixes(self) -> CompanyPrefixes:
        """The GS1 company prefixes the registry's enterprises hold: what lets a Digital Link
        be written back as an EPC URN (GS1-EPC-Format). A prefix that overlaps a shorter one
        (GS1 never allocates such pairs) is left out rather than guessed."""
        registry = self.registry()
        with self._lock:
            if self._prefixes is None or self._prefixes[0] is not registry:
                held = sorted(
                    {p for e in registry.enterprises.values() for p in e.company_prefixes}
                )
                kept: list[str] = []
                for prefix in held:
                    if not any(prefix.startswith(k) or k.startswith(prefix) for k in kept):
                        kept.append(prefix)
                self._prefixes = (registry, CompanyPrefixes(frozenset(kept)))
            return self._prefixes[1]

    def of_token(self, token: str | None) -> Principal:
        """The principal a bearer token stands for; the public without one."""
        if token is None:
            return Principal.public()
        return principal_of(authenticate(self.store, token), self.registry())

    def of_enterprise(self, enterprise_id: str) -> Principal:
        """An enterprise reading as itself (what its subscriptions deliver), as the registry
        now stands: a role or province it has lost no longer widens what it reads."""
        if enterprise_id == OPERATOR:
            return Principal.operator()
        return acting_as(enterprise_id, frozenset({"read"}), self.registry())

    def reader(self, enterprise_id: str | None) -> EventStore:
        """The store as an enterprise may read it (None: the operator, everything)."""
        if enterprise_id is None:
            return self.store
        return ScopedStore(self.store, self.of_enterprise(enterprise_id))  # type: ignore[return-value]
