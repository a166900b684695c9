from __future__ import annotations

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"


@pytest.fixture
def quickstart() -> pathlib.Path:
    return QUICKSTART


@pytest.fixture
def quickstart_text() -> str:
    return "\n---\n".join(p.read_text() for p in sorted(QUICKSTART.glob("*.yaml")))


def http_routes(n: int, gateway: str = "insecure-port") -> str:
    """n HTTPRoutes on the quickstart Gateway, each with its own hostname."""
    docs = []
    for i in range(n):
        docs.append(
            f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-{i}
  namespace: default
spec:
  parentRefs:
  - name: {gateway}
  hostnames:
  - host-{i}.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /api/{i}
    backendRefs:
    - name: httpbin
      port: 8000
"""
        )
    return "---\n".join(docs)
