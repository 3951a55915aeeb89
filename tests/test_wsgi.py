"""emulator.wsgi, the entry point for other WSGI servers (gunicorn 'emulator.wsgi:app')."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
from werkzeug.test import Client
from emulator.wsgi import app
key = "1003.2bbe5f377ea06af5103a21520c1264a7.7efeb069f3bcc541edcb1184592920df"
url = "/crm/v2/functions/hello/actions/execute?auth_type=apikey&zapikey=" + key + "&name=W"
print(Client(app).get(url).json["details"]["output"])
app.close()
"""


def test_the_app_comes_from_the_config_in_the_environment(tmp_path):
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "ZCRM_EMULATOR_CONFIG": str(tmp_path / "config.yaml")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Hello, W!"
