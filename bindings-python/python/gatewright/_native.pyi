"""Type stubs of the native module (re-exported by ``gatewright``)."""

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, final

__version__: Final[str]
DEFAULT_CONTROLLER_NAME: Final[str]
"""The ``controllerName`` whose GatewayClasses ``translate`` handles by default."""

Manifest = dict[str, Any]
Input = str | bytes | os.PathLike[str] | Mapping[str, Any] | Iterable[Mapping[str, Any]]
"""YAML/JSON text, a path to a file or directory, bytes, one manifest, or several."""

class Error(Exception):
    """Base class of every gatewright error."""

    diagnostics: Sequence[Diagnostic]
    """The problems found (a list; empty when the error is not about the input's content)."""

class ParseError(Error):
    """Unreadable input: a missing path, a YAML/JSON syntax error, a document that is not an object."""

class ValidationError(Error):
    """An object could not be decoded (e.g. a field of the wrong type)."""

@final
class Diagnostic:
    """One problem, in the shape ``gatewright validate -o json`` prints."""

    @property
    def kind(self) -> str:
        """Kind of the object (``HTTPRoute``), empty when the document had none."""
    @property
    def namespace(self) -> str:
        """Namespace, empty for cluster-scoped kinds and unreadable documents."""
    @property
    def name(self) -> str:
        """Object name, empty when unknown."""
    @property
    def path(self) -> str:
        """Field path such as ``spec.rules[0].matches[0].path``; empty for whole-object problems."""
    @property
    def message(self) -> str:
        """What the API server would have said (for CRD rules, the CRD's own message)."""
    @property
    def severity(self) -> Literal["error", "warning"]: ...
    @property
    def file(self) -> str | None:
        """The file (or ``<string>``, ``<objects[i]>``) the object was read from."""
    @property
    def line(self) -> int | None:
        """The 1-based line where the object's document starts."""
    @property
    def is_error(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """The diagnostic as the CLI's JSON object."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Translation:
    """The result of :func:`translate`."""

    @property
    def xds(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Per Gateway (``namespace/name``): ``listeners``, ``routes``, ``clusters``,
        ``endpoints``, ``secrets`` as Envoy's JSON (private keys redacted)."""
    @property
    def status(self) -> list[dict[str, Any]]:
        """Every object with status (``apiVersion``, ``kind``, ``metadata``, ``status``)."""
    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Warnings: skipped unknown kinds, accepted input the engine does not act on."""
    @property
    def gateways(self) -> list[str]:
        """The Gateways (``namespace/name``) that have a proxy configuration."""
    def bootstrap(self, gateway: str, *, bind_address: str = "0.0.0.0") -> dict[str, Any]:
        """A static Envoy config for one Gateway (runnable with ``envoy -c``); raises
        :class:`Error` for an unknown Gateway."""
    def to_dict(self) -> dict[str, Any]:
        """``{"xds": ..., "status": ...}`` (plus ``diagnostics`` when any)."""
    def to_json(self) -> str:
        """As ``gatewright translate -o json`` prints it."""
    def to_yaml(self) -> str:
        """As ``gatewright translate`` prints it."""

def load(text_or_path: Input) -> list[Manifest]:
    """Manifests as dicts, with the CRD defaults applied; unknown kinds are skipped.

    A ``str`` naming an existing file or directory is read as one; any other ``str`` is
    YAML/JSON text. Raises :class:`ParseError` or :class:`ValidationError`."""

def validate(
    objs_or_text: Input, *, channel: Literal["standard", "experimental"] = "standard"
) -> list[Diagnostic]:
    """Every problem, as ``gatewright validate`` reports it: syntax errors, undecodable
    objects, skipped unknown kinds, and what a Kubernetes API server with the Gateway API
    CRDs would reject. Raises :class:`ParseError` only when a path cannot be read."""

def translate(objs_or_text: Input, *, controller_name: str | None = None) -> Translation:
    """Envoy configuration and Gateway API status, as ``gatewright translate``.

    Releases the GIL while the engine runs. Raises :class:`ParseError` or
    :class:`ValidationError`."""

def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a kind (case-insensitive); raises ``ValueError`` for unknown kinds."""

def kinds() -> list[str]:
    """The kinds the engine reads."""
