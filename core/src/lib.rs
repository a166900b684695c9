//! Gatewright: Kubernetes Gateway API v1.6.1 in, Envoy xDS resources and Gateway API status out.
//!
//! The crate is sans-IO: the translation is a pure function over a snapshot of objects.
//! Files, sockets, processes and clocks live behind the provider and sink traits.

#![warn(missing_docs)]
// Only the allocator (feature `mimalloc`) needs `unsafe`; the translation has none.
#![deny(unsafe_code)]

#[cfg(feature = "mimalloc")]
#[allow(unsafe_code)]
pub mod alloc;
pub mod diagnostic;
pub mod engine;
pub mod explain;
pub mod extension;
pub mod load;
pub mod model;
pub mod output;
pub mod parallel;
pub mod provider;
pub mod sink;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity, Source};
pub use model::{Kind, Object, ObjectKey};
pub mod snapshot;
pub mod status;
pub mod translate;

pub use parallel::Parallelism;
pub use snapshot::Snapshot;
pub use translate::{translate, Options, Translation, UsableAddresses};
pub mod xds;

#[cfg(test)]
mod testing;
