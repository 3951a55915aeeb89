"""Secrets in Zoho's shapes: making them, hashing them, masking them in logs."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

API_KEY_PREFIX = "1003"
TOKEN_PREFIX = "1000"
ZAPIKEY = "zapikey"
_CLIENT_ID_CHARS = string.ascii_uppercase + string.digits

_IN_URL = re.compile(
    r"(?i)((?:^|[?&])(?:zapikey|token|refresh_token|code|client_secret)=)([^&\s]+)"
)


def make(prefix: str) -> str:
    """A fresh secret such as `1003.<32 hex>.<32 hex>`."""
    return f"{prefix}.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def make_client_id() -> str:
    """A client id in Zoho's shape: `1000.` and 30 upper-case letters or digits."""
    return (
        TOKEN_PREFIX
        + "."
        + "".join(secrets.choice(_CLIENT_ID_CHARS) for _ in range(30))
    )


def make_client_secret() -> str:
    """A client secret in Zoho's shape: 42 lower-case hex digits."""
    return secrets.token_hex(21)


def digest(secret: str) -> str:
    """What the store keeps instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def mask(secret: str) -> str:
    """`1003.7c02…0d43`: enough to tell keys apart, not enough to use one."""
    if len(secret) < 16:
        return "****"
    return f"{secret[:9]}…{secret[-4:]}"


def redact_url(url: str) -> str:
    """Replace secrets in a logged URL or query string with a mask."""
    return _IN_URL.sub(lambda m: m.group(1) + mask(m.group(2)), url)
