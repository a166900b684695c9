//! Node.js bindings for the gatewright engine (napi-rs).
//!
//! Every function takes manifests as YAML/JSON text, a file or directory path, a manifest
//! object or an array of them, and returns plain JavaScript values (the same JSON the
//! `gatewright` CLI prints). Failures are thrown (or, for the `…Async` variants, rejected)
//! as instances of the JavaScript classes `GatewrightError`, `ParseError` and
//! `ValidationError`, defined by the package's `index.js` and registered with
//! [`set_error_classes`] when the addon is loaded; each carries `.diagnostics`.
//!
//! The work itself runs in [`compute`] functions that touch no JavaScript value, so the
//! `…Async` variants run them on the libuv thread pool. A Rust panic never crosses into
//! JavaScript: it becomes a `GatewrightError`.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatewright::load::LoadResult;
use gatewright::output::{self, DocumentOptions};
use gatewright::validate::Channel;
use gatewright::{Kind, Object as GwObject, Severity, Snapshot, Translation};
use napi::bindgen_prelude::*;
use napi::{Env, Property, PropertyAttributes, ScopedTask};
use napi_derive::napi;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Plain data crossing the boundary (these generate the TypeScript interfaces).

/// Where an object came from: the file (or `<text>`, `<object N>`) and the line its document starts on.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct Source {
    /// File path, `<text>` for text input, `<object N>` for the N-th input object.
    pub file: String,
    /// 1-based line where the object's document starts.
    pub line: u32,
}

/// One problem: on which object, at which field, and why (what `gatewright validate -o json` prints).
#[napi(object)]
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// Kind of the object, or empty when the document had none (syntax errors).
    pub kind: String,
    /// Namespace, empty for cluster-scoped kinds and unreadable documents.
    pub namespace: String,
    /// Object name, empty when unknown.
    pub name: String,
    /// Field path, e.g. `spec.rules[0].matches[1].path.value`; empty for whole-object problems.
    pub path: String,
    /// What the API server would have said.
    pub message: String,
    /// `error`: the object would be rejected or cannot be used; `warning`: accepted, but something is ignored.
    #[napi(ts_type = "'error' | 'warning'")]
    pub severity: String,
    /// File and line, when known.
    pub source: Option<Source>,
}

impl From<&gatewright::Diagnostic> for Diagnostic {
    fn from(d: &gatewright::Diagnostic) -> Self {
        Diagnostic {
            kind: d.kind.clone(),
            namespace: d.namespace.clone(),
            name: d.name.clone(),
            path: d.path.clone(),
            message: d.message.clone(),
            severity: match d.severity {
                Severity::Error => "error".into(),
                Severity::Warning => "warning".into(),
            },
            source: d.source.as_ref().map(|s| Source {
                file: s.file.clone(),
                line: u32::try_from(s.line).unwrap_or(u32::MAX),
            }),
        }
    }
}

/// Options of `validate`.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct ValidateOptions {
    /// The CRD channel to emulate (default `standard`: experimental fields are errors).
    #[napi(ts_type = "'standard' | 'experimental'")]
    pub channel: Option<String>,
}

/// Options of `translate`.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct TranslateOptions {
    /// GatewayClasses with this `controllerName` are ours (default
    /// `gateway.envoyproxy.io/gatewayclass-controller`, as Envoy Gateway).
    pub controller_name: Option<String>,
    /// `lastTransitionTime` of every condition (default `1970-01-01T00:00:00Z`: the engine reads no clock).
    pub time: Option<String>,
    /// The address Gateways are reachable at, reported in their status.
    pub address: Option<String>,
    /// Validate every object first (as the API server would) and throw `ValidationError` on
    /// errors. Default `false`, like `gatewright translate`.
    pub validate: Option<bool>,
    /// The CRD channel used when `validate` is set (default `standard`).
    #[napi(ts_type = "'standard' | 'experimental'")]
    pub channel: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Errors.

/// What went wrong, before it becomes a JavaScript error object (the `Output` of the tasks).
#[derive(Debug)]
pub enum Failure {
    /// Unreadable input: YAML/JSON syntax, undecodable objects, wrong argument shape.
    Parse(String, Vec<gatewright::Diagnostic>),
    /// Objects the API server would reject.
    Validation(String, Vec<gatewright::Diagnostic>),
    /// Anything else (unreadable path, unknown kind or Gateway, rendering, panics).
    Other(String),
}

impl Failure {
    /// A failure named after the first error among `diags` (all of them are attached).
    fn from_diagnostics(
        make: fn(String, Vec<gatewright::Diagnostic>) -> Failure,
        diags: Vec<gatewright::Diagnostic>,
    ) -> Failure {
        let errors: Vec<&gatewright::Diagnostic> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        let mut message = errors.first().map(|d| summary(d)).unwrap_or_default();
        if errors.len() > 1 {
            message.push_str(&format!(" (and {} more)", errors.len() - 1));
        }
        make(message, diags)
    }

    /// The JavaScript error: an instance of the registered class, or a plain `Error`
    /// when the addon was loaded without the package's `index.js`.
    fn into_napi(self, env: &Env) -> Error {
        let (class, message, diags) = match self {
            Failure::Parse(m, d) => ("ParseError", m, d),
            Failure::Validation(m, d) => ("ValidationError", m, d),
            Failure::Other(m) => ("GatewrightError", m, Vec::new()),
        };
        let diags: Vec<Diagnostic> = diags.iter().map(Diagnostic::from).collect();
        match make_error(env, class, &message, diags) {
            Ok(e) => e,
            Err(_) => Error::new(Status::GenericFailure, message),
        }
    }
}

/// `file:line: Kind/namespace/name: path: message` (syntax errors carry their position in the message).
fn summary(d: &gatewright::Diagnostic) -> String {
    let mut s = String::new();
    if d.kind.is_empty() {
        return d.message.clone();
    }
    if let Some(src) = &d.source {
        s.push_str(&format!("{src}: "));
    }
    s.push_str(&d.kind);
    if !d.namespace.is_empty() {
        s.push_str(&format!("/{}", d.namespace));
    }
    s.push_str(&format!("/{}: ", d.name));
    if !d.path.is_empty() {
        s.push_str(&format!("{}: ", d.path));
    }
    s.push_str(&d.message);
    s
}

/// The `{GatewrightError, ParseError, ValidationError}` object `index.js` registers.
struct ErrorClasses(ObjectRef<false>);

fn make_error(env: &Env, class: &str, message: &str, diags: Vec<Diagnostic>) -> Result<Error> {
    let Some(classes) = env.get_instance_data::<ErrorClasses>()? else {
        return Ok(Error::new(Status::GenericFailure, message.to_string()));
    };
    let classes = classes.0.get_value(env)?;
    let ctor: Function<FnArgs<(String, Vec<Diagnostic>)>, Unknown> =
        classes.get_named_property(class)?;
    let instance = ctor.new_instance(FnArgs::from((message.to_string(), diags)))?;
    Ok(Error::from(instance))
}

/// Registers the error classes thrown by every function (called once by `index.js`).
#[napi(js_name = "__setErrorClasses", skip_typescript)]
pub fn set_error_classes(env: Env, classes: Object) -> Result<()> {
    let r = classes.create_ref::<false>()?;
    env.set_instance_data(ErrorClasses(r), (), |ctx| {
        let _ = ctx.value.0.unref(&ctx.env);
    })
}

/// Runs `f`, turning a panic into a [`Failure`].
fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, Failure>,
) -> std::result::Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure::Other(format!(
                "internal error in gatewright: {what}"
            )))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Input.

/// What a caller passed, decoded on the JavaScript thread.
#[derive(Debug)]
enum Input {
    Text(String),
    Path(PathBuf),
    Objects(Vec<Value>),
    Invalid(String),
}

impl Input {
    fn from_value(v: Value) -> Input {
        match v {
            Value::String(s) => {
                if !s.contains('\n') && !s.trim().is_empty() && Path::new(&s).exists() {
                    Input::Path(PathBuf::from(s))
                } else {
                    Input::Text(s)
                }
            }
            Value::Array(items) => Input::Objects(items),
            Value::Object(_) => Input::Objects(vec![v]),
            other => Input::Invalid(format!(
                "expected YAML or JSON text, a path, a manifest object or an array of them, got {}",
                match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    _ => "a value",
                }
            )),
        }
    }

    /// Parses the input (reading files when it is a path).
    fn load(&self) -> std::result::Result<LoadResult, Failure> {
        match self {
            Input::Text(t) => Ok(gatewright::load::parse_str(t, "<text>")),
            Input::Path(p) => {
                gatewright::load::files::load_paths(&[p]).map_err(|e| Failure::Other(e.to_string()))
            }
            Input::Objects(items) => {
                let mut out = LoadResult::default();
                for (i, item) in items.iter().enumerate() {
                    // JSON is YAML: the loader applies the same kind resolution and CRD
                    // defaults as for files.
                    let text = serde_json::to_string_pretty(item)
                        .map_err(|e| Failure::Other(e.to_string()))?;
                    out.extend(gatewright::load::parse_str(&text, &format!("<object {i}>")));
                }
                Ok(out)
            }
            Input::Invalid(m) => Err(Failure::Parse(m.clone(), Vec::new())),
        }
    }
}

fn is_syntax_error(d: &gatewright::Diagnostic) -> bool {
    d.severity == Severity::Error && d.kind.is_empty()
}

fn parse_channel(c: Option<&str>) -> std::result::Result<Channel, Failure> {
    match c {
        None | Some("standard") => Ok(Channel::Standard),
        Some("experimental") => Ok(Channel::Experimental),
        Some(other) => Err(Failure::Other(format!(
            "unknown channel {other:?}: expected \"standard\" or \"experimental\""
        ))),
    }
}

fn validate_all(loaded: &LoadResult, channel: Channel, out: &mut Vec<gatewright::Diagnostic>) {
    for l in &loaded.objects {
        out.extend(
            gatewright::validate::validate(&l.object, channel)
                .into_iter()
                .map(|d| d.at(Some(&l.source))),
        );
    }
}

// ---------------------------------------------------------------------------------------
// The computations (no JavaScript values: they run on any thread).

mod compute {
    use super::*;

    pub fn load(input: &Input) -> std::result::Result<Vec<Value>, Failure> {
        guarded(|| {
            let loaded = input.load()?;
            if loaded.has_errors() {
                return Err(Failure::from_diagnostics(
                    Failure::Parse,
                    loaded.diagnostics,
                ));
            }
            loaded
                .objects
                .iter()
                .map(|l| serde_json::to_value(&l.object).map_err(|e| Failure::Other(e.to_string())))
                .collect()
        })
    }

    pub fn validate(
        input: &Input,
        channel: Option<&str>,
    ) -> std::result::Result<Vec<gatewright::Diagnostic>, Failure> {
        guarded(|| {
            let channel = parse_channel(channel)?;
            let loaded = input.load()?;
            if loaded.diagnostics.iter().any(is_syntax_error) {
                let syntax = loaded
                    .diagnostics
                    .into_iter()
                    .filter(is_syntax_error)
                    .collect();
                return Err(Failure::from_diagnostics(Failure::Parse, syntax));
            }
            let mut diags = loaded.diagnostics.clone();
            validate_all(&loaded, channel, &mut diags);
            Ok(diags)
        })
    }

    /// A finished translation: the document (`xds`, `status`) and everything worth a warning.
    pub struct Done {
        pub xds: Value,
        pub status: Value,
        pub diagnostics: Vec<gatewright::Diagnostic>,
        pub translation: Arc<Translation>,
    }

    pub fn translate(input: &Input, opts: &TranslateOptions) -> std::result::Result<Done, Failure> {
        guarded(|| {
            let channel = parse_channel(opts.channel.as_deref())?;
            let loaded = input.load()?;
            if loaded.has_errors() {
                return Err(Failure::from_diagnostics(
                    Failure::Parse,
                    loaded.diagnostics,
                ));
            }
            let mut diagnostics = loaded.diagnostics.clone();
            if opts.validate.unwrap_or(false) {
                let mut v = Vec::new();
                validate_all(&loaded, channel, &mut v);
                if v.iter().any(|d| d.severity == Severity::Error) {
                    return Err(Failure::from_diagnostics(Failure::Validation, v));
                }
                diagnostics.extend(v);
            }
            let snapshot = Snapshot::from_loaded(loaded.objects);
            let mut options = gatewright::Options::default();
            if let Some(c) = &opts.controller_name {
                options.controller_name = c.as_str().into();
            }
            if let Some(t) = &opts.time {
                options.time = t.as_str().into();
            }
            options.address = opts.address.clone();
            let t = gatewright::translate(&snapshot, &options);
            let doc = output::document(
                &t,
                &DocumentOptions {
                    xds: true,
                    status: true,
                    ..Default::default()
                },
            )
            .map_err(|e| Failure::Other(format!("cannot render the Envoy resources: {e}")))?;
            let mut doc = match doc {
                Value::Object(m) => m,
                _ => serde_json::Map::new(),
            };
            diagnostics.extend(t.diagnostics.iter().cloned());
            Ok(Done {
                xds: doc
                    .remove("xds")
                    .unwrap_or_else(|| Value::Object(Default::default())),
                status: doc
                    .remove("status")
                    .unwrap_or_else(|| Value::Array(Vec::new())),
                diagnostics,
                translation: Arc::new(t),
            })
        })
    }

    pub fn bootstrap(
        t: &Translation,
        gateway: &str,
        bind_address: &str,
    ) -> std::result::Result<Value, Failure> {
        guarded(|| {
            // `name` alone means the `default` namespace, as for kubectl.
            let gateway = if gateway.contains('/') {
                gateway.to_string()
            } else {
                format!("default/{gateway}")
            };
            output::static_bootstrap(t, &gateway, bind_address)
                .map_err(|e| Failure::Other(e.to_string()))
        })
    }

    pub fn schema(kind: &str) -> std::result::Result<Value, Failure> {
        guarded(|| {
            let Some(k) = Kind::parse(kind) else {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(Failure::Other(format!(
                    "unknown kind {kind:?}; known kinds: {}",
                    known.join(", ")
                )));
            };
            serde_json::to_value(GwObject::schema(k)).map_err(|e| Failure::Other(e.to_string()))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Conversions to JavaScript.

fn diagnostics_js(diags: &[gatewright::Diagnostic]) -> Vec<Diagnostic> {
    diags.iter().map(Diagnostic::from).collect()
}

/// The translation as a plain object: `xds`, `status`, `diagnostics`, and a non-enumerable
/// `bootstrap(gateway, bindAddress?)` method that keeps the translation alive.
fn translation_js<'a>(env: &'a Env, done: compute::Done) -> Result<Object<'a>> {
    let mut obj = Object::new(env)?;
    obj.set("xds", done.xds)?;
    obj.set("status", done.status)?;
    obj.set("diagnostics", diagnostics_js(&done.diagnostics))?;
    let t = done.translation;
    let f = env.create_function_from_closure::<(), Value, _>("bootstrap", move |ctx| {
        let gateway: String = ctx.get(0)?;
        let bind: Option<String> = if ctx.length() > 1 { ctx.get(1)? } else { None };
        compute::bootstrap(&t, &gateway, bind.as_deref().unwrap_or("0.0.0.0"))
            .map_err(|f| f.into_napi(ctx.env))
    })?;
    obj.define_properties(&[Property::new()
        .with_utf8_name("bootstrap")?
        .with_value(&f)
        .with_property_attributes(
            PropertyAttributes::Writable | PropertyAttributes::Configurable,
        )])?;
    Ok(obj)
}

// ---------------------------------------------------------------------------------------
// The API.

/// Parses manifests (YAML/JSON text, a file or directory path, a manifest object or an
/// array of them) and returns them as objects with the CRD defaults applied, as the API
/// server would store them. Unknown kinds are skipped. Throws `ParseError` on syntax errors
/// and objects that cannot be decoded.
#[napi(ts_args_type = "input: Input", ts_return_type = "Manifest[]")]
pub fn load(env: Env, input: Value) -> Result<Vec<Value>> {
    compute::load(&Input::from_value(input)).map_err(|f| f.into_napi(&env))
}

/// Validates manifests as the API server validates a create (OpenAPI limits and CEL rules of
/// the Gateway API v1.6.1 CRDs). Returns every problem (errors and warnings; an empty array
/// means the objects would be accepted). Throws `ParseError` on YAML/JSON syntax errors.
#[napi(ts_args_type = "input: Input, options?: ValidateOptions")]
pub fn validate(
    env: Env,
    input: Value,
    options: Option<ValidateOptions>,
) -> Result<Vec<Diagnostic>> {
    let opts = options.unwrap_or_default();
    compute::validate(&Input::from_value(input), opts.channel.as_deref())
        .map(|d| diagnostics_js(&d))
        .map_err(|f| f.into_napi(&env))
}

/// Translates manifests into Envoy resources (`xds`, per Gateway `namespace/name`) and
/// Gateway API status (`status`), exactly as `gatewright translate -o json` prints them;
/// `bootstrap(gateway)` gives a complete static Envoy config for one Gateway. Throws
/// `ParseError` on unreadable input and, with `validate: true`, `ValidationError`.
#[napi(
    ts_args_type = "input: Input, options?: TranslateOptions",
    ts_return_type = "Translation"
)]
pub fn translate(env: &Env, input: Value, options: Option<TranslateOptions>) -> Result<Object<'_>> {
    let opts = options.unwrap_or_default();
    match compute::translate(&Input::from_value(input), &opts) {
        Ok(done) => translation_js(env, done),
        Err(f) => Err(f.into_napi(env)),
    }
}

/// The JSON Schema of a kind (`HTTPRoute`, `Gateway`, ...; case-insensitive), derived from
/// the same types the engine decodes into. Throws `GatewrightError` for an unknown kind.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn schema(env: Env, kind: String) -> Result<Value> {
    compute::schema(&kind).map_err(|f| f.into_napi(&env))
}

// Async variants: the input is decoded on the JavaScript thread, the work runs on the libuv
// thread pool, the result is converted back on the JavaScript thread.

/// `load` on the libuv thread pool.
pub struct LoadTask(Option<Input>);
/// `validate` on the libuv thread pool.
pub struct ValidateTask(Option<Input>, ValidateOptions);
/// `translate` on the libuv thread pool.
pub struct TranslateTask(Option<Input>, TranslateOptions);

fn take(input: &mut Option<Input>) -> Input {
    input
        .take()
        .unwrap_or_else(|| Input::Invalid("the task ran twice".into()))
}

impl<'t> ScopedTask<'t> for LoadTask {
    type Output = std::result::Result<Vec<Value>, Failure>;
    type JsValue = Vec<Value>;
    fn compute(&mut self) -> Result<Self::Output> {
        Ok(compute::load(&take(&mut self.0)))
    }
    fn resolve(&mut self, env: &'t Env, output: Self::Output) -> Result<Self::JsValue> {
        output.map_err(|f| f.into_napi(env))
    }
}

impl<'t> ScopedTask<'t> for ValidateTask {
    type Output = std::result::Result<Vec<gatewright::Diagnostic>, Failure>;
    type JsValue = Vec<Diagnostic>;
    fn compute(&mut self) -> Result<Self::Output> {
        Ok(compute::validate(
            &take(&mut self.0),
            self.1.channel.as_deref(),
        ))
    }
    fn resolve(&mut self, env: &'t Env, output: Self::Output) -> Result<Self::JsValue> {
        output
            .map(|d| diagnostics_js(&d))
            .map_err(|f| f.into_napi(env))
    }
}

impl<'t> ScopedTask<'t> for TranslateTask {
    type Output = std::result::Result<compute::Done, Failure>;
    type JsValue = Object<'t>;
    fn compute(&mut self) -> Result<Self::Output> {
        Ok(compute::translate(&take(&mut self.0), &self.1))
    }
    fn resolve(&mut self, env: &'t Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(done) => translation_js(env, done),
            Err(f) => Err(f.into_napi(env)),
        }
    }
}

/// `load` on the libuv thread pool (file reading and parsing off the main thread).
#[napi(ts_args_type = "input: Input", ts_return_type = "Promise<Manifest[]>")]
pub fn load_async(input: Value) -> AsyncTask<LoadTask> {
    AsyncTask::new(LoadTask(Some(Input::from_value(input))))
}

/// `validate` on the libuv thread pool.
#[napi(
    ts_args_type = "input: Input, options?: ValidateOptions",
    ts_return_type = "Promise<Diagnostic[]>"
)]
pub fn validate_async(input: Value, options: Option<ValidateOptions>) -> AsyncTask<ValidateTask> {
    AsyncTask::new(ValidateTask(
        Some(Input::from_value(input)),
        options.unwrap_or_default(),
    ))
}

/// `translate` on the libuv thread pool: for large inputs, keeps the event loop free while
/// the translation runs.
#[napi(
    ts_args_type = "input: Input, options?: TranslateOptions",
    ts_return_type = "Promise<Translation>"
)]
pub fn translate_async(
    input: Value,
    options: Option<TranslateOptions>,
) -> AsyncTask<TranslateTask> {
    AsyncTask::new(TranslateTask(
        Some(Input::from_value(input)),
        options.unwrap_or_default(),
    ))
}
