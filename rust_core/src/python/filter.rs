//! `DocFilter`: a metadata filter (`xlqe_lite.Filter`, resolved) that searches take as `only=`.

use std::collections::HashMap;

use pyo3::prelude::*;

use crate::index::{fnmatch, DocFilter, PathPrefix};

/// Which documents a search may return (see `rust_core/src/index/filter.rs`). `prefixes`:
/// (as typed, relative form without "./", absolute real path or None); `suffix_formats`: {".md": "markdown"}.
#[pyclass(module = "xlqe_lite._core", name = "DocFilter", frozen)]
pub(super) struct PyDocFilter {
    pub(super) inner: DocFilter,
}

#[pymethods]
impl PyDocFilter {
    #[new]
    #[pyo3(signature = (*, globs=Vec::new(), prefixes=Vec::new(), formats=Vec::new(), suffix_formats=HashMap::new(),
                        after=None, before=None))]
    fn new(
        globs: Vec<String>,
        prefixes: Vec<(String, String, Option<String>)>,
        formats: Vec<String>,
        suffix_formats: HashMap<String, String>,
        after: Option<f64>,
        before: Option<f64>,
    ) -> Self {
        let prefixes = prefixes.into_iter().map(|(raw, rel, absolute)| PathPrefix { raw, rel, absolute }).collect();
        PyDocFilter { inner: DocFilter { globs, prefixes, formats, suffix_formats, after, before } }
    }

    /// Whether a document with this id and metadata JSON passes.
    fn allows(&self, id: &str, metadata: &str) -> bool {
        self.inner.allows(id, metadata)
    }
}

/// Shell-style matching as `fnmatch.fnmatchcase` (the rule of `DocFilter`'s globs).
#[pyfunction]
fn glob_match(text: &str, pattern: &str) -> bool {
    fnmatch(text, pattern)
}

pub(super) fn inner(only: Option<&Bound<'_, PyDocFilter>>) -> Option<DocFilter> {
    only.map(|f| f.get().inner.clone())
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDocFilter>()?;
    m.add_function(wrap_pyfunction!(glob_match, m)?)?;
    Ok(())
}
