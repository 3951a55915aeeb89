"""The HTML pages of the fake Zoho Accounts. Pure: strings in, responses out.

Plain HTML forms, no JavaScript: the consent page works in any browser, in
curl, and in a headless browser driven by a test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from werkzeug.wrappers import Response

from .config import UserConfig
from .errors import PageError

HTML_TYPE = "text/html; charset=utf-8"
SCOPE_NOTES = {
    "zohocrm.functions.execute.read": "call functions with GET",
    "zohocrm.functions.execute.create": "call functions with POST",
    "zohocrm.functions.execute.all": "call functions with GET and POST",
    "zohocrm.functions.all": "everything about functions",
}
STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; background: #f4f6f8; margin: 0; }
main { max-width: 34rem; margin: 3rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }
h1 { font-size: 1.3rem; margin-top: 0; }
.banner { color: #555; font-size: .85rem; border-bottom: 1px solid #ddd;
          padding-bottom: .5rem; margin-bottom: 1rem; }
code { background: #eef; padding: 0 .25rem; word-break: break-all; }
fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; }
label { display: block; margin: .25rem 0; }
button { font-size: 1rem; padding: .5rem 1.25rem; margin-right: .5rem; }
.error h1 { color: #b00020; }
pre { background: #f0f0f0; padding: .75rem; white-space: pre-wrap; word-break: break-all; }
"""


@dataclass(frozen=True)
class Consent:
    """What the consent page shows and what its form posts back."""

    action: str
    client_name: str
    client_id: str
    scopes: tuple[str, ...]
    users: tuple[UserConfig, ...]
    hidden: tuple[tuple[str, str], ...]
    offline: bool


def page(title: str, body: str, *, status: int = 200, css_class: str = "") -> Response:
    html = (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head>\n"
        f'<body><main class="{css_class}">'
        '<div class="banner">zcrm-emulator &middot; emulated Zoho Accounts '
        "(a development tool: no real Zoho account is involved)</div>\n"
        f"{body}</main></body></html>\n"
    )
    return Response(html, status=status, content_type=HTML_TYPE)


def consent_page(consent: Consent) -> Response:
    name = escape(consent.client_name)
    body = (
        f"<h1>{name} wants to access your Zoho CRM</h1>\n"
        f"<p>Client id <code>{escape(consent.client_id)}</code> asks for:</p>\n"
        f'<ul id="scopes">{"".join(_scope_item(s) for s in consent.scopes)}</ul>\n'
        f"<p>{_access_note(consent.offline)}</p>\n"
        f'<form method="post" action="{escape(consent.action)}">\n'
        f"{_hidden(consent.hidden)}"
        "<fieldset><legend>Sign in as</legend>\n"
        f"{_user_choices(consent.users)}</fieldset>\n"
        '<button type="submit" id="approve" name="decision" value="approve">Accept</button>'
        '<button type="submit" id="deny" name="decision" value="deny">Reject</button>\n'
        "</form>\n"
    )
    return page(f"Authorize {consent.client_name}", body)


def error_page(exc: PageError) -> Response:
    body = (
        f"<h1>{escape(exc.title)}</h1>\n"
        f'<p id="message">{escape(exc.message)}</p>\n'
        "<p>Nothing was sent to the application: the emulator never redirects "
        "after an error like this one.</p>\n"
    )
    return page(exc.title, body, status=exc.status, css_class="error")


def callback_page(values: dict[str, str], exchange: str) -> Response:
    """The sample redirect target: shows what the app would receive."""
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>\n"
        for k, v in values.items()
    )
    if "error" in values:
        title, lead = "Access denied", "The user rejected the request."
    else:
        title, lead = "Authorization code received", "Your application would get:"
    body = f"<h1>{title}</h1>\n<p>{lead}</p>\n<table>{rows}</table>\n"
    if exchange:
        body += (
            "<p>Exchange the code for tokens within its lifetime:</p>\n"
            f'<pre id="exchange">{escape(exchange)}</pre>\n'
        )
    return page(title, body)


def _scope_item(scope: str) -> str:
    note = SCOPE_NOTES.get(scope.lower())
    suffix = f" &ndash; {escape(note)}" if note else ""
    return f"<li><code>{escape(scope)}</code>{suffix}</li>"


def _access_note(offline: bool) -> str:
    if offline:
        return (
            "Access type <b>offline</b>: the application also gets a refresh token "
            "and keeps access until it is revoked."
        )
    return "Access type <b>online</b>: access ends when the access token expires."


def _hidden(fields: Iterable[tuple[str, str]]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">\n'
        for k, v in fields
    )


def _user_choices(users: tuple[UserConfig, ...]) -> str:
    items = []
    for i, user in enumerate(users):
        checked = " checked" if i == 0 else ""
        items.append(
            f'<label><input type="radio" name="user" value="{escape(user.id)}"{checked}>'
            f" {escape(user.full_name or user.email)} &lt;{escape(user.email)}&gt;"
            f" &ndash; {escape(user.role)}, {escape(user.profile)}</label>\n"
        )
    return "".join(items)
