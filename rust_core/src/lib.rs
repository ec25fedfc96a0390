//! xlqe-core: the engine of xlqe-lite, usable from Rust without Python.
//!
//! - [`analysis`]: multilingual tokenisation, normalisation, stemming.
//! - [`lexical`]: BM25 scoring over postings.
//! - [`storage`]: the index directory, its binary segment format and atomic commits.
//! - [`index`]: the document index users open, add to, search and commit.

pub mod analysis;
pub mod detect;
pub mod error;
pub mod fusion;
pub mod lang;

pub use analysis::{Analyzer, AnalyzerConfig, Token};
pub use error::{Error, Result};
pub use lang::normalize_lang;
pub mod index;
pub mod lexical;
pub mod snippet;
pub mod storage;
pub mod vector;

pub use index::{Document, Hit, Index, StoredDocument};
pub use storage::IndexConfig;

#[cfg(feature = "python")]
mod python;
