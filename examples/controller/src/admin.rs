//! The admin HTTP endpoint: `/status`, `/healthz`, `/metrics`. Binds loopback unless told otherwise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use gatewright::status::StatusObject;
use gatewright::ObjectKey;

use crate::metrics::Metrics;

/// The status document. Objects are the engine's own status objects, shared rather than copied
/// or pre-rendered (at 10,000 routes pre-rendered JSON alone held 10 MB); `/status` renders them
/// when asked.
#[derive(Debug, Default)]
pub struct StatusDoc {
    /// Every object's status, in key order.
    pub objects: BTreeMap<ObjectKey, Arc<StatusObject>>,
    /// The diagnostics as a JSON array.
    pub diagnostics: String,
    /// Running proxies as a JSON object.
    pub proxies: String,
}

impl StatusDoc {
    /// `{"status": [...], "diagnostics": [...], "proxies": {...}}`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(
            self.objects.len() * 512 + self.diagnostics.len() + self.proxies.len() + 48,
        );
        out.push_str("{\"status\":[");
        for (i, o) in self.objects.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(o.as_ref()).unwrap_or_default());
        }
        out.push_str("],\"diagnostics\":");
        out.push_str(if self.diagnostics.is_empty() {
            "[]"
        } else {
            &self.diagnostics
        });
        out.push_str(",\"proxies\":");
        out.push_str(if self.proxies.is_empty() {
            "{}"
        } else {
            &self.proxies
        });
        out.push('}');
        out
    }
}

/// What the admin endpoint serves, updated by the controller loop.
#[derive(Default)]
pub struct AdminState {
    /// The status document (`status`, `diagnostics` and `proxies`).
    pub status: Mutex<StatusDoc>,
    /// Metrics.
    pub metrics: Metrics,
}

/// The admin router.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn status(State(s): State<Arc<AdminState>>) -> impl IntoResponse {
    let body = s.status.lock().map(|d| d.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn metrics(State(s): State<Arc<AdminState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}
