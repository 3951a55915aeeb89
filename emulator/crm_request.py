"""Build the `crmAPIRequest` map from an HTTP request, as DESIGN 2.2 describes."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from . import tokens
from .auth import Principal
from .config import OrgConfig
from .tokens import ZAPIKEY

AUTH_PARAMS = ("auth_type", ZAPIKEY)
FILE_PART = "inputFile"


def build(
    request: Request, body: bytes, principal: Principal, org: OrgConfig
) -> dict[str, Any]:
    """The map handed to the function. `body` is the raw body, already read and capped."""
    # Most calls have no body: then nothing of werkzeug's form, file and
    # content-type parsing runs (each costs a few microseconds on every call).
    return {
        "params": params(request, bool(body)),
        "body": decode(body, request.mimetype_params.get("charset")) if body else "",
        "headers": headers(request),
        "method": request.method,
        "auth_type": principal.auth_type,
        "user_info": user_info(principal, org),
        "record": {},
        "file_content": file_content(request) if body else None,
    }


def params(request: Request, with_body: bool = True) -> dict[str, str]:
    """Query parameters, then form fields over them; a repeated name keeps its last value."""
    merged = _last_values(request.args)
    for name in AUTH_PARAMS:
        merged.pop(name, None)
    if with_body:
        merged.update(_last_values(request.form))
    return merged


def _last_values(values: MultiDict[str, str]) -> dict[str, str]:
    return {key: values.getlist(key)[-1] for key in values}


def headers(request: Request) -> dict[str, str]:
    """Header names lower-cased. Read from the WSGI environ as werkzeug's
    EnvironHeaders reads it (a repeated header arrives joined with ','), in
    one pass: this runs on every call."""
    return {
        (key[5:] if key[0] == "H" else key).replace("_", "-").lower(): value
        for key, value in request.environ.items()
        if (key.startswith("HTTP_") and key not in _BODY_HEADERS)
        or (key in _BODY_FIELDS and value)
    }


_BODY_FIELDS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_BODY_HEADERS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})


def decode(data: bytes, charset: str | None = None) -> str:
    """Text of a body. Not valid in its charset: ISO-8859-1, so every byte survives
    (`body.encode("latin-1")` gives the original bytes back)."""
    try:
        return data.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return data.decode("latin-1")


def file_content(request: Request) -> str | None:
    # `in` first: a missing key makes werkzeug's .get build an HTTP exception.
    if FILE_PART in request.files:
        upload = request.files[FILE_PART]
        return decode(upload.read(), upload.mimetype_params.get("charset"))
    # Zoho's Python SDK (zohocrmsdk8-0, execute by file) posts the file as
    # url-encoded form fields, one `inputFile` field per line of the file.
    if request.mimetype == "application/x-www-form-urlencoded":
        lines = request.form.getlist(FILE_PART)
        if lines:
            return "".join(lines)
    return None


def user_info(principal: Principal, org: OrgConfig) -> dict[str, Any]:
    user = principal.user
    return {
        "id": user.id,
        "zuid": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "role": {"name": user.role},
        "profile": {"name": user.profile},
        "org": {"id": org.id, "name": org.name},
    }


SECRET_HEADERS = ("authorization", "cookie", ZAPIKEY, "x-api-key")


def redacted(request: dict[str, Any]) -> dict[str, Any]:
    """A copy fit for logs and history: credentials in headers are masked."""
    headers = {
        name: tokens.mask(value) if name in SECRET_HEADERS else value
        for name, value in request["headers"].items()
    }
    return {**request, "headers": headers}
