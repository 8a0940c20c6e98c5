"""The bearer token of a request (OAuth 2.0 bearer usage, RFC 6750) as a principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from ionledger.errors import Unauthenticated
from ionledger.governance.access import Principal
from ionledger.services.principals import Principals


def bearer_token(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def request_principal(request: Request) -> Principal:
    """The request's principal (the public without a token): a FastAPI dependency."""
    return connection_principal(request)


def connection_principal(request: HTTPConnection) -> Principal:
    """The principal of a request or a WebSocket handshake."""
    principals: Principals = request.app.state.principals
    return principals.of_token(bearer_token(request))


# Route parameters of this type receive the caller's principal.
Who = Annotated[Principal, Depends(request_principal)]
