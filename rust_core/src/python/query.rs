//! One query's whole retrieval: `FusionSettings` (a search engine's fusion config, built once),
//! `QueryPlan` (one query, built once per search) and the hits `LexicalIndex.retrieve` returns, as tuples
//! in the field order of `xlqe_lite.index.Hit` (a named tuple: Python makes each hit with one call).

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::errors::{to_py, InvalidInputError};
use super::filter::{self, PyDocFilter};
use crate::fusion::FusionMethod;
use crate::query::{Expansion, FusionSettings, Mode, Plan, Retrieved};

/// The fusion settings of a search engine (`search.FusionConfig`), given once for many queries.
#[pyclass(module = "xlqe_lite._core", name = "FusionSettings", frozen)]
pub(super) struct PyFusionSettings {
    inner: FusionSettings,
}

#[pymethods]
impl PyFusionSettings {
    #[new]
    #[pyo3(signature = (*, method, rrf_k, same_language, same_script, other_script, dense, passage_weight,
                        expansion_lexical, expansion_term_mass, depth, pooled, calibration_heads,
                        calibrate_on_dense, min_calibration, centroid_shift, centroid_min_documents))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        method: &str,
        rrf_k: f32,
        same_language: f64,
        same_script: f64,
        other_script: f64,
        dense: f64,
        passage_weight: f32,
        expansion_lexical: f64,
        expansion_term_mass: f64,
        depth: usize,
        pooled: bool,
        calibration_heads: Vec<usize>,
        calibrate_on_dense: bool,
        min_calibration: usize,
        centroid_shift: f64,
        centroid_min_documents: usize,
    ) -> PyResult<Self> {
        if !centroid_shift.is_finite() || centroid_shift < 0.0 {
            return Err(InvalidInputError::new_err(format!("centroid_shift must be a finite number >= 0, got {centroid_shift}")));
        }
        if calibration_heads.is_empty() {
            return Err(InvalidInputError::new_err("calibration needs at least one head"));
        }
        let method = FusionMethod::parse(method, rrf_k).map_err(to_py)?;
        Ok(PyFusionSettings {
            inner: FusionSettings {
                method,
                same_language,
                same_script,
                other_script,
                dense,
                passage_weight,
                expansion_lexical,
                expansion_term_mass,
                depth,
                pooled,
                calibration_heads,
                calibrate_on_dense,
                min_calibration,
                centroid_shift,
                centroid_min_documents,
            },
        })
    }
}

/// One query as `LexicalIndex.retrieve` runs it. `expansions`: (target language or None for the
/// query's, [(text, trust)]), the texts that passed the similarity screen.
#[pyclass(module = "xlqe_lite._core", name = "QueryPlan", frozen)]
pub(super) struct PyQueryPlan {
    pub(super) inner: Plan,
}

#[pymethods]
impl PyQueryPlan {
    #[new]
    #[pyo3(signature = (query, fusion, *, k=10, mode="hybrid", query_lang=None, langs=None, vector=None,
                        expansions=Vec::new(), explain=false, snippet_chars=None, only=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        query: String,
        fusion: &Bound<'_, PyFusionSettings>,
        k: usize,
        mode: &str,
        query_lang: Option<String>,
        langs: Option<Vec<String>>,
        vector: Option<PyReadonlyArray1<'_, f32>>,
        expansions: Vec<(Option<String>, Vec<(String, f64)>)>,
        explain: bool,
        snippet_chars: Option<usize>,
        only: Option<&Bound<'_, PyDocFilter>>,
    ) -> PyResult<Self> {
        let mode = match mode {
            "hybrid" => Mode::Hybrid,
            "bm25" => Mode::Bm25,
            "dense" => Mode::Dense,
            other => return Err(InvalidInputError::new_err(format!("unknown mode {other:?} (hybrid, bm25, dense)"))),
        };
        let vector = match &vector {
            None => None,
            Some(v) => Some(
                v.as_slice().map_err(|_| InvalidInputError::new_err("the query vector must be a contiguous float32 array"))?.to_vec(),
            ),
        };
        if mode != Mode::Bm25 && vector.is_none() {
            return Err(InvalidInputError::new_err("a hybrid or dense search needs the query's vector"));
        }
        Ok(PyQueryPlan {
            inner: Plan {
                query,
                query_lang,
                k,
                mode,
                langs: langs.filter(|l| !l.is_empty()),
                vector,
                expansions: expansions.into_iter().map(|(lang, texts)| Expansion { lang, texts }).collect(),
                explain,
                snippet_chars,
                fusion: fusion.get().inner.clone(),
                filter: filter::inner(only),
            },
        })
    }
}

/// A hit as (id, score, lang, key, snippet, highlights, explanation, place): explanation None or
/// (query script, [(list name, (rank, score, weight) or None)], (group, fused, z) or None), place None or
/// a dict.
pub(super) fn retrieved_tuple(py: Python<'_>, h: Retrieved) -> PyResult<Bound<'_, PyTuple>> {
    let highlights = PyTuple::new(py, h.highlights)?;
    let explanation = match h.explain {
        None => py.None().into_bound(py),
        Some(e) => {
            let lists: Vec<(String, Option<(usize, f32, f64)>)> =
                e.lists.into_iter().map(|(name, entry)| (name, entry.map(|x| (x.rank, x.score, x.weight)))).collect();
            (e.query_script, lists, e.calibration).into_pyobject(py)?.into_any()
        }
    };
    let place = match h.place {
        None => py.None().into_bound(py),
        Some(place) => {
            let d = PyDict::new(py);
            for (name, value) in place {
                d.set_item(name, pythonize::pythonize(py, &value).map_err(|e| InvalidInputError::new_err(e.to_string()))?)?;
            }
            d.into_any()
        }
    };
    (h.id, h.score, h.lang, h.key, h.snippet, highlights, explanation, place).into_pyobject(py)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFusionSettings>()?;
    m.add_class::<PyQueryPlan>()?;
    Ok(())
}
