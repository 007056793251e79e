"""Check an MWAA requirements.txt against an Airflow constraints file and the installed distributions.

usage: check_requirements.py REQUIREMENTS CONSTRAINTS; prints {"errors": [...]} (empty when it holds).

- a package listed without a version must be pinned by the constraints (they decide it on MWAA);
- a pinned package must not be in the constraints (a different version makes pip fail);
- a pinned package must be installed here at exactly that version (the tests run what MWAA installs);
- every dependency of a pinned package (markers evaluated for MWAA's Python 3.12 on Linux) must be pinned
  or constrained, at a version its specifier allows; pinned dependencies are followed recursively.
"""

import json
import re
import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

MWAA_ENV = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


def parse_pins(path):
    pinned, unpinned = {}, []
    for raw in open(path, encoding="utf8"):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:==(\S+))?", line)
        if m is None:
            raise SystemExit(f"{path}: cannot read line {raw!r}")
        name = canonicalize_name(m.group(1))
        if m.group(2) is None:
            unpinned.append(name)
        else:
            pinned[name] = m.group(2)
    return pinned, unpinned


def main() -> None:
    requirements, constraints_path = sys.argv[1], sys.argv[2]
    pinned, unpinned = parse_pins(requirements)
    constraints, leftover = parse_pins(constraints_path)
    if leftover:
        raise SystemExit(f"{constraints_path}: unpinned lines {leftover}")
    errors = []
    for name in unpinned:
        if name not in constraints:
            errors.append(f"{name} is listed without a version but the constraints do not pin it")
    for name in pinned:
        if name in constraints:
            errors.append(
                f"{name}=={pinned[name]} is pinned but the constraints decide it ({constraints[name]})"
            )
    todo, seen = list(pinned), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            errors.append(f"{name} is pinned but not installed here")
            continue
        if dist.version != pinned[name]:
            errors.append(f"{name}: installed {dist.version}, requirements.txt pins {pinned[name]}")
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate(MWAA_ENV):
                continue
            dep = canonicalize_name(req.name)
            version = pinned.get(dep) or constraints.get(dep)
            if version is None:
                errors.append(f"{dep} (required by {name}: {spec}) is neither pinned nor in the constraints")
            elif not req.specifier.contains(version, prereleases=True):
                errors.append(f"{name} requires {spec}, but {dep} resolves to {version}")
            elif dep in pinned:
                todo.append(dep)
    json.dump({"errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
