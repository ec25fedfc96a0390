//! The settings an index is created with and keeps in its manifest: BM25 and analysis ([`IndexConfig`],
//! [`AnalyzerConfig`]) and dense vectors ([`VectorConfig`], [`Metric`], [`Storage`]). Plain data with
//! their checks; they depend on nothing else in the crate, so every room can read them (storage writes
//! them, the analyzer and the vector index follow them) without importing each other.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings fixed when the index is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    /// BM25 term-frequency saturation.
    pub k1: f32,
    /// BM25 length normalisation.
    pub b: f32,
    pub analyzer: AnalyzerConfig,
    /// Dense vectors, when the index holds them.
    #[serde(default)]
    pub vectors: Option<VectorConfig>,
}

impl IndexConfig {
    /// Refuses settings no index can work with (an `InvalidInput` naming the setting).
    pub fn validate(&self) -> Result<()> {
        if !(self.k1 >= 0.0 && self.k1.is_finite() && (0.0..=1.0).contains(&self.b)) {
            return Err(Error::InvalidInput(format!("BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={} b={}", self.k1, self.b)));
        }
        match &self.vectors {
            Some(v) => v.validate(),
            None => Ok(()),
        }
    }
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig { k1: 1.2, b: 0.75, analyzer: AnalyzerConfig::default(), vectors: None }
    }
}

/// What the analyzer does beyond segmentation and normalisation; stored with an index so that queries are
/// analysed the way its documents were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerConfig {
    /// Snowball stemming (and a light Hindi stemmer) when the language is known.
    pub stem: bool,
    /// Drop the language's stop words when the language is known.
    pub stopwords: bool,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig { stem: true, stopwords: true }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Cosine similarity (vectors need not be normalised).
    Cosine,
    /// Inner product (for normalised vectors, the same ranking as cosine, and cheaper).
    Ip,
    /// Negative squared Euclidean distance.
    L2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    F32,
    F16,
    I8,
}

/// How vectors are stored and searched; fixed when the index is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorConfig {
    pub dims: usize,
    pub metric: Metric,
    pub storage: Storage,
    /// HNSW: neighbours per node (M).
    pub connectivity: usize,
    /// HNSW: candidate list while inserting (efConstruction).
    pub expansion_add: usize,
    /// HNSW: candidate list while searching (ef).
    pub expansion_search: usize,
    /// Below this many vectors, search scans them all (exact, and fast at that size).
    pub exact_below: usize,
    /// The encoder that made the vectors, so queries are embedded by the same one.
    #[serde(default)]
    pub model: Option<String>,
    /// Passage windows for the encoder: this many tokens each (0: documents get no passage vectors),
    /// starting every `passage_stride` tokens. The core stores what it is given; the encoder side cuts.
    #[serde(default)]
    pub passage_tokens: usize,
    #[serde(default)]
    pub passage_stride: usize,
}

impl VectorConfig {
    pub fn new(dims: usize) -> Self {
        VectorConfig {
            dims,
            metric: Metric::Cosine,
            storage: Storage::F16,
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            exact_below: 10_000,
            model: None,
            passage_tokens: 0,
            passage_stride: 0,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.dims == 0 || self.dims > 65_536 {
            return Err(Error::InvalidInput(format!("vector dimensions must be 1 to 65536, got {}", self.dims)));
        }
        if self.connectivity < 2 || self.expansion_add == 0 || self.expansion_search == 0 {
            return Err(Error::InvalidInput("HNSW connectivity must be >= 2 and expansions >= 1".into()));
        }
        if self.passage_tokens != 0
            && (!(8..=512).contains(&self.passage_tokens) || !(1..=self.passage_tokens).contains(&self.passage_stride))
        {
            return Err(Error::InvalidInput(format!(
                "passage windows need 8 to 512 tokens and a stride of 1 to their length (or 0 tokens: none), got {} / {}",
                self.passage_tokens, self.passage_stride
            )));
        }
        Ok(())
    }
}
