//! xlqe-core: the engine of xlqe-lite, usable from Rust without Python.
//!
//! - [`config`]: the settings an index is created with (plain data; depends on nothing else here).
//! - [`lang`], [`script`], [`detect`]: language tags, writing systems (ISO 15924), language detection.
//! - [`analysis`]: multilingual tokenisation, normalisation, stemming.
//! - [`lexical`]: BM25 scoring over postings.
//! - [`vector`]: the vector index (usearch HNSW, or an exact scan when small).
//! - [`storage`]: the index directory, its binary segment format and atomic commits.
//! - [`index`]: the document index users open, add to, search and commit.
//! - [`fusion`], [`snippet`]: merging ranked lists, and query-biased snippets.
//! - [`query`]: a query's whole retrieval (lists, fusion, per-language merge, snippets) in one call.
//!
//! Dependencies point one way: `config`, `error`, `lang` at the bottom; `index` on top of `analysis`,
//! `lexical`, `vector` and `storage`; `query` on top of `index`; the Python bindings (feature `python`) on top of everything.

pub mod analysis;
pub mod config;
pub mod detect;
pub mod error;
pub mod fusion;
pub mod index;
pub mod lang;
pub mod lexical;
pub mod query;
pub mod script;
pub mod snippet;
pub mod storage;
pub mod vector;

pub use analysis::{Analyzer, Token};
pub use config::{AnalyzerConfig, IndexConfig, VectorConfig};
pub use error::{Error, Result};
pub use index::{Document, Hit, Index, StoredDocument};
pub use lang::normalize_lang;

#[cfg(feature = "python")]
mod python;
