"""Airflow settings for parsing rendered DAGs: isolated AIRFLOW_HOME, no examples, unit-test mode, no DB.

Parsing a DAG file into a DagBag needs neither a metadata database nor a scheduler; these variables are set
before anything imports airflow so the run never touches a developer's ~/airflow.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 (pytest hook signature)
    """Remove the temporary AIRFLOW_HOME this conftest created (logs, config) when the session ends."""
    shutil.rmtree(_HOME, ignore_errors=True)
