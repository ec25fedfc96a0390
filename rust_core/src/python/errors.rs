//! The exception classes: defined in Python (`xlqe_lite/errors.py`, with builtin bases such as
//! `ValueError` and `OSError`), imported here, raised for the crate's [`Error`] variants, and exported
//! from `_core` under the same names.

use pyo3::prelude::*;

use crate::error::Error;

pyo3::import_exception!(xlqe_lite.errors, XlqeError);
pyo3::import_exception!(xlqe_lite.errors, InvalidInputError);
pyo3::import_exception!(xlqe_lite.errors, IndexNotFoundError);
pyo3::import_exception!(xlqe_lite.errors, IndexCorruptError);
pyo3::import_exception!(xlqe_lite.errors, FormatVersionError);
pyo3::import_exception!(xlqe_lite.errors, IndexLockedError);
pyo3::import_exception!(xlqe_lite.errors, StorageError);

/// The Python exception for a core error.
pub(super) fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidInput(_) => InvalidInputError::new_err(msg),
        Error::NotFound(_) => IndexNotFoundError::new_err(msg),
        Error::Corrupt { .. } => IndexCorruptError::new_err(msg),
        Error::FormatVersion { .. } => FormatVersionError::new_err(msg),
        Error::Locked(_) => IndexLockedError::new_err(msg),
        Error::Io { .. } => StorageError::new_err(msg),
        // usearch refusing an operation: not the caller's input, not the disk.
        Error::Vector(_) => XlqeError::new_err(msg),
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("XlqeError", py.get_type::<XlqeError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("IndexNotFoundError", py.get_type::<IndexNotFoundError>())?;
    m.add("IndexCorruptError", py.get_type::<IndexCorruptError>())?;
    m.add("FormatVersionError", py.get_type::<FormatVersionError>())?;
    m.add("IndexLockedError", py.get_type::<IndexLockedError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    Ok(())
}
