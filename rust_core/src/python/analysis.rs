//! Text analysis and language functions: the analyzer, language tags, scripts, language detection.

use pyo3::prelude::*;

use super::errors::to_py;
use crate::analysis::Analyzer;
use crate::config::AnalyzerConfig;
use crate::script::Script;

#[pyfunction]
#[pyo3(signature = (text, lang=None, stem=true, stopwords=true))]
fn analyze(py: Python<'_>, text: &str, lang: Option<&str>, stem: bool, stopwords: bool) -> PyResult<Vec<String>> {
    let lang = lang.map(crate::lang::normalize_lang).transpose().map_err(to_py)?;
    let analyzer = Analyzer::new(AnalyzerConfig { stem, stopwords });
    Ok(py.detach(|| analyzer.analyze(text, lang.as_deref())))
}

#[pyfunction]
fn normalize_lang(tag: &str) -> PyResult<String> {
    crate::lang::normalize_lang(tag).map_err(to_py)
}

/// The ISO 15924 script most letters of `text` are in ("Latn", "Cyrl", "Hani", ...), or None.
#[pyfunction]
fn dominant_script(text: &str) -> Option<&'static str> {
    crate::script::dominant_script(text).map(Script::as_str)
}

/// The ISO 15924 script a language is written in, or None for an unknown code.
#[pyfunction]
fn language_script(lang: &str) -> Option<&'static str> {
    crate::lang::normalize_lang(lang).ok().and_then(|l| crate::lang::language_script(&l)).map(Script::as_str)
}

/// (language, confidence, reliable) or None; `candidates` (ISO 639-1 codes) limits the choice.
#[pyfunction]
#[pyo3(signature = (text, candidates=None))]
fn detect_language(py: Python<'_>, text: &str, candidates: Option<Vec<String>>) -> Option<(String, f64, bool)> {
    py.detach(|| crate::detect::detect_language_among(text, candidates.as_deref())).map(|d| (d.lang, d.confidence, d.reliable))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_lang, m)?)?;
    m.add_function(wrap_pyfunction!(detect_language, m)?)?;
    m.add_function(wrap_pyfunction!(dominant_script, m)?)?;
    m.add_function(wrap_pyfunction!(language_script, m)?)?;
    Ok(())
}
