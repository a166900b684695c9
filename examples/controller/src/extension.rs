//! The extension hook of the core, re-exported: `serve` applies it to every Gateway's resources.

pub use gatewright::extension::{Chain, Extension};
