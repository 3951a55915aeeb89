# Return {"crmAPIResponse": {...}} to control the HTTP response itself:
# the status, the Content-Type, extra headers and the body.
import json


def handler(crmAPIRequest):
    try:
        lead = json.loads(crmAPIRequest["body"] or "{}")
    except ValueError:
        return {"crmAPIResponse": {"status_code": 400, "body": {"error": "body is not JSON"}}}
    if not lead.get("Last_Name"):
        return {
            "crmAPIResponse": {
                "status_code": 400,
                "body": {"error": "Last_Name is required"},
            }
        }
    record = {"id": "4150868000001234567", "Last_Name": lead["Last_Name"]}
    return {
        "crmAPIResponse": {
            "status_code": 201,
            "headers": {"Location": "/crm/v8/Leads/" + record["id"]},
            "body": {"data": [record]},
        }
    }
