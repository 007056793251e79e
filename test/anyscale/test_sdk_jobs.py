"""Jobs submitted through the real SDK run for real in the emulator: the working dir the SDK uploads is
unpacked and the entrypoint runs in it; state, retries, timeouts, terminate and logs follow the processes.

Outcomes are read from outside the job's own code: files it left in its unpacked working dir, its process ids
in /proc, the SDK's status and logs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sdk_harness import LEAK_CANARY, REPO, Emulator, alive, needs_node, wait_until

pytestmark = needs_node

TERMINAL = {"SUCCEEDED", "FAILED", "TERMINATED"}


def submit(
    sdk: Any, compute_config: str, working_dir: Path, name: str, entrypoint: str, **options: Any
) -> str:
    from anyscale.job.models import JobConfig

    return str(
        sdk.job.submit(
            JobConfig(
                name=name,
                max_retries=options.pop("max_retries", 0),
                entrypoint=entrypoint,
                image_uri="anyscale/ray:2.44.0-slim-py311",
                compute_config=compute_config,
                working_dir=str(working_dir),
                requirements=["pyyaml==6.0.2"],
                **options,
            )
        )
    )


def final_status(sdk: Any, job_id: str, timeout_s: float = 30.0) -> Any:
    return wait_until(lambda: sdk.job.status(id=job_id), lambda s: str(s.state) in TERMINAL, timeout_s)


def make_dir(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return folder


def test_a_failing_entrypoint_fails_the_job_and_ran_in_the_unpacked_dir(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    wd = make_dir(tmp_path, "fail_wd", {"input.txt": "uploaded\n"})
    job_id = submit(sdk, compute_config, wd, "exit-3", "touch marker; exit 3", max_retries=0)
    status = final_status(sdk, job_id)
    assert str(status.state) == "FAILED"
    local = emulator.admin(f"jobs/{job_id}")
    unpacked = Path(local["working_dir"])
    assert unpacked != wd and unpacked.is_relative_to(emulator.workdir)
    assert (unpacked / "marker").exists()
    assert (unpacked / "input.txt").read_text() == "uploaded\n"  # the upload, unpacked
    assert [(a["status"], a["exit_code"]) for a in local["attempts"]] == [("FAILED", 3)]


def test_exit_0_succeeds_with_the_env_and_venv_python_and_logs_through_the_sdk(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    script = (
        "import os, sys\n"
        "print('python', sys.executable)\n"
        "for k in ('LLM_LOCAL_STACK', 'ANYSCALE_HOST', 'JOB_SETTING', 'AWS_ENDPOINT_URL', "
        f"'{LEAK_CANARY}'):\n"
        "    print(k, os.environ.get(k))\n"
        "print('token set', bool(os.environ.get('ANYSCALE_CLI_TOKEN')))\n"
        "print('to stderr', file=sys.stderr)\n"
    )
    wd = make_dir(tmp_path, "ok_wd", {"show_env.py": script})
    job_id = submit(
        sdk, compute_config, wd, "exit-0", "python show_env.py", env_vars={"JOB_SETTING": "from-job"}
    )
    status = final_status(sdk, job_id)
    assert str(status.state) == "SUCCEEDED"
    assert [str(r.state) for r in status.runs] == ["SUCCEEDED"]
    logs = sdk.job.get_logs(id=job_id)
    lines = set(logs.splitlines())
    assert f"python {REPO / '.venv' / 'bin' / 'python'}" in lines
    assert "LLM_LOCAL_STACK 1" in lines
    assert f"ANYSCALE_HOST {emulator.url}" in lines
    assert "JOB_SETTING from-job" in lines
    assert "AWS_ENDPOINT_URL http://127.0.0.1:59999" in lines  # the emulator's --job-env
    assert f"{LEAK_CANARY} None" in lines  # nothing else of the emulator's environment
    assert "token set True" in lines
    assert "to stderr" in lines
    assert "emulator: requirements recorded, not installed: pyyaml==6.0.2" in lines


def test_terminate_kills_the_process_group(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    wd = make_dir(tmp_path, "sleep_wd", {"README": "sleeps\n"})
    job_id = submit(
        sdk, compute_config, wd, "sleeper", "sleep 600 & echo $! > child.pid; echo $$ > leader.pid; wait"
    )
    unpacked = wait_until(
        lambda: emulator.admin(f"jobs/{job_id}")["working_dir"],
        lambda d: d is not None and (Path(d) / "child.pid").exists(),
    )
    pids = [int((Path(unpacked) / f).read_text()) for f in ("leader.pid", "child.pid")]
    assert all(alive(p) for p in pids)
    assert str(sdk.job.status(id=job_id).state) == "RUNNING"
    sdk.job.terminate(id=job_id)
    status = final_status(sdk, job_id)
    assert str(status.state) == "TERMINATED"
    wait_until(lambda: [p for p in pids if alive(p)], lambda left: left == [], timeout_s=10)


def test_timeout_s_stops_a_run_that_takes_too_long(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    wd = make_dir(tmp_path, "slow_wd", {"README": "slow\n"})
    started = time.monotonic()
    job_id = submit(sdk, compute_config, wd, "too-slow", "sleep 60", timeout_s=1, max_retries=0)
    status = final_status(sdk, job_id)
    assert str(status.state) == "FAILED"
    assert time.monotonic() - started < 20
    attempts = emulator.admin(f"jobs/{job_id}")["attempts"]
    assert [(a["status"], a["timed_out"]) for a in attempts] == [("FAILED", True)]
    assert "exceeded timeout_s=1" in sdk.job.get_logs(id=job_id)


def test_max_retries_runs_the_entrypoint_again(
    sdk: Any, compute_config: str, emulator: Emulator, tmp_path: Path
) -> None:
    wd = make_dir(tmp_path, "retry_wd", {"README": "retries\n"})
    entrypoint = 'echo run >> runs.txt; echo "attempt $ANYSCALE_JOB_RUN_ID"; exit 1'
    job_id = submit(sdk, compute_config, wd, "flaky", entrypoint, max_retries=2)
    status = final_status(sdk, job_id)
    assert str(status.state) == "FAILED"
    assert [str(r.state) for r in status.runs] == ["FAILED", "FAILED", "FAILED"]
    unpacked = Path(emulator.admin(f"jobs/{job_id}")["working_dir"])
    assert (unpacked / "runs.txt").read_text().splitlines() == ["run", "run", "run"]
    run_ids = [a["id"] for a in emulator.admin(f"jobs/{job_id}")["attempts"]]
    assert f"attempt {run_ids[-1]}" in sdk.job.get_logs(id=job_id)  # the last run by default
    first = sdk.job.get_logs(id=job_id, run=status.runs[0].name)
    assert f"attempt {run_ids[0]}" in first and f"attempt {run_ids[-1]}" not in first


def test_a_retry_that_succeeds_ends_succeeded(sdk: Any, compute_config: str, tmp_path: Path) -> None:
    wd = make_dir(tmp_path, "second_time_wd", {"README": "x\n"})
    # Fails the first time (no marker yet), succeeds the second.
    job_id = submit(
        sdk, compute_config, wd, "second-time", "test -f seen || { touch seen; exit 7; }", max_retries=1
    )
    status = final_status(sdk, job_id)
    assert str(status.state) == "SUCCEEDED"
    assert [str(r.state) for r in status.runs] == ["FAILED", "SUCCEEDED"]
