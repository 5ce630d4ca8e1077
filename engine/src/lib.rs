//! mlmon's engine: exact, mergeable streaming histograms over borrowed array views, and the drift
//! statistics computed from them (PSI, chi-square, Jensen-Shannon, KL, Hellinger, Wasserstein).
//! Everything outside `bindings` is pure Rust, testable with `cargo test --no-default-features`;
//! only `bindings` (behind the default `python` feature) knows about Python and NumPy.

pub mod binning;
pub mod bracket;
pub mod categorical;
pub mod codec;
pub mod column;
pub mod counting;
pub mod error;
pub mod fitting;
pub(crate) mod grid;
#[cfg(target_arch = "x86_64")]
mod grid_avx2;
pub(crate) mod groups;
pub mod histogram;
pub mod identity;
pub mod kernel;
pub mod kll;
pub mod parallel;
pub mod profile;
mod profile_merge;
pub mod quantile;
mod sampling;
pub mod short_index;
pub mod sketch;
pub mod special;
pub mod stats;
pub mod wire;

#[cfg(feature = "python")]
mod bindings;

pub use binning::BinEdges;
pub use categorical::{CategoryCounts, KeyRef};
pub use error::{EngineError, Result};
pub use histogram::NumericHistogram;
pub use kll::KllSketch;
pub use profile::Profile;
pub use sketch::Key;
