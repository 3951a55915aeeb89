# Arguments come from query or form parameters, or from the JSON object in the
# 'arguments' parameter (as Zoho's SDKs send them). Annotations convert them:
#   ...&a=2&b=3                  -> 5
#   ...&arguments={"a":2,"b":3}  -> 5


def handler(a: int, b: int = 0):
    if a is None:
        return {"error": "pass a, and optionally b, as whole numbers"}
    return {"a": a, "b": b, "sum": a + b}
