"""The authorization request of the consent page, validated.

A problem is a `PageError`: an HTML page that says which parameter is wrong,
never a redirect (a wrong redirect_uri must not receive anything).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .clients import Client, ClientStore
from .errors import PageError
from .scopes import parse_scopes

OFFLINE, ONLINE = "offline", "online"


@dataclass(frozen=True)
class AuthRequest:
    """A validated authorization request (the consent page's parameters)."""

    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    access_type: str
    state: str | None
    prompt: str


def parse(params: Mapping[str, str], clients: ClientStore) -> AuthRequest:
    """Validate the consent page's parameters."""
    client_id = _page_param(params, "client_id")
    client = clients.get(client_id)
    if client is None:
        raise PageError(
            "Invalid Client",
            f"There is no OAuth client '{client_id}' here. Register it under "
            f"oauth.clients in config.yaml or with 'zcrm-emulator clients add', "
            f"and use its client_id.",
        )
    redirect_uri = _page_param(params, "redirect_uri")
    if redirect_uri not in client.redirect_uris:
        known = ", ".join(client.redirect_uris) or "none"
        raise PageError(
            "Invalid Redirect Uri",
            f"Redirect URI passed does not match with the one configured. Found "
            f"'{redirect_uri}'; the client {client.title} has: {known}. Pass one "
            f"of those, or add this one to the client's redirect_uris.",
        )
    response_type = _page_param(params, "response_type")
    if response_type != "code":
        raise PageError(
            "Invalid response_type",
            f"response_type must be 'code'; found '{response_type}'. The emulator "
            f"serves the authorization-code flow.",
        )
    scopes = parse_scopes(_page_param(params, "scope"))
    access_type = params.get("access_type") or ONLINE
    if access_type not in (ONLINE, OFFLINE):
        raise PageError(
            "Invalid access_type",
            f"access_type must be 'online' or 'offline'; found '{access_type}'. "
            f"Use offline to also get a refresh token.",
        )
    return AuthRequest(
        client,
        redirect_uri,
        scopes,
        access_type,
        params.get("state"),
        params.get("prompt", ""),
    )


def _page_param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise PageError(
            f"Missing {name}",
            f"The authorization request has no {name} parameter. Call "
            f"/oauth/v2/auth?client_id=...&response_type=code&redirect_uri=...&scope=..."
            f"&access_type=offline",
        )
    return value
