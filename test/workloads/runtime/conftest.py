"""Runtime tests import Airflow: give them an isolated AIRFLOW_HOME before anything imports it."""

from __future__ import annotations

import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="airflow-home-runtime-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 (pytest hook signature)
    shutil.rmtree(_HOME, ignore_errors=True)
