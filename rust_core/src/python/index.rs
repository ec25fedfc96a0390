//! The `LexicalIndex` class: one open index (a reader, or the writer), its documents, searches and
//! commits. Hits cross as (id, score, lang, key) tuples.

use std::path::PathBuf;
use std::sync::RwLock;

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::config::{config_dict, vector_config};
use super::errors::{to_py, InvalidInputError, XlqeError};
use super::filter::{self, PyDocFilter};
use super::query::{retrieved_tuple, PyQueryPlan};
use crate::config::{AnalyzerConfig, IndexConfig};
use crate::index::{Document, Index};
use crate::query::snippets::{char_ranges, snippet_of};

pub(super) type HitTuple = (String, f32, Option<String>, u64);

#[pyclass(module = "xlqe_lite._core", name = "LexicalIndex")]
pub(super) struct PyLexicalIndex {
    inner: RwLock<Option<Index>>,
    path: PathBuf,
}

impl PyLexicalIndex {
    pub(super) fn with<T>(&self, f: impl FnOnce(&Index) -> crate::Result<T>) -> PyResult<T> {
        let guard = self.inner.read().map_err(|_| XlqeError::new_err("index lock poisoned"))?;
        let index = guard.as_ref().ok_or_else(|| InvalidInputError::new_err("the index is closed"))?;
        f(index).map_err(to_py)
    }
    fn with_mut<T>(&self, f: impl FnOnce(&mut Index) -> crate::Result<T>) -> PyResult<T> {
        let mut guard = self.inner.write().map_err(|_| XlqeError::new_err("index lock poisoned"))?;
        let index = guard.as_mut().ok_or_else(|| InvalidInputError::new_err("the index is closed"))?;
        f(index).map_err(to_py)
    }
}

/// The rows of a passage matrix, borrowed from numpy (none when there is no matrix).
fn passage_rows<'a>(passages: &'a Option<PyReadonlyArray2<'_, f32>>) -> PyResult<Vec<&'a [f32]>> {
    let Some(p) = passages else { return Ok(Vec::new()) };
    let flat = p.as_slice().map_err(|_| InvalidInputError::new_err("passages must be a C-contiguous float32 array"))?;
    Ok(flat.chunks(p.shape()[1].max(1)).collect())
}

pub(super) fn hits(h: Vec<crate::Hit>) -> Vec<HitTuple> {
    h.into_iter().map(|h| (h.id, h.score, h.lang, h.key)).collect()
}

#[pymethods]
impl PyLexicalIndex {
    /// `vectors` configures dense vectors: {"dims", "metric": cosine|ip|l2, "storage": f32|f16|i8,
    /// "connectivity", "expansion_add", "expansion_search", "exact_below"} (all but dims optional).
    #[staticmethod]
    #[pyo3(signature = (path, k1=1.2, b=0.75, stem=true, stopwords=true, vectors=None))]
    fn create(py: Python<'_>, path: PathBuf, k1: f32, b: f32, stem: bool, stopwords: bool, vectors: Option<Bound<'_, PyDict>>) -> PyResult<Self> {
        let vectors = vectors.map(|d| vector_config(&d)).transpose()?;
        let config = IndexConfig { k1, b, analyzer: AnalyzerConfig { stem, stopwords }, vectors };
        let index = py.detach(|| Index::create(&path, config)).map_err(to_py)?;
        Ok(PyLexicalIndex { inner: RwLock::new(Some(index)), path })
    }

    #[staticmethod]
    #[pyo3(signature = (path, writer=false))]
    fn open(py: Python<'_>, path: PathBuf, writer: bool) -> PyResult<Self> {
        let index = py.detach(|| Index::open(&path, writer)).map_err(to_py)?;
        Ok(PyLexicalIndex { inner: RwLock::new(Some(index)), path })
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    #[getter]
    fn is_writer(&self) -> PyResult<bool> {
        self.with(|ix| Ok(ix.is_writer()))
    }

    #[getter]
    fn generation(&self) -> PyResult<u64> {
        self.with(|ix| Ok(ix.generation()))
    }

    #[getter]
    fn has_uncommitted_changes(&self) -> PyResult<bool> {
        self.with(|ix| Ok(ix.has_uncommitted_changes()))
    }

    /// {"k1", "b", "stem", "stopwords", "vectors": {"dims", "metric", "storage", ...} or None}
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.with(|ix| Ok(ix.config()))?;
        config_dict(py, &c)
    }

    #[getter]
    fn vector_count(&self) -> PyResult<usize> {
        self.with(|ix| Ok(ix.vector_count()))
    }

    fn __len__(&self) -> PyResult<usize> {
        self.with(|ix| Ok(ix.len()))
    }

    fn __contains__(&self, id: &str) -> PyResult<bool> {
        self.with(|ix| Ok(ix.contains(id)))
    }

    /// `passages`: the document's passage vectors, one per row (float32, C order).
    #[pyo3(signature = (id, text, lang=None, metadata=None, vector=None, passages=None))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        id: String,
        text: String,
        lang: Option<String>,
        metadata: Option<String>,
        vector: Option<PyReadonlyArray1<'_, f32>>,
        passages: Option<PyReadonlyArray2<'_, f32>>,
    ) -> PyResult<u64> {
        let doc = Document { id, text, lang, metadata: metadata.unwrap_or_default() };
        let vector = vector.as_ref().map(|v| v.as_slice()).transpose().map_err(|_| InvalidInputError::new_err("the vector must be a contiguous float32 array"))?;
        let rows = passage_rows(&passages)?;
        py.detach(|| self.with_mut(|ix| ix.add_with_passages(doc, vector, &rows)))
    }

    /// Adds (id, text, lang, metadata_json) tuples, with row i of `vectors` (float32, C order) as the
    /// vector of document i, and, given `passages` and `passage_counts`, the next `passage_counts[i]`
    /// rows of `passages` as document i's passage vectors. Stops at the first invalid one, keeping those
    /// before it. The texts are analysed on as many threads as the machine has cores.
    #[pyo3(signature = (docs, vectors=None, passages=None, passage_counts=None))]
    fn add_many(
        &self,
        py: Python<'_>,
        docs: Vec<(String, String, Option<String>, Option<String>)>,
        vectors: Option<PyReadonlyArray2<'_, f32>>,
        passages: Option<PyReadonlyArray2<'_, f32>>,
        passage_counts: Option<Vec<usize>>,
    ) -> PyResult<Vec<u64>> {
        let docs: Vec<Document> = docs
            .into_iter()
            .map(|(id, text, lang, metadata)| Document { id, text, lang, metadata: metadata.unwrap_or_default() })
            .collect();
        // Borrowed from numpy without a copy; rows are sliced from it.
        let matrix = match &vectors {
            None => None,
            Some(v) => {
                let shape = v.shape().to_vec();
                if shape[0] != docs.len() {
                    return Err(InvalidInputError::new_err(format!("{} documents but {} vectors", docs.len(), shape[0])));
                }
                let flat = v.as_slice().map_err(|_| InvalidInputError::new_err("vectors must be a C-contiguous float32 array"))?;
                Some((flat, shape[1]))
            }
        };
        let passage_rows = passage_rows(&passages)?;
        let counts = passage_counts.unwrap_or_default();
        if passages.is_some() || !counts.is_empty() {
            if counts.len() != docs.len() {
                return Err(InvalidInputError::new_err(format!("{} documents but {} passage counts", docs.len(), counts.len())));
            }
            let rows = passage_rows.len();
            if counts.iter().try_fold(0usize, |a, &c| a.checked_add(c)) != Some(rows) {
                return Err(InvalidInputError::new_err(format!("the passage counts do not add up to the {rows} passage rows")));
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        py.detach(|| {
            self.with_mut(|ix| {
                let mut start = 0;
                let batch = docs
                    .into_iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let n = counts.get(i).copied().unwrap_or(0);
                        let own = &passage_rows[start..start + n];
                        start += n;
                        (d, matrix.map(|(flat, dims)| &flat[i * dims..(i + 1) * dims]), own)
                    })
                    .collect();
                ix.add_batch(batch, threads)
            })
        })
    }

    /// HNSW search breadth (ef) for this handle; higher is slower and more exact. Not persisted.
    fn set_vector_expansion_search(&self, ef: usize) -> PyResult<()> {
        self.with_mut(|ix| ix.set_vector_expansion_search(ef))
    }

    /// [(id, similarity, lang, key)] of the `k` nearest documents by vector; `passage_weight` is the
    /// share of a document's best passage in its score.
    #[pyo3(signature = (query, k=10, langs=None, passage_weight=0.0, only=None))]
    fn search_vector(
        &self,
        py: Python<'_>,
        query: PyReadonlyArray1<'_, f32>,
        k: usize,
        langs: Option<Vec<String>>,
        passage_weight: f32,
        only: Option<&Bound<'_, PyDocFilter>>,
    ) -> PyResult<Vec<HitTuple>> {
        let q = query.as_slice().map_err(|_| InvalidInputError::new_err("the query vector must be a contiguous float32 array"))?;
        let only = filter::inner(only);
        py.detach(|| {
            self.with(|ix| {
                let set = ix.allowed_docs(only.as_ref());
                ix.search_vector_in(q, k, langs.as_deref(), passage_weight, set.as_ref()).map(hits)
            })
        })
    }

    /// How many passage vectors the index holds.
    #[getter]
    fn passage_count(&self) -> PyResult<usize> {
        self.with(|ix| Ok(ix.passage_count()))
    }

    fn delete(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        py.detach(|| self.with_mut(|ix| ix.delete(id)))
    }

    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.with_mut(|ix| ix.commit()))
    }

    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.with_mut(|ix| ix.rollback()))
    }

    /// Picks up the latest commit (readers); returns whether anything changed. The new state loads
    /// while other threads go on searching the old one; the swap itself waits only for the searches
    /// running at that moment.
    fn reload(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| {
            let Some(fresh) = self.with(|ix| ix.reopened())? else { return Ok(false) };
            let mut guard = self.inner.write().map_err(|_| XlqeError::new_err("index lock poisoned"))?;
            let index = guard.as_mut().ok_or_else(|| InvalidInputError::new_err("the index is closed"))?;
            if fresh.generation() > index.generation() {
                *index = fresh; // a concurrent reload may have swapped in this commit, or a later one
            }
            Ok(true)
        })
    }

    /// Releases the index (and a writer's lock). Uncommitted changes are dropped.
    fn close(&self) -> PyResult<()> {
        let mut guard = self.inner.write().map_err(|_| XlqeError::new_err("index lock poisoned"))?;
        *guard = None;
        Ok(())
    }

    #[getter]
    fn closed(&self) -> PyResult<bool> {
        Ok(self.inner.read().map_err(|_| XlqeError::new_err("index lock poisoned"))?.is_none())
    }

    /// [(id, score, lang, key)], best first; `only`: the documents a `DocFilter` allows.
    #[pyo3(signature = (query, k=10, query_lang=None, langs=None, only=None))]
    fn search(&self, py: Python<'_>, query: &str, k: usize, query_lang: Option<String>, langs: Option<Vec<String>>,
              only: Option<&Bound<'_, PyDocFilter>>) -> PyResult<Vec<HitTuple>> {
        let only = filter::inner(only);
        py.detach(|| {
            self.with(|ix| {
                let set = ix.allowed_docs(only.as_ref());
                ix.search_in(query, query_lang.as_deref(), k, langs.as_deref(), set.as_ref()).map(hits)
            })
        })
    }

    /// Scores already analysed, weighted terms: [(term, weight)].
    #[pyo3(signature = (terms, k=10, langs=None, only=None))]
    fn search_terms(&self, py: Python<'_>, terms: Vec<(String, f32)>, k: usize, langs: Option<Vec<String>>,
                    only: Option<&Bound<'_, PyDocFilter>>) -> PyResult<Vec<HitTuple>> {
        let only = filter::inner(only);
        py.detach(|| {
            self.with(|ix| {
                let set = ix.allowed_docs(only.as_ref());
                ix.search_terms_in(&terms, k, langs.as_deref(), set.as_ref()).map(hits)
            })
        })
    }

    /// The query's weighted terms as documents of `doc_lang` would see them.
    #[pyo3(signature = (query, doc_lang=None, query_lang=None))]
    fn analyze_query(&self, py: Python<'_>, query: &str, doc_lang: Option<String>, query_lang: Option<String>) -> PyResult<Vec<(String, f32)>> {
        py.detach(|| self.with(|ix| ix.analyze_query(query, doc_lang.as_deref(), query_lang.as_deref())))
    }

    /// {"id", "text", "lang", "metadata" (JSON text), "key"} or None.
    fn get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(doc) = py.detach(|| self.with(|ix| ix.get(id)))? else { return Ok(None) };
        let d = PyDict::new(py);
        d.set_item("id", doc.id)?;
        d.set_item("text", doc.text)?;
        d.set_item("lang", doc.lang)?;
        d.set_item("metadata", doc.metadata)?;
        d.set_item("key", doc.key)?;
        Ok(Some(d))
    }

    /// (window number, similarity) of the passage of document `id` nearest to `query`, or None.
    fn best_passage(&self, py: Python<'_>, id: &str, query: PyReadonlyArray1<'_, f32>) -> PyResult<Option<(usize, f32)>> {
        let q = query.as_slice().map_err(|_| InvalidInputError::new_err("the query vector must be a contiguous float32 array"))?;
        py.detach(|| self.with(|ix| ix.best_passage(id, q)))
    }

    /// (sum in f64, count) of the vectors of language `lang`'s documents (None: of no language), or None.
    #[pyo3(signature = (lang))]
    fn language_vector_sum(&self, py: Python<'_>, lang: Option<&str>) -> PyResult<Option<(Vec<f64>, usize)>> {
        py.detach(|| self.with(|ix| Ok(ix.language_vector_sum(lang)?.map(|s| s.as_ref().clone()))))
    }

    /// (snippet, [(start, end)] highlight ranges in characters) for document `id` and `query`;
    /// `within` = (start, end) character offsets cuts the snippet from that part of the text only.
    #[pyo3(signature = (id, query, max_chars=200, within=None))]
    fn snippet(&self, py: Python<'_>, id: &str, query: &str, max_chars: usize, within: Option<(usize, usize)>) -> PyResult<Option<(String, Vec<(usize, usize)>)>> {
        py.detach(|| {
            self.with(|ix| {
                let Some(doc) = ix.get(id)? else { return Ok(None) };
                let s = snippet_of(ix, &doc, query, max_chars, within);
                let ranges = char_ranges(&s);
                Ok(Some((s.text, ranges)))
            })
        })
    }

    /// A query's whole retrieval in one call (see `QueryPlan`): its hits, best first, each
    /// (id, score, lang, key, snippet, highlights, explanation data or None, place or None).
    fn retrieve<'py>(&self, py: Python<'py>, plan: &Bound<'py, PyQueryPlan>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let plan = plan.get();
        let found = py.detach(|| self.with(|ix| crate::query::retrieve(ix, &plan.inner)))?;
        found.into_iter().map(|h| retrieved_tuple(py, h)).collect()
    }

    /// [(language, live documents)], most frequent first.
    fn languages(&self) -> PyResult<Vec<(String, usize)>> {
        self.with(|ix| Ok(ix.languages()))
    }

    fn ids(&self) -> PyResult<Vec<String>> {
        self.with(|ix| Ok(ix.ids()))
    }

    /// Full consistency check of the committed state; the problems found (empty when consistent).
    fn verify(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.with(|ix| Ok(ix.verify())))
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLexicalIndex>()
}
