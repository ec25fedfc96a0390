//! PyO3 bindings: the `xlqe_lite._core` extension module. Thin by design: each method converts
//! arguments, releases the GIL around the real work, and maps errors to the exception hierarchy.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::RwLock;

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::analysis::Analyzer;
use crate::config::{AnalyzerConfig, IndexConfig, Metric, Storage, VectorConfig};
use crate::error::Error;
use crate::index::{Document, Index};
use crate::script::Script;
use crate::snippet::make_snippet;

mod global;

create_exception!(_core, XlqeError, PyException, "Base class of every error xlqe-lite raises.");
create_exception!(_core, InvalidInputError, XlqeError, "An argument cannot be used (empty query, unknown language code, bad id, ...).");
create_exception!(_core, IndexNotFoundError, XlqeError, "No index exists at the given path.");
create_exception!(_core, IndexCorruptError, XlqeError, "The directory is not an xlqe index, or its files are damaged.");
create_exception!(_core, FormatVersionError, IndexCorruptError, "The index was written by an incompatible format version.");
create_exception!(_core, IndexLockedError, XlqeError, "Another writer holds the index's lock.");

fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidInput(_) => InvalidInputError::new_err(msg),
        Error::NotFound(_) => IndexNotFoundError::new_err(msg),
        Error::Corrupt { .. } => IndexCorruptError::new_err(msg),
        Error::FormatVersion { .. } => FormatVersionError::new_err(msg),
        Error::Locked(_) => IndexLockedError::new_err(msg),
        Error::Io { .. } | Error::Vector(_) => XlqeError::new_err(msg),
    }
}

/// Byte offset in `s` to a Python (code point) index.
fn char_index(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

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

type HitTuple = (String, f32, Option<String>, u64);

#[pyclass(module = "xlqe_lite._core", name = "LexicalIndex")]
struct PyLexicalIndex {
    inner: RwLock<Option<Index>>,
    path: PathBuf,
}

impl PyLexicalIndex {
    fn with<T>(&self, f: impl FnOnce(&Index) -> crate::Result<T>) -> PyResult<T> {
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

fn vector_config(d: &Bound<'_, PyDict>) -> PyResult<VectorConfig> {
    let dims: usize = d.get_item("dims")?.ok_or_else(|| InvalidInputError::new_err("vectors needs \"dims\""))?.extract()?;
    let mut c = VectorConfig::new(dims);
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        match key.as_str() {
            "dims" => {}
            "metric" => {
                c.metric = match v.extract::<String>()?.as_str() {
                    "cosine" => Metric::Cosine,
                    "ip" => Metric::Ip,
                    "l2" => Metric::L2,
                    other => return Err(InvalidInputError::new_err(format!("unknown metric {other:?} (cosine, ip, l2)"))),
                }
            }
            "storage" => {
                c.storage = match v.extract::<String>()?.as_str() {
                    "f32" => Storage::F32,
                    "f16" => Storage::F16,
                    "i8" => Storage::I8,
                    other => return Err(InvalidInputError::new_err(format!("unknown storage {other:?} (f32, f16, i8)"))),
                }
            }
            "connectivity" => c.connectivity = v.extract()?,
            "expansion_add" => c.expansion_add = v.extract()?,
            "expansion_search" => c.expansion_search = v.extract()?,
            "exact_below" => c.exact_below = v.extract()?,
            "model" => c.model = v.extract()?,
            "passage_tokens" => c.passage_tokens = v.extract()?,
            "passage_stride" => c.passage_stride = v.extract()?,
            other => return Err(InvalidInputError::new_err(format!("unknown vector setting {other:?}"))),
        }
    }
    c.validate().map_err(to_py)?;
    Ok(c)
}

fn vector_config_dict<'py>(py: Python<'py>, c: &VectorConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("dims", c.dims)?;
    d.set_item("metric", match c.metric { Metric::Cosine => "cosine", Metric::Ip => "ip", Metric::L2 => "l2" })?;
    d.set_item("storage", match c.storage { Storage::F32 => "f32", Storage::F16 => "f16", Storage::I8 => "i8" })?;
    d.set_item("connectivity", c.connectivity)?;
    d.set_item("expansion_add", c.expansion_add)?;
    d.set_item("expansion_search", c.expansion_search)?;
    d.set_item("exact_below", c.exact_below)?;
    d.set_item("model", c.model.clone())?;
    d.set_item("passage_tokens", c.passage_tokens)?;
    d.set_item("passage_stride", c.passage_stride)?;
    Ok(d)
}

/// The rows of a passage matrix, borrowed from numpy (none when there is no matrix).
fn passage_rows<'a>(passages: &'a Option<PyReadonlyArray2<'_, f32>>) -> PyResult<Vec<&'a [f32]>> {
    let Some(p) = passages else { return Ok(Vec::new()) };
    let flat = p.as_slice().map_err(|_| InvalidInputError::new_err("passages must be a C-contiguous float32 array"))?;
    Ok(flat.chunks(p.shape()[1].max(1)).collect())
}

fn hits(h: Vec<crate::Hit>) -> Vec<HitTuple> {
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

    /// {"k1", "b", "stem", "stopwords"}
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.with(|ix| Ok(ix.config()))?;
        let d = PyDict::new(py);
        d.set_item("k1", c.k1)?;
        d.set_item("b", c.b)?;
        d.set_item("stem", c.analyzer.stem)?;
        d.set_item("stopwords", c.analyzer.stopwords)?;
        match &c.vectors {
            Some(v) => d.set_item("vectors", vector_config_dict(py, v)?)?,
            None => d.set_item("vectors", py.None())?,
        }
        Ok(d)
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
    /// before it.
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
        py.detach(|| {
            self.with_mut(|ix| {
                let mut start = 0;
                docs.into_iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let n = counts.get(i).copied().unwrap_or(0);
                        let own = &passage_rows[start..start + n];
                        start += n;
                        ix.add_with_passages(d, matrix.map(|(flat, dims)| &flat[i * dims..(i + 1) * dims]), own)
                    })
                    .collect()
            })
        })
    }

    /// HNSW search breadth (ef) for this handle; higher is slower and more exact. Not persisted.
    fn set_vector_expansion_search(&self, ef: usize) -> PyResult<()> {
        self.with_mut(|ix| ix.set_vector_expansion_search(ef))
    }

    /// [(id, similarity, lang, key)] of the `k` nearest documents by vector; `passage_weight` is the
    /// share of a document's best passage in its score.
    #[pyo3(signature = (query, k=10, langs=None, passage_weight=0.0))]
    fn search_vector(
        &self,
        py: Python<'_>,
        query: PyReadonlyArray1<'_, f32>,
        k: usize,
        langs: Option<Vec<String>>,
        passage_weight: f32,
    ) -> PyResult<Vec<HitTuple>> {
        let q = query.as_slice().map_err(|_| InvalidInputError::new_err("the query vector must be a contiguous float32 array"))?;
        py.detach(|| self.with(|ix| ix.search_vector(q, k, langs.as_deref(), passage_weight).map(hits)))
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

    /// [(id, score, lang, key)], best first.
    #[pyo3(signature = (query, k=10, query_lang=None, langs=None))]
    fn search(&self, py: Python<'_>, query: &str, k: usize, query_lang: Option<String>, langs: Option<Vec<String>>) -> PyResult<Vec<HitTuple>> {
        py.detach(|| self.with(|ix| ix.search(query, query_lang.as_deref(), k, langs.as_deref()).map(hits)))
    }

    /// Scores already analysed, weighted terms: [(term, weight)].
    #[pyo3(signature = (terms, k=10, langs=None))]
    fn search_terms(&self, py: Python<'_>, terms: Vec<(String, f32)>, k: usize, langs: Option<Vec<String>>) -> PyResult<Vec<HitTuple>> {
        py.detach(|| self.with(|ix| ix.search_terms(&terms, k, langs.as_deref()).map(hits)))
    }

    /// The query's weighted terms as documents of `doc_lang` would see them.
    #[pyo3(signature = (query, doc_lang=None, query_lang=None))]
    fn analyze_query(&self, py: Python<'_>, query: &str, doc_lang: Option<String>, query_lang: Option<String>) -> PyResult<Vec<(String, f32)>> {
        py.detach(|| self.with(|ix| ix.analyze_query(query, doc_lang.as_deref(), query_lang.as_deref())))
    }

    /// {"id", "text", "lang", "metadata" (JSON text), "key"} or None.
    fn get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(doc) = py.detach(|| self.with(|ix| Ok(ix.get(id))))? else { return Ok(None) };
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

    /// (snippet, [(start, end)] highlight ranges in characters) for document `id` and `query`;
    /// `within` = (start, end) character offsets cuts the snippet from that part of the text only.
    #[pyo3(signature = (id, query, max_chars=200, within=None))]
    fn snippet(&self, py: Python<'_>, id: &str, query: &str, max_chars: usize, within: Option<(usize, usize)>) -> PyResult<Option<(String, Vec<(usize, usize)>)>> {
        py.detach(|| {
            self.with(|ix| {
                let Some(mut doc) = ix.get(id) else { return Ok(None) };
                if let Some((start, end)) = within {
                    let byte = |c: usize| doc.text.char_indices().nth(c).map_or(doc.text.len(), |(b, _)| b);
                    let (a, b) = (byte(start), byte(end.max(start)));
                    doc.text = doc.text[a..b].to_string();
                }
                let terms: HashSet<String> = ix
                    .analyze_query(query, doc.lang.as_deref(), None)
                    .map(|t| t.into_iter().map(|(t, _)| t).collect())
                    .unwrap_or_default();
                let s = make_snippet(ix.analyzer(), &doc.text, doc.lang.as_deref(), &terms, max_chars);
                let ranges = s.highlights.iter().map(|&(a, b)| (char_index(&s.text, a), char_index(&s.text, b))).collect();
                Ok(Some((s.text, ranges)))
            })
        })
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

/// Fuses ranked lists of (id, score), best first, with one weight per list. Returns
/// [(id, fused score, [(rank, score) or None per list])], best first.
/// `item_weights`, when given, holds per list None or one multiplier per item of that list.
#[pyfunction]
#[pyo3(signature = (lists, weights, method="rrf", rrf_k=60.0, k=10, item_weights=None))]
#[allow(clippy::type_complexity)]
fn fuse(
    py: Python<'_>,
    lists: Vec<Vec<(String, f32)>>,
    weights: Vec<f32>,
    method: &str,
    rrf_k: f32,
    k: usize,
    item_weights: Option<Vec<Option<Vec<f32>>>>,
) -> PyResult<Vec<(String, f32, Vec<Option<(usize, f32)>>)>> {
    let method = crate::fusion::FusionMethod::parse(method, rrf_k).map_err(to_py)?;
    let fused = py
        .detach(|| crate::fusion::fuse_weighted(&lists, &weights, item_weights.as_deref(), method, k))
        .map_err(to_py)?;
    Ok(fused.into_iter().map(|f| (f.key, f.score, f.sources)).collect())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_lang, m)?)?;
    m.add_function(wrap_pyfunction!(detect_language, m)?)?;
    m.add_function(wrap_pyfunction!(fuse, m)?)?;
    m.add_function(wrap_pyfunction!(dominant_script, m)?)?;
    m.add_function(wrap_pyfunction!(language_script, m)?)?;
    m.add_class::<PyLexicalIndex>()?;
    global::register(m)?;
    m.add("XlqeError", py.get_type::<XlqeError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("IndexNotFoundError", py.get_type::<IndexNotFoundError>())?;
    m.add("IndexCorruptError", py.get_type::<IndexCorruptError>())?;
    m.add("FormatVersionError", py.get_type::<FormatVersionError>())?;
    m.add("IndexLockedError", py.get_type::<IndexLockedError>())?;
    Ok(())
}
