"""The real `astro-provider-anyscale` operators against the emulator, as an Airflow worker runs them.

The provider's hook reads only the connection's password as the token and takes the host from ANYSCALE_HOST,
which the SDK reads at import time, so the operators run in a fresh interpreter with that environment (an
Airflow connection from AIRFLOW_CONN_*, no metadata database needed). `execute()` submits and polls until
the job or service is done, exactly as in a task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sdk_harness import REPO, TOKEN, Emulator, needs_node

pytestmark = needs_node

SCRIPT = r"""
import json, sys
from airflow.exceptions import AirflowException
from anyscale_provider.operators.anyscale import RolloutAnyscaleService, SubmitAnyscaleJob

args = json.loads(sys.argv[1])
common = dict(conn_id="anyscale_emu", image_uri="anyscale/ray:2.44.0-slim-py311",
              compute_config=args["compute_config"], working_dir=args["working_dir"], poll_interval=0.2,
              do_xcom_push=False)
out = {}
ok = SubmitAnyscaleJob(task_id="ok", name="provider-ok", entrypoint="python -c 'print(42)'", max_retries=0,
                       **common)
out["ok_job"] = ok.execute(context=None)
try:
    SubmitAnyscaleJob(task_id="bad", name="provider-bad", entrypoint="touch marker; exit 3", max_retries=0,
                      **common).execute(context=None)
    out["bad_job"] = "did not raise"
except AirflowException as error:
    out["bad_job"] = str(error)
rollout = RolloutAnyscaleService(
    task_id="serve", name="provider-svc", query_auth_token_enabled=True,
    applications=[{"name": "llm", "import_path": "llm_workloads.serve_app:build_app",
                   "args": {"model_id": "m", "lora_root": "s3://b/lora"}}],
    service_rollout_timeout_seconds=60, **common)
out["service"] = rollout.execute(context=None)
print(json.dumps(out))
"""


def test_submit_and_rollout_operators_run_against_the_emulator(
    emulator: Emulator, compute_config: str, tmp_path: Path, sdk: object
) -> None:
    wd = tmp_path / "provider_wd"
    wd.mkdir()
    (wd / "README").write_text("provider working dir\n")
    env = {
        **os.environ,
        "ANYSCALE_HOST": emulator.url,
        "AIRFLOW_CONN_ANYSCALE_EMU": json.dumps({"conn_type": "anyscale", "password": TOKEN}),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }
    env.pop("ANYSCALE_CLI_TOKEN", None)  # the connection's password is the only credential
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            json.dumps({"compute_config": compute_config, "working_dir": str(wd)}),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(sdk.job.status(id=out["ok_job"]).state) == "SUCCEEDED"  # type: ignore[attr-defined]
    assert out["bad_job"].endswith("failed.")
    service = sdk.service.status(name="provider-svc")  # type: ignore[attr-defined]
    assert (service.id, str(service.state)) == (out["service"], "RUNNING")
    sdk.service.terminate(name="provider-svc")  # type: ignore[attr-defined]
