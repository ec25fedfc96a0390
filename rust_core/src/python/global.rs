//! Bindings of the global-statistics search (`index/global.rs`) for sharded indexes: module functions
//! taking a `LexicalIndex`, kept apart from the class's own methods.

use std::collections::HashMap;

use pyo3::prelude::*;

use super::filter::{self, PyDocFilter};
use super::index::{hits, HitTuple, PyLexicalIndex};
use crate::index::{GlobalStats, LexicalStats};

/// (live documents, total length, [document frequency per term]) of `index` for `terms`.
#[pyfunction]
fn lexical_stats(py: Python<'_>, index: PyRef<'_, PyLexicalIndex>, terms: Vec<String>) -> PyResult<(u64, u64, Vec<u64>)> {
    let this: &PyLexicalIndex = &index; // a plain reference crosses `detach`; the PyRef does not
    let s: LexicalStats = py.detach(|| this.with(|ix| Ok(ix.lexical_stats(&terms))))?;
    Ok((s.n_docs, s.total_len, s.df))
}

/// Every term a text search for `query` may score on documents of `doc_langs` (or unknown language).
#[pyfunction]
#[pyo3(signature = (index, query, query_lang=None, doc_langs=Vec::new()),
       text_signature = "(index, query, query_lang=None, doc_langs=())")]
fn query_terms(py: Python<'_>, index: PyRef<'_, PyLexicalIndex>, query: &str, query_lang: Option<String>,
               doc_langs: Vec<String>) -> PyResult<Vec<String>> {
    let this: &PyLexicalIndex = &index;
    py.detach(|| this.with(|ix| ix.query_terms(query, query_lang.as_deref(), &doc_langs)))
}

fn global_stats(stats: (u64, u64, HashMap<String, u64>)) -> GlobalStats {
    GlobalStats { n_docs: stats.0, total_len: stats.1, df: stats.2 }
}

/// `LexicalIndex.search` scored with collection statistics (n_docs, total_len, {term: df}).
#[pyfunction]
#[pyo3(signature = (index, query, stats, k=10, query_lang=None, langs=None, only=None))]
#[allow(clippy::too_many_arguments)]
fn search_global(py: Python<'_>, index: PyRef<'_, PyLexicalIndex>, query: &str, stats: (u64, u64, HashMap<String, u64>),
                 k: usize, query_lang: Option<String>, langs: Option<Vec<String>>,
                 only: Option<&Bound<'_, PyDocFilter>>) -> PyResult<Vec<HitTuple>> {
    let stats = global_stats(stats);
    let only = filter::inner(only);
    let this: &PyLexicalIndex = &index;
    py.detach(|| {
        this.with(|ix| {
            let set = ix.allowed_docs(only.as_ref());
            ix.search_global(query, query_lang.as_deref(), k, langs.as_deref(), &stats, set.as_ref()).map(hits)
        })
    })
}

/// `LexicalIndex.search_terms` scored with collection statistics (n_docs, total_len, {term: df}).
#[pyfunction]
#[pyo3(signature = (index, terms, stats, k=10, langs=None, only=None))]
fn search_terms_global(py: Python<'_>, index: PyRef<'_, PyLexicalIndex>, terms: Vec<(String, f32)>,
                       stats: (u64, u64, HashMap<String, u64>), k: usize, langs: Option<Vec<String>>,
                       only: Option<&Bound<'_, PyDocFilter>>) -> PyResult<Vec<HitTuple>> {
    let stats = global_stats(stats);
    let only = filter::inner(only);
    let this: &PyLexicalIndex = &index;
    py.detach(|| {
        this.with(|ix| {
            let set = ix.allowed_docs(only.as_ref());
            ix.search_terms_global(&terms, k, langs.as_deref(), &stats, set.as_ref()).map(hits)
        })
    })
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(lexical_stats, m)?)?;
    m.add_function(wrap_pyfunction!(query_terms, m)?)?;
    m.add_function(wrap_pyfunction!(search_global, m)?)?;
    m.add_function(wrap_pyfunction!(search_terms_global, m)?)?;
    Ok(())
}
