"""Who may read and write what: the principal behind a request, and the access rules.

- The operator (the node's own credential, and the local CLI) and a national regulator read
  everything; only the operator and admin-scoped credentials change the registry.
- A provincial regulator reads batteries that were located in, or transferred through, its
  province (``battery_parties`` holds ``province:CN-XX`` for each), and nothing else.
- An enterprise reads the full history of the batteries it has reported on or received.
- The public reads only the public tier: a battery's passport summary, never its events.
Writes are checked by the capture rules (``access.*`` in the catalogue): an enterprise reports
only as itself, and only for batteries it makes, holds, or receives by a shipment.
"""

from __future__ import annotations

from dataclasses import dataclass

from ionledger.errors import Forbidden, Unauthenticated
from ionledger.governance.credentials import OPERATOR
from ionledger.governance.registry import Registry, Role
from ionledger.store.port import Credential


@dataclass(frozen=True, slots=True)
class Principal:
    enterprise: str | None  # None: the public
    scopes: frozenset[str]
    roles: frozenset[str] = frozenset()
    province: str | None = None
    credential: str | None = None

    @classmethod
    def operator(cls) -> Principal:
        return cls(OPERATOR, frozenset({"admin", "capture", "read"}), credential=None)

    @classmethod
    def public(cls) -> Principal:
        return cls(None, frozenset())

    @property
    def label(self) -> str:
        return self.enterprise or "the public"

    @property
    def reads_everything(self) -> bool:
        return self.enterprise == OPERATOR or Role.NATIONAL_REGULATOR in self.roles

    def parties(self) -> tuple[str, ...] | None:
        """The battery_parties this principal reads through; None: it reads everything."""
        if self.reads_everything:
            return None
        if self.enterprise is None:
            return ()
        if Role.PROVINCIAL_REGULATOR in self.roles and self.province:
            return (f"province:{self.province}",)
        return (self.enterprise,)

    def require(self, scope: str) -> None:
        """Raise unless the principal holds ``scope`` (admin holds every scope)."""
        if self.enterprise is None:
            raise Unauthenticated(f"this needs a bearer token with the {scope!r} scope")
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(
                f"{self.label}'s credential lacks the {scope!r} scope",
                rule=f"access.scope-{scope}",
            )

    def require_events(self) -> None:
        """Reading events (histories) is not part of the public tier."""
        if self.enterprise is None:
            raise Unauthenticated("event histories need a bearer token; the public tier has none")
        self.require("read")


def principal_of(credential: Credential, registry: Registry) -> Principal:
    return acting_as(
        credential.enterprise, frozenset(credential.scopes), registry, credential=credential.id
    )


def acting_as(
    enterprise_id: str,
    scopes: frozenset[str],
    registry: Registry,
    *,
    credential: str | None = None,
) -> Principal:
    """An enterprise with these scopes, its roles and province as the registry now stands."""
    if enterprise_id == OPERATOR:
        return Principal(OPERATOR, scopes, credential=credential)
    enterprise = registry.enterprise(enterprise_id)
    if enterprise is None:
        raise Unauthenticated(f"enterprise {enterprise_id!r} is no longer registered")
    return Principal(
        enterprise.id,
        scopes,
        frozenset(enterprise.roles),
        enterprise.province if enterprise.province != "CN" else None,
        credential,
    )
