"""API credentials: bearer tokens per enterprise, shown once, stored hashed, scoped, expiring
and revocable.

A token reads ``ionl_<id>_<secret>``: the id finds the stored row, the secret is compared with
its SHA-256 in constant time (a 256-bit random secret needs no slow hash: there is nothing to
guess). The node operator's credential belongs to the pseudo-enterprise ``operator``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ionledger.epcis.times import now_key
from ionledger.errors import NotFound, Unauthenticated, ValidationError
from ionledger.store.port import Credential, EventStore

SCOPES = ("capture", "read", "admin")
OPERATOR = "operator"
_TOKEN = re.compile(r"^ionl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class Issued:
    credential: Credential
    token: str  # shown once; only its hash is kept


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def issue(
    store: EventStore,
    enterprise: str,
    scopes: list[str],
    *,
    expires_days: float | None = 365.0,
    label: str | None = None,
    registered: bool = True,
) -> Issued:
    """A new credential for ``enterprise`` (which must be registered, unless it is the
    operator's bootstrap credential)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationError(f"scopes must be some of {', '.join(SCOPES)}; got {scopes}")
    if not registered and enterprise != OPERATOR:
        raise NotFound(f"enterprise {enterprise!r} is not registered")
    if expires_days is not None and expires_days <= 0:
        raise ValidationError(f"expiry must be a positive number of days, got {expires_days}")
    cid, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    now = datetime.datetime.now(datetime.UTC)
    expires = None
    if expires_days is not None:
        expires = now_key(now + datetime.timedelta(days=expires_days))
    credential = Credential(
        id=cid,
        enterprise=enterprise,
        scopes=tuple(sorted(set(scopes))),
        secret_hash=_hash(secret),
        label=label,
        created_at=now_key(now),
        expires_at=expires,
        revoked_at=None,
    )
    store.add_credential(credential)
    return Issued(credential, f"ionl_{cid}_{secret}")


def authenticate(store: EventStore, token: str) -> Credential:
    """The live credential a token presents, or Unauthenticated saying why not."""
    m = _TOKEN.match(token)
    if m is None:
        raise Unauthenticated("malformed bearer token (expected ionl_<id>_<secret>)")
    credential = store.credential(m.group(1))
    if credential is None or not hmac.compare_digest(credential.secret_hash, _hash(m.group(2))):
        raise Unauthenticated("unknown bearer token")
    if credential.revoked_at is not None:
        raise Unauthenticated(f"credential {credential.id} was revoked at {credential.revoked_at}")
    if credential.expires_at is not None and credential.expires_at <= now_key():
        raise Unauthenticated(f"credential {credential.id} expired at {credential.expires_at}")
    return credential


def revoke(store: EventStore, credential_id: str) -> None:
    if not store.revoke_credential(credential_id, now_key()):
        found = store.credential(credential_id)
        if found is None:
            raise NotFound(f"no credential {credential_id!r}")
        raise ValidationError(f"credential {credential_id} was already revoked")


def bootstrap_admin(store: EventStore) -> str | None:
    """The operator's first admin credential (no expiry), unless one exists: its token."""
    if any(c.enterprise == OPERATOR and c.revoked_at is None for c in store.credentials(OPERATOR)):
        return None
    issued = issue(store, OPERATOR, ["admin"], expires_days=None, label="bootstrap admin")
    return issued.token
