"""The README's example test, run against the sample project (config.yaml at the root).

The `zcrm` fixture comes from zcrm-emulator's pytest plugin.
"""


def test_hello_greets_by_name(zcrm):
    result = zcrm.invoke("hello", params={"name": "Ada"})
    assert result.status == 200
    assert result.output == "Hello, Ada!"
    assert result.user_message == ["greeting Ada"]


def test_add_numbers_from_the_arguments_json(zcrm):
    result = zcrm.invoke("add_numbers", params={"arguments": {"a": 2, "b": 3}})
    assert result.output == {"a": 2, "b": 3, "sum": 5}


def test_create_lead_answers_201_with_a_location(zcrm):
    result = zcrm.invoke("create_lead", json={"Last_Name": "Lovelace"})
    assert result.status == 201
    assert result.headers["Location"] == "/crm/v8/Leads/4150868000001234567"
    assert result.output == {
        "data": [{"id": "4150868000001234567", "Last_Name": "Lovelace"}]
    }


def test_create_lead_needs_a_last_name(zcrm):
    result = zcrm.invoke("create_lead", json={})
    assert (result.status, result.output) == (400, {"error": "Last_Name is required"})


def test_echo_body_sees_the_raw_body_and_the_caller(zcrm):
    result = zcrm.invoke("echo_body", body='{"a": 1}', headers={"Content-Type": "application/json"},
                         user="sam@example.com")  # fmt: skip
    assert result.output["json"] == {"a": 1}
    assert result.output["user"] == "sam@example.com"
