//! Index settings across the boundary, through serde (`pythonize`): Python's `vectors` dict is read
//! into [`VectorConfig`] by the config's own `Deserialize` (so the names and values are the ones the
//! manifest stores), and configs go back to Python as dicts by its `Serialize`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;
use serde_json::{Map, Value};

use super::errors::{to_py, InvalidInputError, XlqeError};
use crate::config::{IndexConfig, VectorConfig};

/// The vector settings `d` gives: {"dims", "metric": cosine|ip|l2, "storage": f32|f16|i8, ...}, every
/// setting but `dims` optional (the defaults of [`VectorConfig::new`]), checked.
pub(super) fn vector_config(d: &Bound<'_, PyDict>) -> PyResult<VectorConfig> {
    let given: Map<String, Value> = pythonize::depythonize(d.as_any())
        .map_err(|e| InvalidInputError::new_err(format!("vector settings must be a dict of plain values: {e}")))?;
    let dims = given.get("dims").ok_or_else(|| InvalidInputError::new_err("vectors needs \"dims\""))?;
    let dims: usize = serde_json::from_value(dims.clone())
        .map_err(|e| InvalidInputError::new_err(format!("invalid dims {dims}: {e}")))?;
    let Value::Object(mut settings) = serde_json::to_value(VectorConfig::new(dims)).expect("a config serialises") else {
        unreachable!("a struct serialises to an object")
    };
    for (key, value) in given {
        if !settings.contains_key(&key) {
            return Err(InvalidInputError::new_err(format!("unknown vector setting {key:?}")));
        }
        settings.insert(key.clone(), value.clone());
        // Each setting is read as it is given, so an error names it.
        if let Err(e) = serde_json::from_value::<VectorConfig>(Value::Object(settings.clone())) {
            let what = if e.to_string().starts_with("unknown variant") { "unknown" } else { "invalid" };
            return Err(InvalidInputError::new_err(format!("{what} {key} {value}: {e}")));
        }
    }
    let config: VectorConfig = serde_json::from_value(Value::Object(settings)).expect("checked setting by setting");
    config.validate().map_err(to_py)?;
    Ok(config)
}

/// What `LexicalIndex.config` shows: {"k1", "b", "stem", "stopwords", "vectors": dict or None}.
#[derive(Serialize)]
struct ConfigView<'a> {
    k1: f32,
    b: f32,
    stem: bool,
    stopwords: bool,
    vectors: &'a Option<VectorConfig>,
}

pub(super) fn config_dict<'py>(py: Python<'py>, c: &IndexConfig) -> PyResult<Bound<'py, PyAny>> {
    let view = ConfigView { k1: c.k1, b: c.b, stem: c.analyzer.stem, stopwords: c.analyzer.stopwords, vectors: &c.vectors };
    pythonize::pythonize(py, &view).map_err(|e| XlqeError::new_err(e.to_string()))
}
