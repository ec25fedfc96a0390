//! Fusion of ranked lists.

use pyo3::prelude::*;

use numpy::PyReadonlyArray1;

use super::errors::{to_py, InvalidInputError};

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

/// `query` moved from one language's documents toward another's (the core's `index::move_query`): each
/// language given as the (sum, count) of its documents' vectors (`LexicalIndex.language_vector_sum`, added
/// up over a sharded index's shards). None when it does not move.
#[pyfunction]
fn move_query(query: PyReadonlyArray1<'_, f32>, from_sum: Vec<f64>, from_count: usize, to_sum: Vec<f64>, to_count: usize,
              alpha: f64) -> PyResult<Option<Vec<f32>>> {
    let q = query.as_slice().map_err(|_| InvalidInputError::new_err("the query vector must be a contiguous float32 array"))?;
    if from_count == 0 || to_count == 0 {
        return Err(InvalidInputError::new_err("a centroid of no vectors"));
    }
    let (from, to) = (crate::index::centroid_of(&from_sum, from_count), crate::index::centroid_of(&to_sum, to_count));
    crate::index::move_query(q, &from, &to, alpha).map_err(to_py)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fuse, m)?)?;
    m.add_function(wrap_pyfunction!(move_query, m)?)?;
    Ok(())
}
