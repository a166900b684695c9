//! `gatewright serve`: watch a directory, translate, serve xDS, run Envoy, write status.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatewright::status::conditions::{reasons, set_condition, types};
use gatewright::status::{StatusBody, StatusObject};
use gatewright::xds::{self, Delivery};
use gatewright::provider::Provider;
use gatewright::{Diagnostic, Options};
use notify::Watcher;
use tokio::sync::mpsc;

use crate::admin::{self, AdminState};
use crate::envoy::{find_envoy, EnvoyConfig, EnvoyError, EnvoyManager};
use crate::extension::Extension;
use crate::files::{FileProvider, STATUS_DIR};
use crate::metrics::{short_type, TypeLabels};
use crate::xds_server::{GatewaySnapshot, Snapshots, XdsEvent, XdsServer, TYPE_ORDER};

/// Settings of `gatewright serve`.
#[derive(Clone)]
pub struct ServeOptions {
    /// The watched manifest directory.
    pub config_dir: PathBuf,
    /// Where the ADS server listens.
    pub xds_address: SocketAddr,
    /// Where `/status`, `/healthz` and `/metrics` listen.
    pub admin_address: SocketAddr,
    /// The Envoy binary, if given explicitly.
    pub envoy_path: Option<PathBuf>,
    /// GatewayClasses with this controllerName are ours.
    pub controller_name: String,
    /// The address Envoy's data-plane listeners bind.
    pub listen_address: String,
    /// Quiet time after a file event before translating.
    pub debounce: Duration,
    /// Post-processing of generated resources.
    pub extension: Option<Arc<dyn Extension>>,
    /// Envoy's log level.
    pub envoy_log_level: String,
    /// Envoy fetches over incremental (delta) ADS instead of state-of-the-world.
    pub delta: bool,
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Envoy missing or unusable.
    #[error(transparent)]
    Envoy(#[from] EnvoyError),
    /// A socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory cannot be watched.
    #[error("cannot watch {dir}: {source}")]
    Watch {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        #[source]
        source: notify::Error,
    },
}

/// What we know about one Gateway's proxy.
#[derive(Default)]
struct Track {
    ir: Option<gatewright::translate::ir::GatewayIr>,
    snapshot: Arc<GatewaySnapshot>,
    changed_at: BTreeMap<&'static str, u64>,
    acked: BTreeMap<String, u64>,
    nack: Option<(String, u64, String)>,
}

impl Track {
    fn programmed(&self) -> bool {
        TYPE_ORDER.iter().all(|t| {
            let empty = self.snapshot.resources.get(t).is_none_or(|r| r.is_empty());
            let needed = self.changed_at.get(t).copied().unwrap_or(0);
            empty || self.acked.get(*t).is_some_and(|g| *g >= needed)
        })
    }

    fn rejected(&self) -> Option<&str> {
        let (t, g, msg) = self.nack.as_ref()?;
        let needed = self.changed_at.get(t.as_str()).copied().unwrap_or(0);
        let acked_since = self.acked.get(t).is_some_and(|a| *a >= *g);
        (*g >= needed && !acked_since).then_some(msg.as_str())
    }
}

/// Runs until SIGINT/SIGTERM.
pub async fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    let binary = find_envoy(opts.envoy_path.as_deref())?;
    let config_dir = std::fs::canonicalize(&opts.config_dir).unwrap_or(opts.config_dir.clone());
    // Stable per config dir, so a restarted controller finds (and adopts) its Envoys.
    let work_dir = std::env::temp_dir().join(format!(
        "gatewright-{:016x}",
        gatewright::translate::routes::fnv1a(config_dir.to_string_lossy().as_bytes())
    ));
    let (xds, mut xds_events) = XdsServer::new();

    let xds_listener = tokio::net::TcpListener::bind(opts.xds_address)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.xds_address,
            source,
        })?;
    let xds_addr = xds_listener
        .local_addr()
        .map_err(|source| ServeError::Bind {
            addr: opts.xds_address,
            source,
        })?;
    let svc = xds.service();
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(xds_listener);
        if let Err(e) = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .add_service(svc)
            .serve_with_incoming(incoming)
            .await
        {
            tracing::error!(error = %e, "xDS server failed");
        }
    });
    tracing::info!(address = %xds_addr, "xDS server listening");

    let admin_state = Arc::new(AdminState::default());
    let admin_listener = tokio::net::TcpListener::bind(opts.admin_address)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.admin_address,
            source,
        })?;
    tracing::info!(address = %opts.admin_address, "admin listening (/status, /healthz, /metrics)");
    let router = admin::router(admin_state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(admin_listener, router).await;
    });

    let (fs_tx, mut fs_rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            // Reading a file is an event too (inotify's open/close): only changes count.
            use notify::event::{EventKind, ModifyKind};
            if matches!(
                ev.kind,
                EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
            ) {
                return;
            }
            for p in ev.paths {
                let _ = fs_tx.send(p);
            }
        }
    })
    .map_err(|source| ServeError::Watch {
        dir: opts.config_dir.clone(),
        source,
    })?;
    watcher
        .watch(&opts.config_dir, notify::RecursiveMode::Recursive)
        .map_err(|source| ServeError::Watch {
            dir: opts.config_dir.clone(),
            source,
        })?;
    let mut provider = FileProvider::new(&config_dir);
    provider.reload_all();
    let mut envoys = EnvoyManager::new(EnvoyConfig {
        binary,
        work_dir,
        xds: (xds_addr.ip().to_string(), xds_addr.port()),
        log_level: opts.envoy_log_level.clone(),
        delta: opts.delta,
    });
    let pids = envoys.pids();
    let mut ctl = Controller {
        engine: gatewright::engine::Engine::new(Options::default()),
        pids,
        opts: opts.clone(),
        xds,
        admin: admin_state,
        tracks: BTreeMap::new(),
        generation: 0,
        status: Vec::new(),
        diagnostics: Vec::new(),
        written: BTreeMap::new(),
        status_dir: config_dir.join(STATUS_DIR),
    };
    ctl.rebuild(&mut provider, &mut envoys).await;

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| ServeError::Bind {
            addr: opts.admin_address,
            source,
        })?;
    loop {
        tokio::select! {
            Some(path) = fs_rx.recv() => {
                let mut paths = BTreeSet::from([path]);
                // Debounce: wait for a quiet period, collecting every path touched.
                loop {
                    match tokio::time::timeout(opts.debounce, fs_rx.recv()).await {
                        Ok(Some(p)) => { paths.insert(p); }
                        _ => break,
                    }
                }
                let mut changed = false;
                let mut any_input = false;
                tracing::debug!(?paths, "files changed");
                for p in &paths {
                    if !provider.is_input(p) { continue; }
                    any_input = true;
                    if p.is_dir() { changed |= provider.reload_all(); } else { changed |= provider.reload(p); }
                }
                if any_input && !changed {
                    // Renames and deletes of directories: a full rescan is the safe answer.
                    changed = provider.reload_all();
                }
                if changed || any_input {
                    ctl.rebuild(&mut provider, &mut envoys).await;
                }
            }
            Some(ev) = xds_events.recv() => {
                ctl.on_xds_event(ev);
                while let Ok(ev) = xds_events.try_recv() { ctl.on_xds_event(ev); }
                ctl.publish_status();
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
        }
    }
    tracing::info!("shutting down: stopping Envoy");
    envoys.stop_all().await;
    drop(watcher);
    Ok(())
}

struct Controller {
    engine: gatewright::engine::Engine,
    pids: crate::envoy::Pids,
    opts: ServeOptions,
    xds: XdsServer,
    admin: Arc<AdminState>,
    tracks: BTreeMap<String, Track>,
    generation: u64,
    status: Vec<StatusObject>,
    diagnostics: Vec<Diagnostic>,
    written: BTreeMap<PathBuf, String>,
    status_dir: PathBuf,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Controller {
    async fn rebuild(&mut self, provider: &mut FileProvider, envoys: &mut EnvoyManager) {
        let started = Instant::now();
        for change in provider.changes() {
            self.engine.apply(change);
        }
        self.engine.set_options(Options {
                controller_name: self.opts.controller_name.clone(),
                time: now(),
                address: Some(if self.opts.listen_address == "0.0.0.0" {
                    "127.0.0.1".to_string()
                } else {
                    self.opts.listen_address.clone()
            }),
        });
        let translation = self.engine.translate();
        let objects = self.engine.snapshot().len();
        let mut snaps = Snapshots::new();
        self.generation += 1;
        let mut wanted = Vec::new();
        for (gw, ir) in &translation.gateways {
            let track = self.tracks.entry(gw.clone()).or_default();
            if !ir.ports.is_empty() {
                wanted.push(gw.clone());
            }
            if track.ir.as_ref() == Some(ir) {
                // Nothing this Gateway serves changed: no re-encoding, nothing to push.
                snaps.insert(gw.clone(), track.snapshot.clone());
                continue;
            }
            track.ir = Some(ir.clone());
            let mut resources = xds::build(ir, Delivery::Ads, &self.opts.listen_address);
            if let Some(ext) = &self.opts.extension {
                ext.post_process(gw, &mut resources);
            }
            let candidate = GatewaySnapshot::from_resources(self.generation, &resources);
            if track.snapshot.resources.is_empty() && track.changed_at.is_empty()
                || !track.snapshot.same_content(&candidate)
            {
                for t in TYPE_ORDER {
                    if track.snapshot.resources.get(t) != candidate.resources.get(t) {
                        track.changed_at.insert(t, self.generation);
                    }
                }
                track.snapshot = Arc::new(candidate);
            }
            snaps.insert(gw.clone(), track.snapshot.clone());
        }
        self.tracks
            .retain(|g, _| translation.gateways.contains_key(g));
        self.xds.publish(snaps);
        if let Err(e) = envoys.reconcile(&wanted).await {
            tracing::error!(error = %e, "cannot start Envoy");
        }
        let m = &self.admin.metrics;
        m.translations.inc();
        m.translation_seconds
            .observe(started.elapsed().as_secs_f64());
        tracing::info!(
            gateways = translation.gateways.len(),
            objects,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "translated"
        );
        self.status = translation.status;
        self.diagnostics = provider.diagnostics();
        self.diagnostics.extend(translation.diagnostics);
        self.publish_status();
    }

    fn on_xds_event(&mut self, ev: XdsEvent) {
        let m = &self.admin.metrics;
        match ev {
            XdsEvent::Connected { gateway, delta } => {
                m.connected_proxies.inc();
                tracing::info!(%gateway, delta, "proxy connected");
            }
            XdsEvent::Disconnected { gateway } => {
                m.connected_proxies.dec();
                tracing::info!(%gateway, "proxy disconnected");
            }
            XdsEvent::Push { gateway, type_url } => {
                m.xds_pushes
                    .get_or_create(&TypeLabels {
                        gateway,
                        r#type: short_type(&type_url),
                    })
                    .inc();
            }
            XdsEvent::Ack {
                gateway,
                type_url,
                generation,
            } => {
                m.xds_acks
                    .get_or_create(&TypeLabels {
                        gateway: gateway.clone(),
                        r#type: short_type(&type_url),
                    })
                    .inc();
                if let Some(t) = self.tracks.get_mut(&gateway) {
                    let e = t.acked.entry(type_url).or_default();
                    *e = (*e).max(generation);
                }
            }
            XdsEvent::Nack {
                gateway,
                type_url,
                generation,
                message,
                resources,
            } => {
                tracing::warn!(%gateway, %type_url, %message, ?resources, "Envoy rejected configuration");
                m.xds_nacks
                    .get_or_create(&TypeLabels {
                        gateway: gateway.clone(),
                        r#type: short_type(&type_url),
                    })
                    .inc();
                if let Some(t) = self.tracks.get_mut(&gateway) {
                    t.nack = Some((type_url, generation, message));
                }
            }
        }
    }

    /// Applies what the proxies acknowledged to Gateway status, then serves and writes it.
    fn publish_status(&mut self) {
        let time = now();
        let mut status = self.status.clone();
        for s in &mut status {
            let StatusBody::Gateway(gs) = &mut s.status else {
                continue;
            };
            let gw = format!(
                "{}/{}",
                s.metadata.namespace.as_deref().unwrap_or(""),
                s.metadata.name
            );
            let Some(track) = self.tracks.get(&gw) else {
                continue;
            };
            let generation = gs.conditions.first().and_then(|c| c.observed_generation);
            let cond = |ok: bool, reason: &str, msg: String| gatewright::model::Condition {
                type_: types::PROGRAMMED.into(),
                status: if ok { "True" } else { "False" }.into(),
                reason: reason.into(),
                message: msg,
                observed_generation: generation,
                last_transition_time: time.clone(),
            };
            let programmed_now = gs
                .conditions
                .iter()
                .any(|c| c.type_ == types::PROGRAMMED && c.status == "True");
            if !programmed_now {
                continue;
            }
            let c = if let Some(msg) = track.rejected() {
                cond(
                    false,
                    reasons::INVALID,
                    format!("Envoy rejected the configuration: {msg}"),
                )
            } else if track.programmed() {
                cond(
                    true,
                    reasons::PROGRAMMED,
                    "Envoy acknowledged the configuration".into(),
                )
            } else {
                cond(
                    false,
                    reasons::PENDING,
                    "Waiting for Envoy to acknowledge the configuration".into(),
                )
            };
            set_condition(&mut gs.conditions, c);
        }
        let proxies: BTreeMap<String, u32> =
            self.pids.lock().map(|m| m.clone()).unwrap_or_default();
        let doc = serde_json::json!({
            "status": status,
            "diagnostics": self.diagnostics,
            "proxies": proxies,
        });
        if let Ok(mut s) = self.admin.status.lock() {
            *s = doc;
        }
        self.write_status_files(&status);
    }

    fn write_status_files(&mut self, status: &[StatusObject]) {
        if std::fs::create_dir_all(&self.status_dir).is_err() {
            return;
        }
        let mut keep = BTreeSet::new();
        let mut write = |path: PathBuf, text: String, written: &mut BTreeMap<PathBuf, String>| {
            keep.insert(path.clone());
            // Compare without timestamps, so a retranslation that changed nothing writes nothing.
            let stable = strip_times(&text);
            if written.get(&path) != Some(&stable) {
                if let Err(e) = atomic_write(&path, &text) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write status");
                }
                written.insert(path, stable);
            }
        };
        for s in status {
            let name = format!(
                "{}.{}{}.yaml",
                s.kind.to_lowercase(),
                s.metadata
                    .namespace
                    .as_deref()
                    .map(|n| format!("{n}."))
                    .unwrap_or_default(),
                s.metadata.name
            );
            let text = serde_saphyr::to_string(s).unwrap_or_default();
            write(self.status_dir.join(name), text, &mut self.written);
        }
        let diag = serde_saphyr::to_string(&self.diagnostics).unwrap_or_default();
        write(
            self.status_dir.join("diagnostics.yaml"),
            diag,
            &mut self.written,
        );
        let stale: Vec<PathBuf> = self
            .written
            .keys()
            .filter(|p| !keep.contains(*p))
            .cloned()
            .collect();
        for p in stale {
            let _ = std::fs::remove_file(&p);
            self.written.remove(&p);
        }
    }
}

fn strip_times(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("lastTransitionTime"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn atomic_write(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
