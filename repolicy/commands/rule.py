"""`repolicy rule [NAME...]`: the documentation of checks, as `ruff rule` shows it."""

from __future__ import annotations

import difflib
import sys

from repolicy.checks import REGISTRY, doc
from repolicy.errors import RepolicyError
from repolicy.options import Options


def _summary(text: str) -> str:
    lines = text.splitlines()
    body = []
    for line in lines[1:]:
        if not line.strip():
            break
        body.append(line.strip())
    return " ".join(body)


def run(args: Options) -> int:
    names: list[str] = list(args.names) or list(REGISTRY)
    for name in names:
        if name not in REGISTRY:
            hint = difflib.get_close_matches(name, list(REGISTRY), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise RepolicyError(f"unknown check {name!r}{suggestion} (see `repolicy rule`)")
    if args.format == "json":
        entries = [
            {
                "name": name,
                "severity": REGISTRY[name].severity,
                "reported_by": list(REGISTRY[name].reported_by),
                "doc": doc(name),
            }
            for name in names
        ]
        from repolicy.report import dumps_json

        print(dumps_json(entries))
        return 0
    if not args.names:
        width = max(map(len, REGISTRY))
        for name, info in REGISTRY.items():
            print(f"{name:<{width}}  {info.severity:<7}  {_summary(doc(name))}")
        print("\nrepolicy rule NAME shows what a check means, why it matters and how to fix it.")
        return 0
    for k, name in enumerate(names):
        info = REGISTRY[name]
        if k:
            print()
        used_by = ", ".join(info.reported_by)
        print(f"{name}  (default severity: {info.severity}; reported by: {used_by})")
        print()
        sys.stdout.write(doc(name))
    return 0
