from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import gatewright
from conftest import ROOT, http_routes

GATEWAY = "default/insecure-port"


def conditions(status: dict, kind: str, name: str) -> list[dict]:
    for s in status:
        if s["kind"] == kind and s["metadata"]["name"] == name:
            if "parents" in s["status"]:
                return [c for p in s["status"]["parents"] for c in p["conditions"]]
            return s["status"]["conditions"]
    raise AssertionError(f"no status for {kind} {name}")


def condition(status: list[dict], kind: str, name: str, ctype: str) -> dict:
    return next(c for c in conditions(status, kind, name) if c["type"] == ctype)


# --- package surface -------------------------------------------------------------------


def test_exception_hierarchy():
    assert issubclass(gatewright.Error, Exception)
    assert issubclass(gatewright.ParseError, gatewright.Error)
    assert issubclass(gatewright.ValidationError, gatewright.Error)
    assert gatewright.Error.__module__ == "gatewright"
    assert len(gatewright.Error("raised by a caller").diagnostics) == 0


def test_typed_package_ships_stubs():
    pkg = pathlib.Path(gatewright.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_native.pyi").exists()
    assert gatewright.translate.__doc__ and "GIL" in gatewright.translate.__doc__
    assert gatewright.__version__


# --- load ------------------------------------------------------------------------------


def test_load_directory_applies_defaults(quickstart):
    objs = gatewright.load(str(quickstart))
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == ["EndpointSlice", "Gateway", "GatewayClass", "HTTPRoute", "Service"]
    route = next(o for o in objs if o["kind"] == "HTTPRoute")
    ref = route["spec"]["parentRefs"][0]
    assert ref["group"] == "gateway.networking.k8s.io" and ref["kind"] == "Gateway"


def test_load_accepts_pathlike_text_and_dicts(quickstart, quickstart_text):
    by_path = gatewright.load(quickstart)
    by_text = gatewright.load(quickstart_text)
    by_dicts = gatewright.load(by_text)
    assert by_path == by_text == by_dicts
    assert gatewright.load(by_text[0]) == by_text[:1]
    assert gatewright.load(json.dumps(by_text[0])) == by_text[:1]


def test_bad_yaml_raises_parse_error():
    with pytest.raises(gatewright.ParseError) as e:
        gatewright.load("apiVersion: v1\nkind: Service\nmetadata: {name: [\n")
    [d] = e.value.diagnostics
    assert d.severity == "error"
    assert d.message.startswith("YAML syntax error at <string>:3:")
    with pytest.raises(gatewright.ParseError):
        gatewright.translate("kind: [")


def test_missing_path_raises_parse_error(tmp_path):
    with pytest.raises(gatewright.ParseError, match="cannot read"):
        gatewright.load(tmp_path / "missing")


def test_undecodable_object_raises_validation_error(quickstart_text):
    text = quickstart_text.replace("port: 8080", "port: eighty")
    with pytest.raises(gatewright.ValidationError) as e:
        gatewright.translate(text)
    [d] = e.value.diagnostics
    assert (d.kind, d.name, d.path) == ("Gateway", "insecure-port", "spec.listeners[0].port")


def test_wrong_argument_type_is_type_error():
    with pytest.raises(TypeError):
        gatewright.load(42)
    with pytest.raises(TypeError):
        gatewright.load([{"kind": "Service"}, "x"])


# --- validate --------------------------------------------------------------------------


def test_validate_valid_manifests(quickstart):
    assert gatewright.validate(quickstart) == []


def test_validate_reports_crd_message(quickstart_text):
    objs = gatewright.load(quickstart_text)
    route = next(o for o in objs if o["kind"] == "HTTPRoute")
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "api"
    [d] = gatewright.validate(objs)
    assert isinstance(d, gatewright.Diagnostic)
    assert (d.kind, d.namespace, d.name) == ("HTTPRoute", "default", "httpbin")
    assert d.path == "spec.rules[0].matches[0].path"
    assert d.message == (
        "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"
    )
    assert d.severity == "error" and d.is_error
    assert d.to_dict()["message"] == d.message
    assert "HTTPRoute/default/httpbin" in str(d)


def test_validate_reports_syntax_errors_and_channels():
    [d] = gatewright.validate("kind: [")
    assert d.is_error and d.kind == ""
    with pytest.raises(ValueError):
        gatewright.validate([], channel="beta")
    assert gatewright.validate([], channel="experimental") == []


# --- translate -------------------------------------------------------------------------


def test_translate_quickstart(quickstart):
    t = gatewright.translate(quickstart)
    assert t.gateways == [GATEWAY]
    xds = t.xds[GATEWAY]
    assert sorted(xds) == ["clusters", "endpoints", "listeners", "routes", "secrets"]
    [listener] = xds["listeners"]
    assert listener["name"] == f"{GATEWAY}/8080"
    assert listener["address"]["socket_address"]["port_value"] == 8080
    assert [c["name"] for c in xds["clusters"]] == ["default/httpbin/8000"]
    [cla] = xds["endpoints"]
    addr = cla["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert addr == {"address": "127.0.0.1", "port_value": 3000}
    vhosts = xds["routes"][0]["virtual_hosts"]
    assert [v["domains"] for v in vhosts] == [["www.example.com", "www.example.com:*"]]

    status = t.status
    assert condition(status, "GatewayClass", "my-envoy-gateway", "Accepted")["status"] == "True"
    assert condition(status, "Gateway", "insecure-port", "Programmed")["status"] == "True"
    for ctype in ("Accepted", "ResolvedRefs"):
        assert condition(status, "HTTPRoute", "httpbin", ctype)["status"] == "True"
    assert t.diagnostics == []


def test_translation_renderings(quickstart):
    t = gatewright.translate(quickstart)
    doc = t.to_dict()
    assert json.loads(t.to_json()) == doc
    assert doc["xds"] == t.xds and doc["status"] == t.status
    yaml = t.to_yaml()
    assert "kind: HTTPRoute" in yaml and "www.example.com" in yaml
    boot = t.bootstrap(GATEWAY)
    assert boot["static_resources"]["listeners"][0]["name"] == f"{GATEWAY}/8080"
    with pytest.raises(gatewright.Error, match="no Gateway default/nope"):
        t.bootstrap("default/nope")


def test_same_output_as_cli(quickstart):
    """The package and `gatewright translate -o json` print the same document."""
    cli_bin = ROOT / "target" / "debug" / "gatewright"
    if not cli_bin.exists():
        pytest.skip("the CLI is not built (scripts/test.sh builds it first)")
    sources = [*(ROOT / "core").rglob("*.rs"), *(ROOT / "examples" / "controller").rglob("*.rs")]
    if cli_bin.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        pytest.skip("the CLI binary is older than the sources (scripts/test.sh rebuilds it)")
    cli = subprocess.run(
        [str(cli_bin), "translate", "-f", str(quickstart), "-o", "json"],
        check=True, capture_output=True, text=True,
    )
    assert cli.stdout == gatewright.translate(quickstart).to_json()


def test_controller_name_selects_gateway_classes(quickstart):
    t = gatewright.translate(quickstart, controller_name="example.com/other")
    assert t.gateways == [] and t.xds == {}


def test_rejected_route(quickstart):
    objs = gatewright.load(quickstart)
    route = next(o for o in objs if o["kind"] == "HTTPRoute")
    route["spec"]["parentRefs"][0]["sectionName"] = "https"
    t = gatewright.translate(objs)
    accepted = condition(t.status, "HTTPRoute", "httpbin", "Accepted")
    assert accepted["status"] == "False"
    assert accepted["reason"] == "NoMatchingParent"
    assert "https" in accepted["message"]
    # A route no listener accepts puts nothing into the proxy's route table.
    assert all(not rc.get("virtual_hosts") for rc in t.xds[GATEWAY]["routes"])


def test_unknown_kinds_are_warnings(quickstart_text):
    text = quickstart_text + "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
    t = gatewright.translate(text)
    [d] = t.diagnostics
    assert d.severity == "warning" and d.kind == "Pod"


def test_large_input(quickstart_text):
    n = 1000
    t = gatewright.translate(quickstart_text + "\n---\n" + http_routes(n))
    routes = [s for s in t.status if s["kind"] == "HTTPRoute"]
    assert len(routes) == n + 1
    assert all(
        c["status"] == "True" for s in routes for p in s["status"]["parents"] for c in p["conditions"]
    )
    vhosts = t.xds[GATEWAY]["routes"][0]["virtual_hosts"]
    assert len(vhosts) == n + 1
    listener = condition(t.status, "Gateway", "insecure-port", "Programmed")
    assert listener["status"] == "True"


def test_thread_safety(quickstart_text):
    text = quickstart_text + "\n---\n" + http_routes(200)
    expected = gatewright.translate(text).to_json()

    def run(i: int) -> str:
        # Alternate input forms so threads share no Python objects.
        return gatewright.translate(text if i % 2 else gatewright.load(text)).to_json()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(8)))
    assert all(r == expected for r in results)


# --- schema ----------------------------------------------------------------------------


def test_schema():
    s = gatewright.schema("httproute")
    assert s["type"] == "object" and "spec" in s["properties"]
    assert "HTTPRoute" in gatewright.kinds()
    with pytest.raises(ValueError, match="known kinds"):
        gatewright.schema("Ingress")


# --- the example CI check --------------------------------------------------------------


def run_ci_check(path: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / "ci_check.py"), str(path)],
        capture_output=True, text=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def test_ci_check_passes_quickstart(quickstart):
    r = run_ci_check(quickstart)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok:")


def test_ci_check_fails_rejected_route(quickstart, tmp_path):
    for p in quickstart.glob("*.yaml"):
        text = p.read_text().replace("  - name: insecure-port\n", "  - name: insecure-port\n    sectionName: https\n")
        (tmp_path / p.name).write_text(text)
    r = run_ci_check(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "HTTPRoute/default/httpbin -> insecure-port/https: Accepted=False NoMatchingParent" in r.stdout


def test_ci_check_reports_unreadable_manifests(tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: [\n")
    r = run_ci_check(tmp_path)
    assert r.returncode == 2
    assert "YAML syntax error" in r.stderr


def test_translate_releases_the_gil(quickstart_text):
    """While one thread translates, another keeps running Python code."""
    import threading
    import time

    text = quickstart_text + "\n---\n" + http_routes(1000)
    done = threading.Event()
    took: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        gatewright.translate(text)
        took.append(time.perf_counter() - start)
        done.set()

    worker = threading.Thread(target=work)
    last = time.perf_counter()
    longest_pause = 0.0
    worker.start()
    while not done.is_set():
        now = time.perf_counter()
        longest_pause = max(longest_pause, now - last)
        last = now
    worker.join()
    # Holding the GIL would stop this loop for the whole translation.
    assert longest_pause < took[0] / 2, (longest_pause, took[0])
