# GET .../functions/hello/actions/execute?auth_type=apikey&zapikey=...&name=Ada
# A query parameter with the same name as an argument is bound to it.


def handler(name: str = "World"):
    info("greeting", name)
    return f"Hello, {name}!"
