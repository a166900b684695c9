//! The sample controller: a file provider, an ADS server, Envoy processes, status files.

pub mod admin;
pub mod envoy;
pub mod extension;
pub mod files;
pub mod metrics;
pub mod serve;
pub mod xds_server;
