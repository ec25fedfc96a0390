//! Lexical search: a query analysed once per document language's rules into a table of weighted terms,
//! scored with BM25 over the committed and the pending postings together.

use std::collections::HashSet;

use rustc_hash::FxHashMap as HashMap;

use super::docs::Hit;
use super::filter::DocSet;
use super::Index;
use crate::error::{Error, Result};
use crate::lang::normalize_lang;
use crate::lexical::{self, Bm25, GlobalStats, LexWeight, Postings, ScoredPostings};
use crate::storage::segment::NO_LANG;

/// Longest accepted query, in bytes: far above any real query, low enough to bound the work.
pub const MAX_QUERY_BYTES: usize = 1 << 20;
/// Most distinct terms a query keeps (the heaviest ones).
pub const MAX_QUERY_TERMS: usize = 4096;
/// Heaviest weight a term of [`Index::search_terms`] may carry: far above any real weighting, low enough
/// that no sum of BM25 scores overflows to infinity (which fusion would then refuse).
pub const MAX_TERM_WEIGHT: f32 = 1e6;

impl Index {
    /// The query's normalised words, minus the stop words of its own language when that is known.
    pub(super) fn query_words(&self, text: &str, query_lang: Option<&str>) -> Result<Vec<String>> {
        check_query_text(text)?;
        let mut words = Vec::new();
        self.analyzer.for_each_word(text, |t| {
            if !query_lang.is_some_and(|q| self.analyzer.is_stopword(q, &t.term)) {
                words.push(t.term);
            }
        });
        Ok(words)
    }

    /// Weighted terms of `words` under `rules_lang`'s rules: repeated terms add up, as in Lucene's boolean
    /// query. Sorted by term, so scores sum in a fixed order.
    pub(super) fn weigh(&self, words: &[String], rules_lang: Option<&str>) -> Vec<(String, f32)> {
        let rules = self.analyzer.language(rules_lang);
        let mut weights: HashMap<String, f32> = HashMap::default();
        for w in words {
            if let Some(term) = rules.apply(w) {
                *weights.entry(term).or_default() += 1.0;
            }
        }
        let mut out: Vec<(String, f32)> = weights.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Analyses a query the way documents of `doc_lang` were analysed, into weighted terms. When the
    /// query's own language is known, its stop words are dropped too.
    pub fn analyze_query(&self, text: &str, doc_lang: Option<&str>, query_lang: Option<&str>) -> Result<Vec<(String, f32)>> {
        let doc_lang = doc_lang.map(normalize_lang).transpose()?;
        let query_lang = query_lang.map(normalize_lang).transpose()?;
        let words = self.query_words(text, query_lang.as_deref())?;
        Ok(self.weigh(&words, self.analyzer.rules_language(doc_lang.as_deref())))
    }

    /// Searches with a query text. Documents of each language are matched against the query analysed
    /// with that language's rules (stemming, stop words), so a query finds documents whatever language
    /// it is typed in. `query_lang`, when known, also drops the query language's stop words.
    /// `filter_langs` keeps only documents in those languages.
    pub fn search(&self, text: &str, query_lang: Option<&str>, k: usize, filter_langs: Option<&[String]>) -> Result<Vec<Hit>> {
        self.search_in(text, query_lang, k, filter_langs, None)
    }

    /// `search` among the documents of `only` (a [`DocSet`] of [`Index::filter_docs`]) when given.
    pub fn search_in(&self, text: &str, query_lang: Option<&str>, k: usize, filter_langs: Option<&[String]>,
                     only: Option<&DocSet>) -> Result<Vec<Hit>> {
        let terms = self.query_table(text, query_lang, filter_langs)?;
        self.score(terms, k, None, None, only)
    }

    /// The weighted terms `search` scores: per term, one weight per language column (the index's
    /// language slots, then "language unknown"; 0 where the column's analysis lacks the term or the
    /// language is filtered out), sorted by term.
    pub(super) fn query_table(&self, text: &str, query_lang: Option<&str>, filter_langs: Option<&[String]>) -> Result<Vec<(String, Vec<f32>)>> {
        let query_lang = query_lang.map(normalize_lang).transpose()?;
        let words = self.query_words(text, query_lang.as_deref())?;
        let allowed = self.allowed_slots(filter_langs)?;
        // Column i of a term's weights is language slot i; the last column is "language unknown".
        let n_cols = self.langs.len() + 1;
        let mut by_rules: HashMap<Option<&str>, Vec<(String, f32)>> = HashMap::default();
        let mut table: HashMap<String, Vec<f32>> = HashMap::default();
        for col in 0..n_cols {
            let slot = if col + 1 == n_cols { NO_LANG } else { col as u16 };
            if allowed.as_ref().is_some_and(|a| !a.contains(&slot)) {
                continue;
            }
            let lang = (slot != NO_LANG).then(|| self.langs[col].as_str());
            let key = self.analyzer.rules_language(lang);
            let terms = by_rules.entry(key).or_insert_with(|| self.weigh(&words, key));
            // Languages whose rules leave this query as it is share the plain analysis's weights.
            for (term, w) in terms.iter() {
                table.entry(term.clone()).or_insert_with(|| vec![0.0; n_cols])[col] = *w;
            }
        }
        let mut terms: Vec<(String, Vec<f32>)> = table.into_iter().collect();
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(terms)
    }

    pub(super) fn allowed_slots(&self, filter_langs: Option<&[String]>) -> Result<Option<HashSet<u16>>> {
        let Some(langs) = filter_langs else { return Ok(None) };
        let mut slots = HashSet::new();
        for l in langs {
            let l = normalize_lang(l)?;
            if let Some(i) = self.langs.iter().position(|x| *x == l) {
                slots.insert(i as u16);
            }
        }
        Ok(Some(slots))
    }

    /// Searches with already analysed, weighted terms (0 < weight <= [`MAX_TERM_WEIGHT`]; repeated terms
    /// add up).
    pub fn search_terms(&self, terms: &[(String, f32)], k: usize, filter_langs: Option<&[String]>) -> Result<Vec<Hit>> {
        self.search_terms_in(terms, k, filter_langs, None)
    }

    /// `search_terms` among the documents of `only` when given.
    pub fn search_terms_in(&self, terms: &[(String, f32)], k: usize, filter_langs: Option<&[String]>,
                           only: Option<&DocSet>) -> Result<Vec<Hit>> {
        let merged = merge_terms(terms)?;
        let allowed = self.allowed_slots(filter_langs)?;
        self.score(merged, k, allowed.as_ref(), None, only)
    }

    /// BM25 over `terms`, each with one weight for all documents or one per language column. `stats`,
    /// when given, replaces this index's document count, total length and document frequencies (the
    /// statistics of a sharded index's every shard; see `global.rs`). `only` keeps the documents of a
    /// metadata filter.
    pub(super) fn score(&self, mut terms: Vec<(String, Vec<f32>)>, k: usize, allowed: Option<&HashSet<u16>>,
             stats: Option<&GlobalStats>, only: Option<&DocSet>) -> Result<Vec<Hit>> {
        if terms.len() > MAX_QUERY_TERMS {
            // Keep the heaviest terms; a stable sort keeps the term order among equals.
            terms.sort_by(|a, b| b.1.iter().sum::<f32>().total_cmp(&a.1.iter().sum::<f32>()));
            terms.truncate(MAX_QUERY_TERMS);
            terms.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let n_live = self.len() as u64;
        if n_live == 0 || k == 0 || allowed.is_some_and(|a| a.is_empty()) || only.is_some_and(|o| o.is_empty()) {
            return Ok(Vec::new());
        }
        let (n_docs, total_len) = stats.map_or((n_live, self.live_len_total), |g| (g.n_docs, g.total_len));
        let avgdl = total_len as f32 / n_docs as f32;
        let nb = self.base.n_docs() as u32;
        // idf-scaled weights, kept alive for the postings lists that borrow them.
        let mut scaled: Vec<Vec<f32>> = Vec::with_capacity(terms.len());
        let mut sources = Vec::new();
        for (term, weights) in &terms {
            let base_postings = self.base.find_term(term).map(|t| self.base.postings(t));
            let pending_postings: Vec<Postings> = self.pending.lists(term).collect();
            let df = base_postings.map_or(0, |p| p.df()) + pending_postings.iter().map(|p| p.df()).sum::<usize>();
            if df == 0 {
                continue;
            }
            let df = match stats {
                None => df as u64,
                Some(g) => g.df_of(term, df as u64)?,
            };
            let idf = Bm25::idf(n_docs, df.min(n_docs));
            scaled.push(weights.iter().map(|w| w * idf).collect());
            sources.push((base_postings, pending_postings, scaled.len() - 1));
        }
        let mut lists = Vec::new();
        for (base_postings, pending_postings, wi) in sources {
            let w = &scaled[wi];
            // One weight for every language: no per-document lookup needed.
            let uniform = w.iter().all(|x| *x == w[0]);
            let weight = if uniform { LexWeight::Uniform(w[0]) } else { LexWeight::ByLanguage(w) };
            if let Some(postings) = base_postings {
                lists.push(ScoredPostings { postings, lens: self.base.doc_lens(), slots: self.base.doc_langs(), doc_base: 0, weight });
            }
            for postings in pending_postings {
                lists.push(ScoredPostings { postings, lens: &self.pending.lens, slots: &self.pending.langs, doc_base: nb, weight });
            }
        }
        let keep = |d: u32| {
            let d = d as usize;
            !self.deleted[d] && allowed.is_none_or(|a| a.contains(&self.lang_slot(d))) && only.is_none_or(|o| o.contains(d))
        };
        let scored = lexical::top_k(&self.bm25, avgdl, self.n_total(), &lists, k, keep);
        Ok(scored
            .into_iter()
            .map(|s| {
                let d = s.doc as usize;
                Hit { id: self.id_of(d).to_string(), score: s.score, lang: self.lang_of_slot(self.lang_slot(d)), key: self.key_of(d) }
            })
            .collect())
    }
}


/// `search_terms`'s terms checked (0 < weight <= [`MAX_TERM_WEIGHT`]), repeated ones added up, sorted.
pub(super) fn merge_terms(terms: &[(String, f32)]) -> Result<Vec<(String, Vec<f32>)>> {
    if let Some((t, w)) = terms.iter().find(|(_, w)| !(*w > 0.0 && *w <= MAX_TERM_WEIGHT)) {
        return Err(Error::InvalidInput(format!(
            "term {t:?} has weight {w}; weights must be positive and at most {MAX_TERM_WEIGHT:e}"
        )));
    }
    let mut merged: HashMap<&str, f32> = HashMap::default();
    for (t, w) in terms {
        *merged.entry(t.as_str()).or_default() += w;
    }
    let mut merged: Vec<(String, Vec<f32>)> = merged.into_iter().map(|(t, w)| (t.to_string(), vec![w])).collect();
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(merged)
}

/// Rejects queries that cannot mean anything or would cost unbounded work.
pub fn check_query_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("the query is empty".into()));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(Error::InvalidInput(format!(
            "the query is {} bytes long; the limit is {MAX_QUERY_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}

