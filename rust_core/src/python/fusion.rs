//! Fusion of ranked lists.

use pyo3::prelude::*;

use super::errors::to_py;

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

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fuse, m)?)?;
    Ok(())
}
