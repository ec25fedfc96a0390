//! One error type for the whole crate; the Python bindings map its variants to exception classes.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller passed something unusable (empty query, unknown language code, bad parameter).
    #[error("{0}")]
    InvalidInput(String),
    /// A directory that is not an xlqe index, or one whose files fail their checksums or structure checks.
    #[error("index at {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// The index was written by a format version this build cannot read.
    #[error("index at {path} has format version {found}; this build reads version {supported}")]
    FormatVersion { path: PathBuf, found: u32, supported: u32 },
    /// Another process (or index object) holds the writer lock.
    #[error("index at {0} is locked by another writer")]
    Locked(PathBuf),
    #[error("index not found at {0}")]
    NotFound(PathBuf),
    /// The vector engine refused an operation.
    #[error("vector index: {0}")]
    Vector(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Corrupt { path: path.into(), reason: reason.into() }
    }
}
