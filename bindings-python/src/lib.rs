//! Python bindings of the gatewright engine: `import gatewright`.
//!
//! Everything here is glue: input is read into the core's own loader (so CRD defaults and
//! diagnostics are the CLI's), the engine runs with the GIL released and behind
//! `catch_unwind`, and its JSON values become Python dicts and lists.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use gatewright::diagnostic::Severity;
use gatewright::load::{files, parse_str, LoadResult, Loaded};
use gatewright::output::{self, DocumentOptions};
use gatewright::validate::Channel;
use gatewright::{Kind, Object, Snapshot};
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString};
use serde_json::Value;

pyo3::create_exception!(
    gatewright,
    Error,
    PyException,
    "Base class of every gatewright error; `.diagnostics` lists the problems (may be empty)."
);
pyo3::create_exception!(
    gatewright,
    ParseError,
    Error,
    "The input could not be read: unreadable path, YAML/JSON syntax error, a document that is not an object."
);
pyo3::create_exception!(
    gatewright,
    ValidationError,
    Error,
    "An object could not be decoded (e.g. a field of the wrong type); `.diagnostics` names the fields."
);

/// One problem found in the input, in the shape `gatewright validate -o json` prints.
#[pyclass(frozen, eq, hash, module = "gatewright", name = "Diagnostic")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyDiagnostic {
    inner: gatewright::Diagnostic,
}

#[pymethods]
impl PyDiagnostic {
    /// Kind of the object (`HTTPRoute`), empty when the document had none.
    #[getter]
    fn kind(&self) -> &str {
        &self.inner.kind
    }

    /// Namespace, empty for cluster-scoped kinds and unreadable documents.
    #[getter]
    fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Object name, empty when unknown.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// Field path such as `spec.rules[0].matches[0].path`; empty for whole-object problems.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }

    /// What the API server would have said (for CRD rules, the CRD's own message).
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    /// `"error"` or `"warning"`.
    #[getter]
    fn severity(&self) -> &'static str {
        match self.inner.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// The file (or `<string>`, `<objects[i]>`) the object was read from, when known.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.inner.source.as_ref().map(|s| s.file.as_str())
    }

    /// The 1-based line where the object's document starts, when known.
    #[getter]
    fn line(&self) -> Option<usize> {
        self.inner.source.as_ref().map(|s| s.line)
    }

    /// Whether this is an error (as opposed to a warning).
    #[getter]
    fn is_error(&self) -> bool {
        self.inner.severity == Severity::Error
    }

    /// The diagnostic as a dict (the JSON shape of the CLI).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.inner)
            .map_err(|e| Error::new_err(format!("cannot render diagnostic: {e}")))?;
        to_py(py, &v)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        Ok(format!(
            "Diagnostic(kind={}, namespace={}, name={}, path={}, message={}, severity={})",
            r(&self.inner.kind)?,
            r(&self.inner.namespace)?,
            r(&self.inner.name)?,
            r(&self.inner.path)?,
            r(&self.inner.message)?,
            r(self.severity())?,
        ))
    }
}

/// The result of a translation: Envoy resources per Gateway and the Gateway API status.
#[pyclass(frozen, module = "gatewright", name = "Translation")]
pub struct PyTranslation {
    inner: gatewright::Translation,
    /// The CLI's document: `xds`, `status` and (when any) `diagnostics`.
    doc: Value,
    /// Load warnings (skipped unknown kinds) followed by the translation's own diagnostics.
    diagnostics: Vec<gatewright::Diagnostic>,
}

#[pymethods]
impl PyTranslation {
    /// Per Gateway (`namespace/name`): `listeners`, `routes`, `clusters`, `endpoints` and
    /// `secrets`, each a list of Envoy resources in Envoy's JSON form (private keys redacted).
    /// A new dict on each access.
    #[getter]
    fn xds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.doc.get("xds").unwrap_or(&Value::Null))
    }

    /// Every object this controller writes status for (`apiVersion`, `kind`, `metadata`,
    /// `status`), sorted by kind, namespace and name. A new list on each access.
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.doc.get("status").unwrap_or(&Value::Null))
    }

    /// Warnings about the input: skipped unknown kinds, and accepted input the engine ignores.
    #[getter]
    fn diagnostics(&self) -> Vec<PyDiagnostic> {
        self.diagnostics
            .iter()
            .cloned()
            .map(|inner| PyDiagnostic { inner })
            .collect()
    }

    /// The Gateways (`namespace/name`) that have a proxy configuration.
    #[getter]
    fn gateways(&self) -> Vec<String> {
        self.inner.gateways.keys().cloned().collect()
    }

    /// A complete static Envoy config for one Gateway (`namespace/name`), runnable as
    /// `envoy -c`: the same as `gatewright translate -t bootstrap --gateway NS/NAME`.
    /// Unlike `xds`, it carries the TLS private keys.
    #[pyo3(signature = (gateway, *, bind_address = "0.0.0.0"))]
    fn bootstrap<'py>(
        &self,
        py: Python<'py>,
        gateway: &str,
        bind_address: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = &self.inner;
        let v = run(py, || {
            output::static_bootstrap(t, gateway, bind_address)
                .map_err(|e| Failure::Other(e.to_string()))
        })?;
        to_py(py, &v)
    }

    /// The whole document (`xds`, `status`, and `diagnostics` when any) as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.doc)
    }

    /// The document as JSON, exactly as `gatewright translate -o json` prints it.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let doc = &self.doc;
        run(py, || {
            serde_json::to_string_pretty(doc)
                .map(|s| s + "\n")
                .map_err(|e| Failure::Other(format!("cannot render JSON: {e}")))
        })
    }

    /// The document as YAML, exactly as `gatewright translate` prints it.
    fn to_yaml(&self, py: Python<'_>) -> PyResult<String> {
        let doc = &self.doc;
        run(py, || {
            serde_saphyr::to_string(doc)
                .map_err(|e| Failure::Other(format!("cannot render YAML: {e}")))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "<Translation gateways={:?} status={} diagnostics={}>",
            self.inner.gateways.keys().collect::<Vec<_>>(),
            self.inner.status.len(),
            self.diagnostics.len()
        )
    }
}

/// What a call was given, copied out of Python objects so the engine can run without the GIL.
enum Input {
    /// Files or directories.
    Paths(Vec<PathBuf>),
    /// YAML or JSON text, with the label diagnostics name as its file.
    Text(String, String),
    /// Bytes (checked for UTF-8 by the loader).
    Bytes(Vec<u8>, String),
    /// One JSON document per object.
    Documents(Vec<(String, String)>),
}

/// Why a call failed, before it becomes a Python exception.
enum Failure {
    /// The input could not be read at all.
    Read(String),
    /// Syntax errors and documents that are not objects.
    Parse(Vec<gatewright::Diagnostic>),
    /// Objects that could not be decoded.
    Invalid(Vec<gatewright::Diagnostic>),
    /// Anything else (rendering, unknown Gateway, a panic in the engine).
    Other(String),
}

impl Failure {
    fn into_py_err(self, py: Python<'_>) -> PyErr {
        let (err, diagnostics) = match self {
            Failure::Read(m) => (ParseError::new_err(m), Vec::new()),
            Failure::Parse(d) => (ParseError::new_err(summary(&d)), d),
            Failure::Invalid(d) => (ValidationError::new_err(summary(&d)), d),
            Failure::Other(m) => (Error::new_err(m), Vec::new()),
        };
        let list: Vec<PyDiagnostic> = diagnostics
            .into_iter()
            .map(|inner| PyDiagnostic { inner })
            .collect();
        if let Err(e) = err.value(py).setattr("diagnostics", list) {
            return e;
        }
        err
    }
}

fn summary(d: &[gatewright::Diagnostic]) -> String {
    match d {
        [] => "invalid input".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

/// Runs engine code with the GIL released; a panic becomes `gatewright.Error`.
fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, Failure> + Send,
{
    let result = py.detach(|| {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Failure::Other(format!(
                "internal error in the gatewright engine: {what}"
            )))
        })
    });
    result.map_err(|f| f.into_py_err(py))
}

/// Copies a `text_or_path` / objects argument out of Python.
fn input(obj: &Bound<'_, PyAny>) -> PyResult<Input> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_str()?.to_string();
        let looks_like_path = !s.is_empty() && !s.contains('\n') && Path::new(&s).exists();
        return Ok(if looks_like_path {
            Input::Paths(vec![PathBuf::from(s)])
        } else {
            Input::Text(s, "<string>".into())
        });
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Input::Bytes(b.as_bytes().to_vec(), "<bytes>".into()));
    }
    if obj.hasattr("__fspath__")? {
        let p: PathBuf = py.import("os")?.call_method1("fspath", (obj,))?.extract()?;
        return Ok(Input::Paths(vec![p]));
    }
    let dumps = py.import("json")?.getattr("dumps")?;
    if obj.cast::<PyDict>().is_ok() {
        let text: String = dumps.call1((obj,))?.extract()?;
        return Ok(Input::Documents(vec![(text, "<object>".into())]));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected YAML/JSON text, a path, a dict or a list of dicts, not {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut docs = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        if item.cast::<PyDict>().is_err() {
            return Err(PyTypeError::new_err(format!(
                "objects[{i}] is a {}, expected a dict (a Kubernetes manifest)",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )));
        }
        let text: String = dumps.call1((&item,))?.extract()?;
        docs.push((text, format!("<objects[{i}]>")));
    }
    Ok(Input::Documents(docs))
}

/// Reads the input through the core's loader (CRD defaults applied).
fn read(input: Input) -> Result<LoadResult, Failure> {
    Ok(match input {
        Input::Paths(p) => files::load_paths(&p).map_err(|e| Failure::Read(e.to_string()))?,
        Input::Text(t, label) => parse_str(&t, &label),
        Input::Bytes(b, label) => files::load_bytes(&b, &label),
        Input::Documents(docs) => {
            let mut out = LoadResult::default();
            for (text, label) in docs {
                out.extend(parse_str(&text, &label));
            }
            out
        }
    })
}

/// Errors without a kind are syntax errors (the document was not an object).
fn syntax_errors(r: &LoadResult) -> Vec<gatewright::Diagnostic> {
    r.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.kind.is_empty())
        .cloned()
        .collect()
}

/// The objects, or the load errors as a failure; warnings are returned alongside.
fn objects(r: LoadResult) -> Result<(Vec<Loaded>, Vec<gatewright::Diagnostic>), Failure> {
    let syntax = syntax_errors(&r);
    if !syntax.is_empty() {
        return Err(Failure::Parse(syntax));
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = r
        .diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(Failure::Invalid(errors));
    }
    Ok((r.objects, warnings))
}

/// Converts a JSON value into Python dicts, lists, strings, numbers, booleans and None.
fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

fn channel(name: &str) -> PyResult<Channel> {
    match name {
        "standard" => Ok(Channel::Standard),
        "experimental" => Ok(Channel::Experimental),
        other => Err(PyValueError::new_err(format!(
            "channel must be \"standard\" or \"experimental\", not {other:?}"
        ))),
    }
}

/// Loads manifests and returns them as dicts, with the CRD defaults applied.
///
/// `text_or_path` is YAML (multi-document) or JSON text, a file or directory path
/// (a `str` naming an existing path, or any `os.PathLike`), bytes, a dict, or a list of
/// dicts. Directories are read recursively (`.yaml`, `.yml`, `.json`; hidden entries
/// skipped). Unknown kinds are skipped. Raises `ParseError` on unreadable input and syntax
/// errors, `ValidationError` when an object cannot be decoded.
#[pyfunction]
fn load<'py>(py: Python<'py>, text_or_path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let input = input(text_or_path)?;
    let values = run(py, || {
        let (objects, _) = objects(read(input)?)?;
        objects
            .iter()
            .map(|l| serde_json::to_value(&l.object))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Other(format!("cannot render object: {e}")))
    })?;
    let list = PyList::empty(py);
    for v in &values {
        list.append(to_py(py, v)?)?;
    }
    Ok(list.into_any())
}

/// Validates manifests as a Kubernetes API server with the Gateway API v1.6.1 CRDs would.
///
/// Takes what `load` takes. Returns every problem, errors and warnings, as
/// `gatewright validate` prints them: syntax errors, objects that could not be decoded,
/// skipped unknown kinds, and what the API server would reject; an empty list means every
/// object would be accepted. `channel` is `"standard"` (experimental fields are pruned, not
/// checked) or `"experimental"`. Raises `ParseError` only when a path cannot be read.
#[pyfunction]
#[pyo3(signature = (objs_or_text, *, channel = "standard"))]
fn validate(
    py: Python<'_>,
    objs_or_text: &Bound<'_, PyAny>,
    channel: &str,
) -> PyResult<Vec<PyDiagnostic>> {
    let ch = self::channel(channel)?;
    let input = input(objs_or_text)?;
    let diagnostics = run(py, || {
        let r = read(input)?;
        let mut out = r.diagnostics;
        for l in &r.objects {
            out.extend(
                gatewright::validate::validate(&l.object, ch)
                    .into_iter()
                    .map(|d| d.at(Some(&l.source))),
            );
        }
        Ok(out)
    })?;
    Ok(diagnostics
        .into_iter()
        .map(|inner| PyDiagnostic { inner })
        .collect())
}

/// Translates manifests into Envoy configuration and Gateway API status, as the CLI's
/// `gatewright translate` does.
///
/// Takes what `load` takes. `controller_name` selects the GatewayClasses handled (default
/// `DEFAULT_CONTROLLER_NAME`). The GIL is released while the engine runs. Raises
/// `ParseError` on unreadable input and syntax errors, `ValidationError` when an object
/// cannot be decoded. Objects the API server would reject are translated as given; call
/// `validate` first to catch them.
#[pyfunction]
#[pyo3(signature = (objs_or_text, *, controller_name = None))]
fn translate(
    py: Python<'_>,
    objs_or_text: &Bound<'_, PyAny>,
    controller_name: Option<String>,
) -> PyResult<PyTranslation> {
    let input = input(objs_or_text)?;
    run(py, || {
        let (objects, mut diagnostics) = objects(read(input)?)?;
        let snapshot = Snapshot::from_loaded(objects);
        let mut opts = gatewright::Options::default();
        if let Some(name) = controller_name {
            opts.controller_name = name.into();
        }
        let inner = gatewright::translate(&snapshot, &opts);
        let doc = output::document(&inner, &DocumentOptions::default())
            .map_err(|e| Failure::Other(format!("cannot render the translation: {e}")))?;
        diagnostics.extend(inner.diagnostics.iter().cloned());
        Ok(PyTranslation {
            inner,
            doc,
            diagnostics,
        })
    })
}

/// The JSON Schema of a kind (`"HTTPRoute"`, case-insensitive), as `gatewright schema` prints it.
#[pyfunction]
fn schema<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyAny>> {
    let Some(k) = Kind::parse(kind) else {
        let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(PyValueError::new_err(format!(
            "unknown kind {kind:?}; known kinds: {}",
            known.join(", ")
        )));
    };
    let v = run(py, || {
        serde_json::to_value(Object::schema(k))
            .map_err(|e| Failure::Other(format!("cannot render the schema: {e}")))
    })?;
    to_py(py, &v)
}

/// The kinds the engine reads, as written in manifests.
#[pyfunction]
fn kinds() -> Vec<&'static str> {
    Kind::ALL.iter().map(|k| k.as_str()).collect()
}

/// The native part of the `gatewright` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // Errors raised by the engine set `.diagnostics` on the instance; this is the default.
    py.get_type::<Error>()
        .setattr("diagnostics", pyo3::types::PyTuple::empty(py))?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add_class::<PyDiagnostic>()?;
    m.add_class::<PyTranslation>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(translate, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(kinds, m)?)?;
    m.add(
        "DEFAULT_CONTROLLER_NAME",
        gatewright::translate::DEFAULT_CONTROLLER_NAME,
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
