"""Load compute-config specs and REST bodies through the installed anyscale SDK's own models.

stdin: JSON list of {"source", "spec", "rest"}; `spec` goes through `ComputeConfig.from_dict` (what
`anyscale compute-config create -f` does), `rest` (a CreateComputeTemplate body) through the generated REST
client's models, nested node types included. stdout: {"results": [{"source", "error"}] (error null when it
loads), "fields": the model's top-level field names}.
"""

import dataclasses
import json
import sys

from anyscale.client.openapi_client import models as rest
from anyscale.compute_config.models import ComputeConfig


def _node(cls, body):
    resources = body.get("resources")
    args = dict(body)
    if resources is not None:
        args["resources"] = rest.Resources(**resources)
    return cls(**args)


def _rest(body):
    config = dict(body["config"])
    config["head_node_type"] = _node(rest.ComputeNodeType, config["head_node_type"])
    workers = config.get("worker_node_types")
    if workers is not None:
        config["worker_node_types"] = [_node(rest.WorkerNodeType, w) for w in workers]
    deployments = []
    for d in config.get("deployment_configs", []):
        d = dict(d)
        d["head_node_type"] = _node(rest.ComputeNodeType, d["head_node_type"])
        if d.get("worker_node_types") is not None:
            d["worker_node_types"] = [_node(rest.WorkerNodeType, w) for w in d["worker_node_types"]]
        deployments.append(rest.CloudDeploymentComputeConfig(**d))
    config["deployment_configs"] = deployments
    rest.CreateComputeTemplate(**{**body, "config": rest.CreateComputeTemplateConfig(**config)})


def main() -> None:
    out = []
    for item in json.load(sys.stdin):
        error = None
        try:
            ComputeConfig.from_dict(item["spec"])
            if item.get("rest") is not None:
                _rest(item["rest"])
        except Exception as e:  # noqa: BLE001 - the message is the result
            error = f"{type(e).__name__}: {e}"
        out.append({"source": item["source"], "error": error})
    fields = sorted(f.name for f in dataclasses.fields(ComputeConfig))
    json.dump({"results": out, "fields": fields}, sys.stdout)


if __name__ == "__main__":
    main()
