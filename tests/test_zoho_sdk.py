"""Zoho's official Python SDK (zohocrmsdk8-0) against the emulator, unchanged.

Pointed at the emulator through a custom `DataCenter.Environment` (API URL and
accounts token URL), its `OAuthToken` exchanges a grant code and refreshes, and
`FunctionsOperations` executes functions by parameters, by request body and by
file; answers are parsed into the SDK's own success and exception classes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import write_config
from oauth_helpers import CLIENT_ID, SECRET, free_port, get_code, oauth_config, serving
from werkzeug.test import Client
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.functions import (
    APIException,
    BodyWrapper,
    FileBodyWrapper,
    FunctionsOperations,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util import StreamWrapper

from emulator.app import Emulator

REDIRECT = "http://localhost:9000/callback"
ECHO = """
import json


def handler(crmAPIRequest, name: str = ""):
    return {
        "method": crmAPIRequest["method"],
        "name": name,
        "params": crmAPIRequest["params"],
        "body": crmAPIRequest["body"],
        "file": crmAPIRequest["file_content"],
        "user": crmAPIRequest["user_info"]["email"],
    }
"""


@pytest.fixture
def live(
    project: Path, make_app: Any, write_function: Any
) -> Iterator[tuple[str, Emulator]]:
    write_function("echo", ECHO)
    write_config(project, oauth_config())
    app = make_app()
    with serving(app, free_port()) as base:
        yield base, app


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[Any]:
    """Initialize the SDK for a token; undo its process-wide state afterwards."""

    def initialize(base: str, token: OAuthToken, store: str = "tokens.txt") -> None:
        environment = DataCenter.Environment(base, f"{base}/oauth/v2/token", base)
        Initializer.initialize(
            environment=environment,
            token=token,
            store=FileStore(str(tmp_path / store)),
            sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
            resource_path=str(tmp_path),
            logger=Logger.get_instance(Logger.Levels.NOTSET),
        )

    yield initialize
    Initializer.initializer = None
    logging.getLogger("SDKLogger").handlers.clear()


def output(response: Any) -> dict[str, Any]:
    """The function's JSON output from the SDK's parsed success answer."""
    assert response.get_status_code() == 200
    answer = response.get_object()
    assert isinstance(answer, SuccessResponse)
    assert answer.get_code().get_value() == "success"
    assert answer.get_message().get_value() == "function executed successfully"
    details = answer.get_details()
    assert details["output_type"] == "string"
    result: dict[str, Any] = json.loads(details["output"])
    return result


def grant_token(app: Emulator) -> str:
    return get_code(Client(app), user="sam@example.com")


def test_sdk_exchanges_a_code_and_executes_functions_three_ways(live, sdk, tmp_path):
    base, app = live
    token = OAuthToken(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        grant_token=grant_token(app),
        redirect_url=REDIRECT,
        find_user=False,
    )
    sdk(base, token)
    assert token.get_access_token().startswith("1000.")
    assert token.get_refresh_token().startswith("1000.")

    by_params = FunctionsOperations("echo", "oauth", {"name": "Ada"})
    params = ParameterMap()
    result = output(by_params.execute_function_using_parameters(params))
    assert result["method"] == "GET"
    assert result["name"] == "Ada"
    # The SDK writes the map as Python's str(dict), not JSON; the emulator binds it.
    assert result["params"]["arguments"] == "{'name': 'Ada'}"
    assert result["user"] == "sam@example.com"

    wrapper = BodyWrapper()
    wrapper.set_body({"Last_Name": "Lovelace"})
    by_body = FunctionsOperations("echo", "oauth")
    result = output(by_body.execute_function_using_request_body(wrapper))
    assert result["method"] == "POST"
    assert json.loads(result["body"]) == {"Last_Name": "Lovelace"}

    upload = tmp_path / "leads.csv"
    upload.write_text("Last_Name\nLovelace\n", encoding="utf-8")
    files = FileBodyWrapper()
    files.set_inputfile(StreamWrapper(file_path=str(upload)))
    by_file = FunctionsOperations("echo", "oauth", {"name": "file"})
    result = output(by_file.execute_function_using_file(files))
    assert result["file"] == "Last_Name\nLovelace\n"
    assert result["name"] == "file"


def test_sdk_parses_errors_and_refreshes_an_expired_token(live, sdk):
    base, app = live
    token = OAuthToken(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        grant_token=grant_token(app),
        redirect_url=REDIRECT,
        find_user=False,
    )
    sdk(base, token)
    refresh_token = token.get_refresh_token()

    app.clock.advance(3601)
    response = FunctionsOperations("echo", "oauth").execute_function_using_parameters()
    assert response.get_status_code() == 401
    error = response.get_object()
    assert isinstance(error, APIException)
    assert error.get_code().get_value() == "INVALID_TOKEN"
    assert error.get_message().get_value() == "invalid oauth token"
    assert error.get_status().get_value() == "error"

    again = OAuthToken(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        refresh_token=refresh_token,
        find_user=False,
    )
    sdk(
        base, again, store="another-run.txt"
    )  # a later run knows the refresh token only
    assert again.get_access_token() not in (None, token.get_access_token())
    response = FunctionsOperations("echo", "oauth").execute_function_using_parameters()
    assert output(response)["user"] == "sam@example.com"

    assert OAuthToken.revoke_refresh_token(
        refresh_token, f"{base}/oauth/v2/token/revoke"
    )
    revoked = OAuthToken(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        refresh_token=refresh_token,
        find_user=False,
    )
    with pytest.raises(SDKException) as caught:
        sdk(base, revoked, store="third-run.txt")
    assert "invalid_code" in str(caught.value)


def test_sdk_reports_a_wrong_client_secret(live, sdk):
    base, app = live
    token = OAuthToken(
        client_id=CLIENT_ID,
        client_secret="f" * 42,
        grant_token=grant_token(app),
        redirect_url=REDIRECT,
        find_user=False,
    )
    with pytest.raises(SDKException) as caught:
        sdk(base, token)
    assert "invalid_client" in str(caught.value)
