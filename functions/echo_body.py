# POST a JSON body; crmAPIRequest carries the raw body text, byte for byte,
# with the query parameters, the lower-cased headers and the calling user.
import json


def handler(crmAPIRequest):
    body = crmAPIRequest["body"]
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    info("method", crmAPIRequest["method"], "auth", crmAPIRequest["auth_type"])
    return {
        "json": data,
        "raw_length": len(body),
        "params": crmAPIRequest["params"],
        "content_type": crmAPIRequest["headers"].get("content-type"),
        "user": crmAPIRequest["user_info"]["email"],
    }
