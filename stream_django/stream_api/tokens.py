"""
Stream's JWT authentication: HS256 tokens signed with an app's secret.

A *scope token* carries ``resource``, ``action`` and ``feed_id`` claims
(each ``*`` or a comma-separated list; ``feed_id`` names feeds as
``<slug><user_id>``); a *user token* carries only ``user_id`` and grants
what it names: the feeds of that user. ``verify`` checks the signature
(with the standard library's ``hmac``: Stream signs with HS256 only, so no
JWT library is needed) and ``exp``/``nbf`` when present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from stream_django.exceptions import NotAllowedException, SignatureException


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(token: str, secret: str, *, now: float | None = None) -> dict[str, Any]:
    """Return the claims of ``token`` if ``secret`` signed it with HS256.

    Raises ``SignatureException`` naming what is wrong: not a JWT, another
    algorithm, a bad signature, an expired or not yet valid token.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise SignatureException("the Authorization header is not a JWT (three base64url parts)")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
        signature = _b64decode(parts[2])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SignatureException("the Authorization header is not a JWT (bad base64url or JSON)") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        alg = header.get("alg") if isinstance(header, dict) else None
        raise SignatureException(f"the token is signed with {alg!r}; only HS256 tokens are accepted")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureException("the token's signature does not match the API key's secret")
    if not isinstance(claims, dict):
        raise SignatureException("the token's payload is not a JSON object")
    moment = time.time() if now is None else now
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is not None and (not isinstance(exp, (int, float)) or moment >= exp):
        raise SignatureException("the token has expired")
    if nbf is not None and (not isinstance(nbf, (int, float)) or moment < nbf):
        raise SignatureException("the token is not valid yet (nbf)")
    return claims


def _values(claim: Any) -> set[str] | None:
    """The set of a claim's values; ``None`` for the wildcard ``*``."""
    if claim is None:
        return set()
    values = {v.strip() for v in str(claim).split(",")}
    return None if "*" in values else values


@dataclass(frozen=True)
class Token:
    """A verified token and what it grants."""

    claims: dict[str, Any]

    @property
    def is_user_token(self) -> bool:
        return "resource" not in self.claims and "user_id" in self.claims

    @property
    def is_server_token(self) -> bool:
        """Whether the token may act on every feed (``feed_id`` ``*``)."""
        return not self.is_user_token and _values(self.claims.get("feed_id")) is None

    def allows(self, resource: str, action: str, feed: str | None) -> bool:
        """Whether the token grants ``action`` on ``resource`` of ``feed``
        (``"slug:user_id"``; ``None``: a route over any feed)."""
        if self.is_user_token:
            return feed is not None and feed.split(":", 1)[1] == str(self.claims["user_id"])
        for claim, wanted in (("resource", resource), ("action", action)):
            values = _values(self.claims.get(claim))
            if values is not None and wanted not in values:
                return False
        feeds = _values(self.claims.get("feed_id"))
        return feeds is None or (feed is not None and feed.replace(":", "", 1) in feeds)

    def require(self, resource: str, action: str, feed: str | None) -> None:
        """Raise ``NotAllowedException`` (403) unless ``allows``."""
        if not self.allows(resource, action, feed):
            where = f"feed {feed}" if feed else "every feed (a server token, feed_id '*')"
            raise NotAllowedException(
                f"You don't have the permission to do this: the token does not grant {resource}/{action} on {where}"
            )
