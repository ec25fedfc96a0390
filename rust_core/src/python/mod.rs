//! PyO3 bindings: the `xlqe_lite._core` extension module, one file per concept the Python side meets.
//! Thin by design: each function converts arguments, releases the GIL around the real work, and maps
//! errors to the exception classes of `xlqe_lite.errors`.
//!
//! - [`errors`]: the exception classes and the mapping of [`crate::Error`] onto them;
//! - [`analysis`]: the analyzer, language tags, scripts, language detection;
//! - [`config`]: index settings to and from Python dicts (serde, via `pythonize`);
//! - [`index`]: the `LexicalIndex` class;
//! - [`filter`]: metadata filters (`DocFilter`) that searches take as `only=`;
//! - [`global`]: search with a sharded index's collection statistics;
//! - [`fusion`]: fusion of ranked lists;
//! - [`query`]: the plan of one query's whole retrieval (`LexicalIndex.retrieve`) and its hits.

use pyo3::prelude::*;

/// The module's allocator: see `mimalloc` in Cargo.toml (indexing frees on one thread what analysis
/// threads allocated; with glibc's malloc that cost more than the inserting itself).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analysis;
mod config;
mod errors;
mod filter;
mod fusion;
mod global;
mod index;
mod query;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    analysis::register(m)?;
    fusion::register(m)?;
    index::register(m)?;
    filter::register(m)?;
    query::register(m)?;
    global::register(m)?;
    errors::register(m)?;
    Ok(())
}
