"""Tokens of the Stream API endpoint: HS256 verification and what each grants."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from stream_django.exceptions import NotAllowedException, SignatureException
from stream_django.stream_api.tokens import Token, verify

SECRET = "a-secret-of-at-least-thirty-two-bytes"


def test_a_pyjwt_token_verifies_and_a_tampered_one_does_not():
    good = jwt.encode({"resource": "feed", "action": "read", "feed_id": "user1"}, SECRET, algorithm="HS256")
    assert verify(good, SECRET) == {"resource": "feed", "action": "read", "feed_id": "user1"}
    header, _, signature = good.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"resource": "*", "action": "*", "feed_id": "*"}).encode())
    with pytest.raises(SignatureException, match="signature does not match"):
        verify(f"{header}.{forged.decode().rstrip('=')}.{signature}", SECRET)
    with pytest.raises(SignatureException, match="signature does not match"):
        verify(good, SECRET + "x")


@pytest.mark.parametrize(
    "token, message",
    [
        ("abc", "not a JWT"),
        ("a.b.c", "not a JWT"),
        (jwt.encode({"user_id": "1"}, SECRET + SECRET, algorithm="HS512"), "only HS256"),
        (jwt.encode({"user_id": "1"}, None, algorithm="none"), "only HS256"),
        (jwt.encode({"user_id": "1", "exp": 10}, SECRET, algorithm="HS256"), "expired"),
        (jwt.encode({"user_id": "1", "nbf": 4102444800}, SECRET, algorithm="HS256"), "not valid yet"),
    ],
)
def test_rejected_tokens_say_why(token, message):
    with pytest.raises(SignatureException, match=message):
        verify(token, SECRET)


def test_scope_claims_wildcards_and_lists():
    token = Token({"resource": "feed,follower", "action": "read", "feed_id": "user1, timeline1"})
    assert token.allows("feed", "read", "user:1")
    assert token.allows("follower", "read", "timeline:1")
    assert not token.allows("feed", "write", "user:1")
    assert not token.allows("activities", "read", "user:1")
    assert not token.allows("feed", "read", "user:2")
    assert not token.allows("feed", "read", None)
    assert not token.is_server_token
    server = Token({"resource": "*", "action": "*", "feed_id": "*"})
    assert server.is_server_token and server.allows("activities", "write", None)
    assert not Token({"resource": "*", "action": "*"}).allows("feed", "read", "user:1")


def test_user_tokens_grant_that_users_feeds_only():
    token = Token({"user_id": "7"})
    assert token.is_user_token and not token.is_server_token
    assert token.allows("feed", "write", "user:7") and token.allows("follower", "delete", "timeline:7")
    assert not token.allows("feed", "read", "user:70")
    assert not token.allows("activities", "read", None)
    with pytest.raises(NotAllowedException, match="feed/read on feed user:8"):
        token.require("feed", "read", "user:8")
