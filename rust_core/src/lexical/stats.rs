//! Collection statistics for BM25 from outside one index: a sharded index adds up each shard's
//! [`LexicalStats`] into [`GlobalStats`] and scores every shard with them (see `index/global.rs`).

use std::collections::HashMap;

use crate::error::{Error, Result};

/// One shard's statistics for some terms: what its BM25 would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexicalStats {
    /// Live documents.
    pub n_docs: u64,
    /// Sum of the live documents' lengths (in terms).
    pub total_len: u64,
    /// Per requested term, how many documents' postings hold it.
    pub df: Vec<u64>,
}

/// The statistics of a whole collection, as a shard scores with them.
#[derive(Debug, Clone, Default)]
pub struct GlobalStats {
    pub n_docs: u64,
    pub total_len: u64,
    pub df: HashMap<String, u64>,
}

impl GlobalStats {
    /// Adds one shard's statistics for `terms` (the terms `stats.df` answers, in order).
    pub fn add(&mut self, terms: &[String], stats: &LexicalStats) -> Result<()> {
        if terms.len() != stats.df.len() {
            return Err(Error::InvalidInput(format!("{} terms but {} document frequencies", terms.len(), stats.df.len())));
        }
        self.n_docs += stats.n_docs;
        self.total_len += stats.total_len;
        for (t, &df) in terms.iter().zip(&stats.df) {
            *self.df.entry(t.clone()).or_default() += df;
        }
        Ok(())
    }

    /// The collection's document frequency of `term`, which this shard holds in `local` documents. A term
    /// the coordinator did not ask about is an error rather than a silently different score.
    pub fn df_of(&self, term: &str, local: u64) -> Result<u64> {
        match self.df.get(term) {
            Some(&df) if df >= local => Ok(df),
            Some(&df) => Err(Error::InvalidInput(format!(
                "global statistics give term {term:?} {df} documents, fewer than this shard's {local}"
            ))),
            None => Err(Error::InvalidInput(format!("global statistics lack term {term:?}"))),
        }
    }
}
