"""Airflow settings for parsing rendered DAGs: isolated AIRFLOW_HOME, no examples, unit-test mode, no DB.

Parsing a DAG file into a DagBag needs neither a metadata database nor a scheduler; these variables are set
before anything imports airflow so the run never touches a developer's ~/airflow.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
