"""From a bearer token to a principal, with the registry cached between requests."""

from __future__ import annotations

import threading

from ionledger.governance.access import Principal, principal_of
from ionledger.governance.credentials import authenticate
from ionledger.governance.registry import Registry
from ionledger.services.registry import load_registry
from ionledger.store.port import EventStore


class Principals:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._version = -2

    def registry(self) -> Registry:
        version = self.store.registry_seq()
        with self._lock:
            if self._registry is None or version != self._version:
                self._registry, self._version = load_registry(self.store), version
            return self._registry

    def of_token(self, token: str | None) -> Principal:
        """The principal a bearer token stands for; the public without one."""
        if token is None:
            return Principal.public()
        return principal_of(authenticate(self.store, token), self.registry())
