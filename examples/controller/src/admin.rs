//! The admin HTTP endpoint: `/status`, `/healthz`, `/metrics`. Binds loopback unless told otherwise.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::metrics::Metrics;

/// What the admin endpoint serves, updated by the controller loop.
#[derive(Default)]
pub struct AdminState {
    /// The status document (`status` and `diagnostics`).
    pub status: Mutex<serde_json::Value>,
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

async fn status(State(s): State<Arc<AdminState>>) -> Json<serde_json::Value> {
    Json(s.status.lock().map(|v| v.clone()).unwrap_or_default())
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
