"""The development notebooks: valid, output-free, ruff-clean, and runnable top to bottom in local mode.

They run in order in one temporary workspace (`LLM_NOTEBOOK_MODE=local`), each in a fresh kernel of
the repository's .venv, against the local scripted OpenAI-compatible server (stand-in models).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
VIGGO_DIR = REPO.parent / "shared" / "data" / "viggo"
EXPECTED = [
    "01_explore_data.ipynb",
    "02_deploy_base_model.ipynb",
    "03_baseline_evaluation.ipynb",
    "04_finetune.ipynb",
    "05_deploy_finetuned.ipynb",
    "06_evaluate_and_compare.ipynb",
]


def test_the_development_flow_is_all_there() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_carries_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: commit notebooks without outputs"
            )
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "llm_workloads" in source  # they use the package instead of copying its code


def test_notebooks_are_ruff_clean() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run([str(ruff), *args, "notebooks"], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def _run(path: Path, client_env: dict[str, str]) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=client_env)
    return notebook


def _text(notebook: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
            parts.append(str(output.get("data", {}).get("text/markdown", "")))
    return "\n".join(parts)


def test_notebooks_run_top_to_bottom_in_local_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not VIGGO_DIR.is_dir():
        pytest.skip(f"VIGGO sample not found at {VIGGO_DIR}")
    # The python3 kernelspec runs `python` from PATH: put this interpreter (the .venv's) first.
    venv_bin = str(Path(sys.executable).parent)
    client_env = {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "LLM_NOTEBOOK_MODE": "local",
        "LLM_NOTEBOOK_WORKDIR": str(tmp_path / "workspace"),
        "LLM_VIGGO_DIR": str(VIGGO_DIR),
        "MPLBACKEND": "Agg",
    }
    monkeypatch.setenv("PATH", client_env["PATH"])  # the kernel manager resolves `python` with this PATH
    outputs = {}
    timings = {}
    for path in NOTEBOOKS:
        started = time.perf_counter()
        outputs[path.name] = _text(_run(path, client_env))
        timings[path.name] = round(time.perf_counter() - started, 1)
    print("notebook run times (s):", timings)  # shown with -s; a figure, not a timed assertion
    (tmp_path / "outputs.txt").write_text("\n".join(f"== {k}\n{v}" for k, v in outputs.items()))

    assert "STAND-IN" in outputs["01_explore_data.ipynb"]
    assert "198 distinct records" in outputs["01_explore_data.ipynb"]  # 200 rows, one exact triplicate
    assert all("STAND-IN" in text for text in outputs.values())
    workspace = tmp_path / "workspace"
    for split in ("train", "valid", "test"):
        assert (workspace / "data" / f"{split}.jsonl").stat().st_size > 0
    manifests = list((workspace / "manifests").glob("*.json"))
    assert len(manifests) == 1
    import json

    decision = json.loads((workspace / "decisions" / "finetune-vs-base.json").read_text())
    # Stand-in base model: prose zero-shot (exact match 0); stand-in fine-tune: ~85% exact.
    assert decision["metrics"]["champion"]["exact_match"] == 0.0
    assert decision["metrics"]["challenger"]["exact_match"] > 0.6
    # Notebook 06 requires 50 paired items. The 40 % test share gives 57 of the 198 records with the
    # normalised meaning-group key (whole groups are hashed, so the size moves in steps of a group).
    assert decision["n_items"] >= 50 and decision["decision"] == "promote", decision["reason"]
    assert (workspace / "reports" / "finetune-vs-base" / "report.md").is_file()


def test_kernel_runs_the_venv_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    venv_bin = str(Path(sys.executable).parent)
    path_value = venv_bin + os.pathsep + os.environ.get("PATH", "")
    monkeypatch.setenv("PATH", path_value)
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute(
        env={**os.environ, "PATH": path_value}
    )
    assert notebook.cells[0].outputs[0]["text"].strip() == sys.prefix


def test_anyscale_mode_calls_match_the_installed_sdk() -> None:
    """The anyscale-mode cells cannot run here; check every SDK call and config keyword statically."""
    import ast
    import dataclasses
    import inspect

    import anyscale
    from anyscale.job.models import JobConfig
    from anyscale.service.models import ServiceConfig

    known = {
        "ServiceConfig": {f.name for f in dataclasses.fields(ServiceConfig)},
        "JobConfig": {f.name for f in dataclasses.fields(JobConfig)},
        "anyscale.service.deploy": set(inspect.signature(anyscale.service.deploy).parameters),
        "anyscale.service.wait": set(inspect.signature(anyscale.service.wait).parameters),
        "anyscale.service.status": set(inspect.signature(anyscale.service.status).parameters),
        "anyscale.job.submit": set(inspect.signature(anyscale.job.submit).parameters),
        "anyscale.job.wait": set(inspect.signature(anyscale.job.wait).parameters),
    }
    seen: set[str] = set()
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                if name.startswith("anyscale.") or name in ("ServiceConfig", "JobConfig"):
                    assert name in known, f"{path.name}: unchecked SDK call {name}"
                    keywords = {k.arg for k in node.keywords if k.arg}
                    assert keywords <= known[name], f"{path.name}: {name} has no {keywords - known[name]}"
                    seen.add(name)
    assert {"ServiceConfig", "JobConfig", "anyscale.service.deploy", "anyscale.job.submit"} <= seen
