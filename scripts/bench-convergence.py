#!/usr/bin/env python3
"""Edit-to-Envoy convergence: how long from writing one file until a running Envoy serves it.

For each size N (default 1,000 and 10,000 routes, scripts/gen-scale.sh inputs), starts two echo
backends and `gatewright serve` with real Envoy, then:

- route edits: rewrites one HTTPRoute file so that its rule matches a new path prefix, and
  polls through Envoy (a kept-alive connection, no sleep) until that path answers 200;
- endpoint edits: rewrites one EndpointSlice so that it points at the other echo backend, and
  polls through Envoy until the answering pod changes.

The clock starts just before the file is renamed into place, so the controller's debounce
(20 ms by default), translation, xDS push and Envoy's update are all inside the figure.
Prints a Markdown table with p50/p99 over EDITS edits (default 20) per kind.

    scripts/bench-convergence.py [N ...]        # uses target/release binaries; see BENCHMARKS.md
    ADS=sotw scripts/bench-convergence.py       # state-of-the-world ADS instead of delta
    SETTLE=3 scripts/bench-convergence.py       # wait 3 s after the first config before editing
    KEEP=1 scripts/bench-convergence.py         # keep the work directory (the serve logs)
"""

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDITS = int(os.environ.get("EDITS", "20"))
# The ADS variant Envoy uses: delta sends only what changed; sotw resends every resource of a type.
ADS = os.environ.get("ADS", "delta")
TIMEOUT = 30.0
SETTLE = float(os.environ.get("SETTLE", "0"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class Envoy:
    """A kept-alive HTTP/1.1 connection through Envoy's listener."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, host, path):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.conn.request("GET", path, headers={"Host": host})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
        return 0, b""

    def wait(self, host, path, check):
        start = time.monotonic()
        while time.monotonic() - start < TIMEOUT:
            status, body = self.get(host, path)
            if check(status, body):
                return True
        return False


def pod_of(body):
    try:
        return json.loads(body).get("pod")
    except ValueError:
        return None


def write(path, text):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def route_yaml(i, prefix):
    return (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        f"metadata: {{name: route-{i}, namespace: default}}\nspec:\n  parentRefs: [{{name: gw}}]\n"
        f'  hostnames: ["host-{i % 5}.example.com"]\n  rules:\n'
        f'  - matches: [{{path: {{type: PathPrefix, value: "{prefix}"}}}}]\n'
        f"    backendRefs: [{{name: svc-{i}, port: 8080}}]\n"
    )


def service_yaml(i, port):
    return (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: default}}\n"
        "spec: {ports: [{name: http, port: 8080}]}\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        f"metadata: {{name: svc-{i}-a, namespace: default, labels: {{kubernetes.io/service-name: svc-{i}}}}}\n"
        f"addressType: IPv4\nports: [{{name: http, port: {port}}}]\n"
        'endpoints: [{addresses: ["127.0.0.1"]}]\n'
    )


def measure(n, bins, envoy_bin, work):
    procs = []
    try:
        echo_ports = [free_port(), free_port()]
        for pod, port in zip(("echo-a", "echo-b"), echo_ports):
            procs.append(
                subprocess.Popen(
                    [bins["echo"], "--listen", f"127.0.0.1:{port}", "--pod", pod],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        listener = free_port()
        cfg = os.path.join(work, f"in-{n}")
        subprocess.run(
            [os.path.join(ROOT, "scripts/gen-scale.sh"), str(n), cfg, str(listener), f"127.0.0.1:{echo_ports[0]}"],
            check=True,
        )
        log = open(os.path.join(work, f"serve-{n}.log"), "w")
        serve = subprocess.Popen(
            [
                bins["gatewright"], "serve", "--config-dir", cfg, "--envoy-path", envoy_bin,
                "--xds-address", f"127.0.0.1:{free_port()}", "--admin-address", f"127.0.0.1:{free_port()}",
                "--listen-address", "127.0.0.1", "--ads", ADS,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(serve)
        envoy = Envoy(listener)
        ready = time.monotonic()
        if not envoy.wait("host-0.example.com", "/svc-0", lambda s, _: s == 200):
            sys.exit(f"Envoy did not serve the {n}-route input within {TIMEOUT}s (see {log.name})")
        first = time.monotonic() - ready
        # Edits start the moment the first config is served unless SETTLE (seconds) says to
        # wait: the first edits after startup are slower (see BENCHMARKS.md).
        time.sleep(SETTLE)

        rng = random.Random(n)
        route_times = []
        for k in range(EDITS):
            i = rng.randrange(n)
            prefix = f"/edit-{k}-{i}"
            path = os.path.join(cfg, "routes", f"route-{i}.yaml")
            start = time.monotonic()
            write(path, route_yaml(i, prefix))
            if not envoy.wait(f"host-{i % 5}.example.com", prefix, lambda s, _: s == 200):
                sys.exit(f"route edit {k} (route-{i}) never reached Envoy")
            route_times.append(time.monotonic() - start)
            time.sleep(0.2)

        endpoint_times = []
        for k in range(EDITS):
            i = rng.randrange(n)
            path = os.path.join(cfg, "services", f"svc-{i}.yaml")
            host = f"host-{i % 5}.example.com"
            # Routes edited above moved their path; this one is served where its file says.
            with open(os.path.join(cfg, "routes", f"route-{i}.yaml")) as f:
                prefix = f.read().split('value: "')[1].split('"')[0]
            _, body = envoy.get(host, prefix)
            now = pod_of(body)
            target, port = ("echo-b", echo_ports[1]) if now != "echo-b" else ("echo-a", echo_ports[0])
            start = time.monotonic()
            write(path, service_yaml(i, port))
            if not envoy.wait(host, prefix, lambda s, b: s == 200 and pod_of(b) == target):
                sys.exit(f"endpoint edit {k} (svc-{i}) never reached Envoy")
            endpoint_times.append(time.monotonic() - start)
            time.sleep(0.2)
        return first, route_times, endpoint_times
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    bins = {b: os.path.join(target, "release", b) for b in ("gatewright", "gatewright-echo")}
    bins["echo"] = bins.pop("gatewright-echo")
    envoy_bin = os.environ.get("GATEWRIGHT_ENVOY") or os.path.join(ROOT, ".venv/bin/envoy")
    for b in list(bins.values()) + [envoy_bin]:
        if not os.access(b, os.X_OK):
            sys.exit(f"{b} is missing: cargo build --release -p gatewright-controller -p gatewright-echo; scripts/install-envoy.sh")
    work = tempfile.mkdtemp(prefix="gatewright-convergence-")
    ms = lambda s: f"{s * 1000:.0f} ms"
    print(f"ADS: {ADS}")
    print(f"| routes | first config served | route edit p50 | route edit p99 | endpoint edit p50 | endpoint edit p99 | edits |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for n in sizes:
            first, routes, endpoints = measure(n, bins, envoy_bin, work)
            print(
                f"| {n} | {ms(first)} | {ms(percentile(routes, 50))} | {ms(percentile(routes, 99))} "
                f"| {ms(percentile(endpoints, 50))} | {ms(percentile(endpoints, 99))} | {EDITS} + {EDITS} |",
                flush=True,
            )
    finally:
        if os.environ.get("KEEP"):
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
