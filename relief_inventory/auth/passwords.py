"""Password and token hashing with the standard library only (scrypt, SHA-256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

# scrypt cost. The test suite lowers it (RELIEF_SCRYPT_N) because it creates hundreds of
# users; every stored hash carries its own parameters, so verification is unaffected.
_N = int(os.environ.get("RELIEF_SCRYPT_N", str(2**14)))
_R, _P = 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    salt_text, digest_text = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"scrypt${_N}${_R}${_P}${salt_text}${digest_text}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=base64.b64decode(salt_b64),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=32,
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def new_token() -> str:
    """A bearer token: shown once, stored only as its SHA-256."""
    return "rlf_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
