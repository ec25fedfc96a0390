//! BM25 with collection statistics from outside the index: a sharded index (python/xlqe_lite/shard)
//! searches each shard with the document count, total length and document frequencies of all shards
//! together, so a shard's scores are exactly the scores one index of every document would give.
//!
//! The protocol: the coordinator asks every shard for [`Index::lexical_stats`] of the query's terms
//! ([`Index::query_terms`] names them for the languages of all shards), adds them up into a
//! [`GlobalStats`], and sends it with the query to every shard's [`Index::search_global`] or
//! [`Index::search_terms_global`]. Scoring is otherwise the index's own (same term order, same f32
//! arithmetic), so equal statistics give bit-identical scores.

use std::collections::BTreeSet;

use super::docs::Hit;
use super::filter::DocSet;
use super::lexical::merge_terms;
use super::Index;
use crate::error::Result;
use crate::lang::normalize_lang;
pub use crate::lexical::stats::{GlobalStats, LexicalStats};

impl Index {
    /// This index's live document count, total length, and the document frequency of each of `terms`
    /// (counted as `search` counts it: postings of the committed segment plus pending documents).
    pub fn lexical_stats(&self, terms: &[String]) -> LexicalStats {
        let df = terms
            .iter()
            .map(|t| {
                let base = self.base.find_term(t).map_or(0, |i| self.base.postings(i).df());
                let pending = self.pending.df(t);
                (base + pending) as u64
            })
            .collect();
        LexicalStats { n_docs: self.len() as u64, total_len: self.live_len_total, df }
    }

    /// Every term `search(text, query_lang, ..)` may score on an index holding documents of `doc_langs`
    /// (and of unknown language): the union of the query's analyses under each language's rules, sorted.
    pub fn query_terms(&self, text: &str, query_lang: Option<&str>, doc_langs: &[String]) -> Result<Vec<String>> {
        let query_lang = query_lang.map(normalize_lang).transpose()?;
        let words = self.query_words(text, query_lang.as_deref())?;
        let langs = doc_langs.iter().map(|l| normalize_lang(l)).collect::<Result<Vec<_>>>()?;
        // Languages without rules of their own analyse as "unknown" does: each distinct rule set once.
        let mut rules: BTreeSet<Option<&str>> = BTreeSet::new();
        rules.insert(None);
        for l in &langs {
            rules.insert(self.analyzer.rules_language(Some(l.as_str())));
        }
        let mut out = BTreeSet::new();
        for r in rules {
            out.extend(self.weigh(&words, r).into_iter().map(|(t, _)| t));
        }
        Ok(out.into_iter().collect())
    }

    /// `search` scored with the collection statistics `stats` instead of this index's own.
    pub fn search_global(&self, text: &str, query_lang: Option<&str>, k: usize, filter_langs: Option<&[String]>,
                         stats: &GlobalStats, only: Option<&DocSet>) -> Result<Vec<Hit>> {
        let terms = self.query_table(text, query_lang, filter_langs)?;
        self.score(terms, k, None, Some(stats), only)
    }

    /// `search_terms` scored with the collection statistics `stats` instead of this index's own.
    pub fn search_terms_global(&self, terms: &[(String, f32)], k: usize, filter_langs: Option<&[String]>,
                               stats: &GlobalStats, only: Option<&DocSet>) -> Result<Vec<Hit>> {
        let merged = merge_terms(terms)?;
        let allowed = self.allowed_slots(filter_langs)?;
        self.score(merged, k, allowed.as_ref(), Some(stats), only)
    }
}
