//! `gatewright serve`: watch a directory, translate, serve xDS, run Envoy, write status.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatewright::provider::Provider;
use gatewright::status::conditions::{reasons, set_condition, types};
use gatewright::status::{StatusBody, StatusObject};
use gatewright::xds::{self, Delivery};
use gatewright::{Diagnostic, Kind, ObjectKey, Options, UsableAddresses};
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
    /// Serve xDS over TLS (mutual TLS with a client CA).
    pub xds_tls: Option<XdsTlsOptions>,
}

/// TLS for the xDS server, and the files the controller's Envoys use to reach it.
#[derive(Debug, Clone, Default)]
pub struct XdsTlsOptions {
    /// PEM certificate chain the xDS server presents.
    pub cert: PathBuf,
    /// PEM private key of the server certificate.
    pub key: PathBuf,
    /// PEM CA bundle client certificates must chain to; None means clients need none.
    pub client_ca: Option<PathBuf>,
    /// PEM certificate the controller's Envoys present (required with `client_ca`).
    pub envoy_cert: Option<PathBuf>,
    /// PEM private key of `envoy_cert`.
    pub envoy_key: Option<PathBuf>,
    /// PEM CA bundle Envoy verifies the server certificate with (default: `client_ca`).
    pub server_ca: Option<PathBuf>,
}

/// Why the xDS TLS settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A combination of flags that cannot work.
    #[error("{0}")]
    Settings(String),
}

fn read(path: &Path) -> Result<(Vec<u8>, PathBuf), TlsError> {
    let err = |source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let abs = std::fs::canonicalize(path).map_err(err)?;
    Ok((std::fs::read(&abs).map_err(err)?, abs))
}

impl XdsTlsOptions {
    /// The tonic server configuration: identity, and client CA when given.
    pub fn server_config(&self) -> Result<tonic::transport::ServerTlsConfig, TlsError> {
        let (cert, _) = read(&self.cert)?;
        let (key, _) = read(&self.key)?;
        let mut cfg = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(cert, key));
        if let Some(ca) = &self.client_ca {
            let (ca, _) = read(ca)?;
            cfg = cfg.client_ca_root(tonic::transport::Certificate::from_pem(ca));
        }
        Ok(cfg)
    }

    /// What the Envoy bootstraps carry: absolute paths of Envoy's certificate, key and trusted CA.
    pub fn envoy_files(&self) -> Result<gatewright::xds::bootstrap::XdsClientTls, TlsError> {
        let (Some(cert), Some(key)) = (&self.envoy_cert, &self.envoy_key) else {
            return Err(TlsError::Settings(
                "xDS over TLS needs --xds-envoy-cert and --xds-envoy-key: the certificate the \
                 controller's Envoys present"
                    .into(),
            ));
        };
        let Some(ca) = self.server_ca.as_ref().or(self.client_ca.as_ref()) else {
            return Err(TlsError::Settings(
                "xDS over TLS needs --xds-server-ca (or --xds-client-ca): the CA Envoy verifies \
                 the server certificate with"
                    .into(),
            ));
        };
        let path = |p: &Path| read(p).map(|(_, abs)| abs.to_string_lossy().into_owned());
        Ok(gatewright::xds::bootstrap::XdsClientTls {
            cert_file: path(cert)?,
            key_file: path(key)?,
            ca_file: path(ca)?,
        })
    }
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
    /// The xDS TLS settings are unusable.
    #[error("xDS TLS: {0}")]
    Tls(#[from] TlsError),
    /// The directory cannot be watched.
    #[error("cannot watch {dir}: {source}")]
    Watch {
        /// Directory.
        dir: PathBuf,
        /// Cause.
        #[source]
        source: notify::Error,
    },
    /// A shutdown signal handler could not be installed, so Envoy could outlive the controller.
    #[error("cannot handle {signal}: {source}")]
    Signal {
        /// Signal name.
        signal: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// What we know about one Gateway's proxy.
#[derive(Default)]
struct Track {
    /// Whether resources were built for the Gateway's current IR.
    built: bool,
    snapshot: Arc<GatewaySnapshot>,
    changed_at: BTreeMap<&'static str, u64>,
    acked: BTreeMap<String, u64>,
    nack: Option<(String, u64, String)>,
    /// The address the built resources bind.
    bind: String,
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
        gatewright::translate::names::fnv1a(config_dir.to_string_lossy().as_bytes())
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
    let (server_tls, envoy_tls) = match &opts.xds_tls {
        Some(t) => (Some(t.server_config()?), Some(t.envoy_files()?)),
        None => (None, None),
    };
    let tls_on = server_tls.is_some();
    let server = xds.clone();
    tokio::spawn(async move {
        if let Err(e) = server.serve(xds_listener, server_tls).await {
            tracing::error!(error = %e, "xDS server failed");
        }
    });
    tracing::info!(address = %xds_addr, tls = tls_on, "xDS server listening");

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
    // Only input paths reach the debounce: the status files this controller writes (and editors'
    // hidden temporary files) would otherwise keep extending its quiet period, delaying the
    // first edit after a large translation by as long as writing every status takes.
    let inputs = FileProvider::new(&config_dir);
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
            for p in ev.paths.into_iter().filter(|p| inputs.is_input(p)) {
                let _ = fs_tx.send(p);
            }
        }
    })
    .map_err(|source| ServeError::Watch {
        dir: opts.config_dir.clone(),
        source,
    })?;
    watcher
        .watch(&config_dir, notify::RecursiveMode::Recursive)
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
        xds_tls: envoy_tls,
    });
    let pids = envoys.pids();
    let mut ctl = Controller {
        engine: gatewright::engine::Engine::new(Options::default()),
        pids,
        opts: opts.clone(),
        xds,
        admin: admin_state,
        tracks: BTreeMap::new(),
        encoded: Default::default(),
        generation: 0,
        status_dirty: BTreeSet::new(),
        diagnostics: Vec::new(),
        written: BTreeMap::new(),
        status_dir: config_dir.join(STATUS_DIR),
    };
    // Handlers first: a signal during the first rebuild (which starts Envoy) must stop that
    // Envoy too, not kill the controller and leave Envoy running.
    let signal = |kind, signal| {
        tokio::signal::unix::signal(kind).map_err(|source| ServeError::Signal { signal, source })
    };
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt(), "SIGINT")?;
    let mut stopping = false;
    tokio::select! {
        () = ctl.rebuild(&mut provider, &mut envoys) => {}
        _ = sigterm.recv() => stopping = true,
        _ = sigint.recv() => stopping = true,
    }
    while !stopping {
        tokio::select! {
            Some(path) = fs_rx.recv() => {
                let mut paths = BTreeSet::from([path]);
                // Debounce: wait for a quiet period, collecting every path touched.
                while let Ok(Some(p)) = tokio::time::timeout(opts.debounce, fs_rx.recv()).await {
                    paths.insert(p);
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
            _ = sigint.recv() => stopping = true,
            _ = sigterm.recv() => stopping = true,
        }
    }
    tracing::info!("shutting down: stopping Envoy");
    envoys.stop_all().await;
    drop(watcher);
    Ok(())
}

/// `--listen-address` value that gives every Gateway its own loopback address.
pub const PER_GATEWAY_LOOPBACK: &str = "127.0.0.0/8";

/// With a loopback network as `--listen-address` (`127.0.0.0/8`, or a `/16` or `/24` inside it
/// so that several controllers on one machine keep apart), the address Gateway `ns/name` binds
/// and reports in `status.addresses`: the network's fixed octets, then octets from a hash of the
/// name (stable across runs, so several Gateways can listen on the same port). None for any
/// other listen address.
pub fn gateway_address(listen_address: &str, gateway: &str) -> Option<String> {
    let (network, len) = listen_address.split_once('/')?;
    let network: std::net::Ipv4Addr = network.parse().ok()?;
    let fixed = match len {
        "8" => 1,
        "16" => 2,
        "24" => 3,
        _ => return None,
    };
    if network.octets()[0] != 127 {
        return None;
    }
    // FNV-1a: fixed, unlike the std hasher.
    let h = gateway.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let octets: Vec<String> = (0..4)
        .map(|i| {
            if i < fixed {
                network.octets()[i].to_string()
            } else {
                // Never 0 or 255: no network or broadcast-looking addresses.
                (1 + (h >> (16 * (i - 1))) % 254).to_string()
            }
        })
        .collect();
    Some(octets.join("."))
}

/// The IPs requested in Gateways' `spec.addresses` that this machine can bind: those assigned
/// to a local interface (any of `127.0.0.0/8` on Linux's loopback). Probed by binding a UDP
/// socket to port 0, which fails with `EADDRNOTAVAIL` for an address no interface has. The
/// unspecified and multicast addresses bind but are not a Gateway's own, so they never count.
pub fn usable_addresses(snapshot: &gatewright::Snapshot) -> BTreeSet<IpAddr> {
    snapshot
        .gateways()
        .flat_map(|gw| gw.spec.addresses.iter().flatten())
        .filter(|a| a.type_.as_deref().unwrap_or("IPAddress") == "IPAddress")
        .filter_map(|a| a.value.as_deref()?.parse::<IpAddr>().ok())
        .filter(|ip| is_local(*ip))
        .collect()
}

/// Whether `ip` is assigned to a local interface (see [`usable_addresses`]).
pub fn is_local(ip: IpAddr) -> bool {
    !ip.is_unspecified()
        && !ip.is_multicast()
        && std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// Hands the memory a rebuild freed back to the OS now rather than after mimalloc's purge
/// delay: a translation frees about as much as it keeps (parsed files, replaced IR and
/// encodings), and the resident size should not stay near the peak of the largest update
/// (BENCHMARKS.md).
fn release_freed_memory() {
    // SAFETY: mi_collect only walks and purges the allocator's own free pages; it has no
    // preconditions and is safe to call from any thread at any time.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

struct Controller {
    engine: gatewright::engine::Engine,
    pids: crate::envoy::Pids,
    opts: ServeOptions,
    xds: XdsServer,
    admin: Arc<AdminState>,
    tracks: BTreeMap<String, Track>,
    /// Encoded routes and clusters kept between builds.
    encoded: gatewright::xds::encoded::EncodedCache,
    generation: u64,
    /// Objects whose status changed since it was last published.
    status_dirty: BTreeSet<ObjectKey>,
    diagnostics: Vec<Diagnostic>,
    /// Status files written (by a hash of the path), with a hash of their content (times aside).
    written: BTreeMap<u64, u64>,
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
        // A Gateway may request the addresses this machine has (`spec.addresses`): its Envoy
        // binds them directly.
        let usable = usable_addresses(self.engine.snapshot());
        self.engine.set_options(Options {
            controller_name: self.opts.controller_name.as_str().into(),
            time: now().into(),
            address: Some(self.chosen_address()),
            usable_addresses: UsableAddresses::Only(usable),
            ..Options::default()
        });
        // Only what the changes reached is translated again; the update names what changed.
        let applied = started.elapsed();
        let update = self.engine.update();
        let translated = started.elapsed();
        self.status_dirty.extend(update.status);
        let objects = self.engine.snapshot().len();
        let mut snaps = Snapshots::new();
        self.generation += 1;
        let mut wanted = Vec::new();
        let mut gateways = 0;
        for (gw, ir) in self.engine.gateways() {
            gateways += 1;
            let gw = gw.to_string();
            let bind = self.bind_address(&gw);
            let track = self.tracks.entry(gw.clone()).or_default();
            // A Gateway that can use none of the addresses it requested runs no Envoy.
            if !ir.ports.is_empty() && bind.is_some() {
                wanted.push(gw.clone());
            }
            let bind = bind.unwrap_or_else(|| self.opts.listen_address.clone());
            if track.built && !update.gateways.contains(&gw) && track.bind == bind {
                // Nothing this Gateway serves changed: no re-encoding, nothing to push.
                snaps.insert(gw.clone(), track.snapshot.clone());
                continue;
            }
            track.built = true;
            track.bind = bind.clone();
            let candidate = match &self.opts.extension {
                // The extension edits envoy-types structs: build them all.
                Some(ext) => {
                    let mut resources = xds::build(ir, Delivery::Ads, &bind);
                    ext.post_process(&gw, &mut resources);
                    GatewaySnapshot::from_resources(self.generation, &resources)
                }
                // Otherwise only what changed since the last build is encoded again.
                None => {
                    GatewaySnapshot::from_encoded(self.generation, self.encoded.build(ir, &bind))
                }
            };
            // Compared once per type (20,000 clusters and endpoint sets at 10,000 routes).
            let changed: Vec<&'static str> = TYPE_ORDER
                .into_iter()
                .filter(|t| track.snapshot.resources.get(t) != candidate.resources.get(t))
                .collect();
            if track.snapshot.resources.is_empty() && track.changed_at.is_empty()
                || !changed.is_empty()
            {
                for t in changed {
                    track.changed_at.insert(t, self.generation);
                }
                track.snapshot = Arc::new(candidate);
            }
            snaps.insert(gw.clone(), track.snapshot.clone());
        }
        let engine = &self.engine;
        self.tracks.retain(|g, _| engine.gateway(g).is_some());
        let encoded = started.elapsed();
        self.xds.publish(snaps);
        if let Err(e) = envoys.reconcile(&wanted).await {
            tracing::error!(error = %e, "cannot start Envoy");
        }
        let m = &self.admin.metrics;
        m.translations.inc();
        m.translation_seconds
            .observe(started.elapsed().as_secs_f64());
        // Where a slow rebuild spends its time: reading files, translating, encoding for xDS.
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        tracing::info!(
            gateways,
            objects,
            elapsed_ms = started.elapsed().as_millis() as u64,
            apply_ms = ms(applied),
            translate_ms = ms(translated - applied),
            encode_ms = ms(encoded - translated),
            "translated"
        );
        self.diagnostics = provider.diagnostics();
        self.diagnostics.extend(self.engine.diagnostics());
        self.publish_status();
        release_freed_memory();
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

    /// What the engine reports for Gateways that request no address of their own:
    /// `--listen-address` (`127.0.0.1` for `0.0.0.0`); [`Self::gateway_status`] puts each
    /// Gateway's own loopback address in its place when the listen address is a network.
    fn chosen_address(&self) -> String {
        if self.opts.listen_address == "0.0.0.0" {
            "127.0.0.1".to_string()
        } else {
            self.opts.listen_address.clone()
        }
    }

    /// The address Gateway `ns/name`'s listeners bind: the first address it requested and may
    /// use (as the engine reports it), else the one `--listen-address` gives it. None when it
    /// has no address at all (it requested only addresses this machine cannot use).
    fn bind_address(&self, gw: &str) -> Option<String> {
        let chosen = || {
            Some(
                gateway_address(&self.opts.listen_address, gw)
                    .unwrap_or_else(|| self.opts.listen_address.clone()),
            )
        };
        let Some((ns, name)) = gw.split_once('/') else {
            return chosen();
        };
        let status = self.engine.status(&ObjectKey::new(Kind::Gateway, ns, name));
        let Some(StatusBody::Gateway(gs)) = status.map(|s| &s.status) else {
            return chosen();
        };
        let dynamic = self.chosen_address();
        if let Some(a) = gs.addresses.iter().find(|a| a.value != dynamic) {
            return Some(a.value.clone());
        }
        if gs.addresses.is_empty() {
            return None;
        }
        chosen()
    }

    /// A Gateway's status with what its proxy acknowledged (`Programmed`) and its address.
    fn gateway_status(&self, s: &StatusObject, time: &str) -> StatusObject {
        let mut s = s.clone();
        let StatusBody::Gateway(gs) = &mut s.status else {
            return s;
        };
        let gw = format!(
            "{}/{}",
            s.metadata.namespace.as_deref().unwrap_or(""),
            s.metadata.name
        );
        let dynamic = self.chosen_address();
        if let Some(i) = gs.addresses.iter().position(|a| a.value != dynamic) {
            // A requested address: Envoy binds only the first one (see `bind_address`), so
            // that is the one address the Gateway has.
            gs.addresses = vec![gs.addresses.swap_remove(i)];
        } else if let Some(address) = gateway_address(&self.opts.listen_address, &gw) {
            for a in &mut gs.addresses {
                a.value = address.clone();
            }
        }
        let Some(track) = self.tracks.get(&gw) else {
            return s;
        };
        let generation = gs.conditions.first().and_then(|c| c.observed_generation);
        let cond = |ok: bool, reason: &'static str, msg: String| gatewright::model::Condition {
            type_: types::PROGRAMMED.into(),
            status: if ok { "True" } else { "False" }.into(),
            reason: reason.into(),
            message: msg.into(),
            observed_generation: generation,
            last_transition_time: time.into(),
        };
        let programmed_now = gs
            .conditions
            .iter()
            .any(|c| c.type_ == types::PROGRAMMED && c.status == "True");
        if !programmed_now {
            return s;
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
        s
    }

    /// Applies what the proxies acknowledged to Gateway status, then serves and writes what
    /// changed: the statuses the engine reported changed, and every Gateway's (acknowledgements
    /// move those). Work is proportional to that, not to the number of objects.
    fn publish_status(&mut self) {
        let time = now();
        let mut dirty = std::mem::take(&mut self.status_dirty);
        dirty.extend(self.tracks.keys().filter_map(|g| {
            let (ns, name) = g.split_once('/')?;
            Some(ObjectKey::new(Kind::Gateway, ns, name))
        }));
        let files = std::fs::create_dir_all(&self.status_dir).is_ok();
        let Ok(mut doc) = self.admin.status.lock() else {
            return;
        };
        for key in dirty {
            let path = self.status_dir.join(status_file_name(&key));
            let Some(s) = self.engine.status(&key) else {
                doc.objects.remove(&key);
                if self.written.remove(&path_key(&path)).is_some() {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            };
            let s: Arc<StatusObject> = if key.kind == Kind::Gateway {
                Arc::new(self.gateway_status(s, &time))
            } else {
                s.clone()
            };
            if files {
                let text = serde_saphyr::to_string(s.as_ref()).unwrap_or_default();
                write_if_changed(&path, &text, &mut self.written);
            }
            doc.objects.insert(key, s);
        }
        // The file first: whoever sees the diagnostics on `/status` finds them on disk too.
        if files {
            let diag = serde_saphyr::to_string(&self.diagnostics).unwrap_or_default();
            write_if_changed(
                &self.status_dir.join("diagnostics.yaml"),
                &diag,
                &mut self.written,
            );
        }
        doc.diagnostics = serde_json::to_string(&self.diagnostics).unwrap_or_default();
        let proxies: BTreeMap<String, u32> =
            self.pids.lock().map(|m| m.clone()).unwrap_or_default();
        doc.proxies = serde_json::to_string(&proxies).unwrap_or_default();
    }
}

/// The status file of an object: `kind.namespace.name.yaml` (`kind.name.yaml` without namespace).
fn status_file_name(key: &ObjectKey) -> String {
    let ns = if key.namespace.is_empty() {
        String::new()
    } else {
        format!("{}.", key.namespace)
    };
    format!("{}.{ns}{}.yaml", key.kind.as_str().to_lowercase(), key.name)
}

/// The key of a status file in `Controller::written`: a hash, not the path (30,000 paths at
/// 10,000 routes), since the files all sit in one directory under distinct names.
fn path_key(path: &Path) -> u64 {
    gatewright::translate::names::fnv1a(path.as_os_str().as_encoded_bytes())
}

/// Writes a status file unless it says what it said (times aside); remembers a hash of it.
fn write_if_changed(path: &Path, text: &str, written: &mut BTreeMap<u64, u64>) {
    // Compare without timestamps, so a retranslation that changed nothing writes nothing.
    let stable = gatewright::translate::names::fnv1a(strip_times(text).as_bytes());
    let key = path_key(path);
    if written.get(&key) != Some(&stable) {
        if let Err(e) = atomic_write(path, text) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write status");
        }
        written.insert(key, stable);
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

#[cfg(test)]
mod tests {
    use super::{gateway_address, is_local, usable_addresses};

    /// Local addresses (the whole loopback network included) are usable; a TEST-NET address,
    /// the unspecified address and other Gateways' non-IP addresses are not.
    #[test]
    fn usable_addresses_are_the_local_ones() {
        assert!(is_local("127.0.0.1".parse().expect("an IP")));
        assert!(is_local("127.31.0.1".parse().expect("an IP")));
        assert!(!is_local("192.0.2.1".parse().expect("an IP")));
        assert!(!is_local("0.0.0.0".parse().expect("an IP")));
        let loaded = gatewright::load::parse_str(
            r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: gc
  addresses:
  - {value: 127.31.0.1}
  - {type: IPAddress, value: 192.0.2.1}
  - {type: Hostname, value: localhost}
  listeners: [{name: http, port: 8080, protocol: HTTP}]
"#,
            "gw.yaml",
        );
        let snapshot = gatewright::Snapshot::from_loaded(loaded.objects);
        let want: Vec<std::net::IpAddr> = vec!["127.31.0.1".parse().expect("an IP")];
        assert_eq!(
            usable_addresses(&snapshot).into_iter().collect::<Vec<_>>(),
            want
        );
    }

    #[test]
    fn per_gateway_addresses_stay_inside_the_loopback_network() {
        let a = gateway_address("127.0.0.0/8", "ns/gw").expect("an address");
        assert!(a.starts_with("127.") && a != "127.0.0.1", "{a}");
        // Stable, and distinct for distinct Gateways.
        assert_eq!(gateway_address("127.0.0.0/8", "ns/gw"), Some(a.clone()));
        assert_ne!(gateway_address("127.0.0.0/8", "ns/other"), Some(a.clone()));
        // A narrower network keeps its fixed octets and the hashed ones of the wider network.
        let b = gateway_address("127.42.0.0/16", "ns/gw").expect("an address");
        assert!(b.starts_with("127.42."), "{b}");
        assert_eq!(b.split('.').nth(2), a.split('.').nth(2));
        let c = gateway_address("127.42.7.0/24", "ns/gw").expect("an address");
        assert!(c.starts_with("127.42.7."), "{c}");
        for last in [&a, &b, &c] {
            let n: u16 = last
                .rsplit('.')
                .next()
                .and_then(|o| o.parse().ok())
                .expect("octet");
            assert!((1..=254).contains(&n), "{last}");
        }
        // Anything else binds as given.
        assert_eq!(gateway_address("0.0.0.0", "ns/gw"), None);
        assert_eq!(gateway_address("10.0.0.0/8", "ns/gw"), None);
        assert_eq!(gateway_address("127.0.0.0/12", "ns/gw"), None);
    }
}
