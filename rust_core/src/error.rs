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
    /// The index was written by a format version this build cannot read. The message says whether the
    /// file is older or newer than this build and what to do about it.
    #[error("{}", format_version_message(path, *found, *supported))]
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

fn format_version_message(path: &std::path::Path, found: u32, supported: u32) -> String {
    let path = path.display();
    if found < supported {
        format!(
            "index at {path} was written in format version {found}, older than version {supported} that this build of \
             xlqe-lite reads; there is no migration from it: re-create the index from its source documents \
             (`xlqe index NEW_DIR SOURCES...`, or Index.create) and remove the old one"
        )
    } else {
        format!(
            "index at {path} was written in format version {found}, newer than version {supported} that this build of \
             xlqe-lite reads; open it with a newer xlqe-lite, or re-create the index from its source documents with this one"
        )
    }
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
