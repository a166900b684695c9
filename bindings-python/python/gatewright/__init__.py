"""Gatewright: Kubernetes Gateway API (v1.6.1) in, Envoy configuration and Gateway API status out.

The same Rust engine as the ``gatewright`` CLI, with no re-implementation in Python::

    import gatewright

    objs = gatewright.load("examples/quickstart")          # manifests, CRD defaults applied
    problems = gatewright.validate(objs)                     # what the API server would reject
    t = gatewright.translate(objs)                           # Envoy resources + status
    t.xds["default/insecure-port"]["listeners"]              # Envoy's JSON
    t.status                                                  # objects with status
    t.bootstrap("default/insecure-port")                      # runnable `envoy -c` config

Errors are :class:`Error` (base), :class:`ParseError` (unreadable input, syntax errors) and
:class:`ValidationError` (objects that cannot be decoded), each carrying ``.diagnostics``.
"""

from gatewright._native import (
    DEFAULT_CONTROLLER_NAME,
    Diagnostic,
    Error,
    ParseError,
    Translation,
    ValidationError,
    __version__,
    kinds,
    load,
    schema,
    translate,
    validate,
)

__all__ = [
    "DEFAULT_CONTROLLER_NAME",
    "Diagnostic",
    "Error",
    "ParseError",
    "Translation",
    "ValidationError",
    "__version__",
    "kinds",
    "load",
    "schema",
    "translate",
    "validate",
]
