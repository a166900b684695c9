#!/usr/bin/env python3
"""A CI check for Gateway API manifests: fails when the API server would reject an object,
or when a route would not be Accepted with all its references resolved.

    pip install ./bindings-python
    python examples/python/ci_check.py examples/quickstart [--controller-name NAME]

Exit status: 0 when every route is Accepted and ResolvedRefs on every parent, 1 with the
reasons otherwise, 2 when the manifests cannot be read.
"""

from __future__ import annotations

import argparse
import sys

import gatewright

ROUTE_KINDS = {"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}
REQUIRED = ("Accepted", "ResolvedRefs")


def route_problems(objs: list[dict], translation: gatewright.Translation) -> list[str]:
    """Why routes would not serve traffic, one line each."""
    status = {
        (s["kind"], s["metadata"].get("namespace", ""), s["metadata"]["name"]): s["status"]
        for s in translation.status
    }
    problems = []
    for obj in objs:
        if obj["kind"] not in ROUTE_KINDS:
            continue
        meta = obj["metadata"]
        key = (obj["kind"], meta.get("namespace", ""), meta["name"])
        name = "{}/{}/{}".format(*key)
        parents = status.get(key, {}).get("parents", [])
        if not parents:
            problems.append(f"{name}: no parent of this controller accepts it (no status)")
        for parent in parents:
            ref = parent.get("parentRef", {})
            target = ref.get("name", "?") + (f"/{ref['sectionName']}" if "sectionName" in ref else "")
            conditions = {c["type"]: c for c in parent.get("conditions", [])}
            for ctype in REQUIRED:
                c = conditions.get(ctype)
                if c is None:
                    problems.append(f"{name} -> {target}: no {ctype} condition")
                elif c["status"] != "True":
                    problems.append(
                        f"{name} -> {target}: {ctype}={c['status']} {c['reason']}: {c['message']}"
                    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a manifest file or a directory of manifests")
    parser.add_argument("--controller-name", default=None, help="GatewayClass controllerName")
    args = parser.parse_args(argv)

    try:
        objs = gatewright.load(args.path)
    except gatewright.Error as e:
        for d in e.diagnostics or [e]:
            print(f"error: {d}", file=sys.stderr)
        return 2

    invalid = [d for d in gatewright.validate(objs) if d.is_error]
    translation = gatewright.translate(objs, controller_name=args.controller_name)
    problems = [str(d) for d in invalid] + route_problems(objs, translation)
    for p in problems:
        print(f"FAIL {p}")
    routes = sum(1 for o in objs if o["kind"] in ROUTE_KINDS)
    if problems:
        print(f"{len(problems)} problem(s) in {len(objs)} object(s), {routes} route(s)")
        return 1
    print(f"ok: {len(objs)} object(s), {routes} route(s) Accepted with resolved references")
    return 0


if __name__ == "__main__":
    sys.exit(main())
