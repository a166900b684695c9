//! Sinks: where per-Gateway Envoy resources and status go (an xDS server, files, a cluster).

use std::path::{Path, PathBuf};

use crate::status::StatusObject;
use crate::xds::{render, GatewayResources};

/// Why a sink could not take an update.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
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

/// Receives each Gateway's Envoy resources.
pub trait ResourceSink {
    /// The new resources of a Gateway (`namespace/name`).
    fn publish(&mut self, gateway: &str, resources: &GatewayResources) -> Result<(), SinkError>;
    /// The Gateway is gone.
    fn remove(&mut self, gateway: &str) -> Result<(), SinkError>;
}

/// Receives the status of every object.
pub trait StatusSink {
    /// The complete current status.
    fn write(&mut self, status: &[StatusObject]) -> Result<(), SinkError>;
}

/// Writes each Gateway's resources as Envoy JSON (`DIR/<ns>.<name>.json`, keys redacted)
/// and status as YAML (`DIR/status.yaml`).
#[derive(Debug, Clone)]
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    /// A sink writing into `dir` (created on first write).
    pub fn new(dir: &Path) -> Self {
        FileSink {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, gateway: &str) -> PathBuf {
        self.dir.join(format!("{}.json", gateway.replace('/', ".")))
    }

    fn write_file(&self, path: PathBuf, bytes: &[u8]) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

impl ResourceSink for FileSink {
    fn publish(&mut self, gateway: &str, resources: &GatewayResources) -> Result<(), SinkError> {
        let json = render::resources_to_json(resources, true)?;
        let text = serde_json::to_vec_pretty(&json).unwrap_or_default();
        self.write_file(self.path(gateway), &text)
    }

    fn remove(&mut self, gateway: &str) -> Result<(), SinkError> {
        let path = self.path(gateway);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SinkError::Io { path, source }),
        }
    }
}

impl StatusSink for FileSink {
    fn write(&mut self, status: &[StatusObject]) -> Result<(), SinkError> {
        let text = serde_saphyr::to_string(&status.to_vec()).unwrap_or_default();
        self.write_file(self.dir.join("status.yaml"), text.as_bytes())
    }
}
