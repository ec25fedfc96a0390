//! Vector search: each document's own vector and its passages' vectors (windows of its text), in two
//! vector indexes keyed by the document's stable key in each language part (`parts.rs`), searched part by
//! part and merged.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::docs::Hit;
use super::filter::DocSet;
use super::parts::{Part, Scope, VectorSum};
use super::Index;
use crate::error::{Error, Result};
use crate::config::{Metric, VectorConfig};
use crate::vector::VectorIndex;

/// Passage `i` of the document with key `k` has the key `k << PASSAGE_BITS | i` in the passage index, so
/// a passage names its document without a lookup table, and a document's passages are found by counting
/// up from 0. (usearch's multi-vector mode would do this itself, but its f16 lookups of a key's vectors
/// return the first one repeatedly.)
const PASSAGE_BITS: u32 = 20;
/// Most passage vectors one document may have (a 100 MB text cut in windows stays far below).
pub const MAX_PASSAGES: usize = 1 << PASSAGE_BITS;
/// Document keys from here on cannot carry passages (the shifted key would not fit; never reached).
pub(super) const MAX_PASSAGE_DOC_KEY: u64 = (1 << (64 - PASSAGE_BITS)) - 2;

pub(super) fn passage_key(doc_key: u64, i: usize) -> u64 {
    doc_key << PASSAGE_BITS | i as u64
}

pub(super) fn doc_key_of_passage(key: u64) -> u64 {
    key >> PASSAGE_BITS
}

/// The passage keys the document `doc_key` has in `passages` (numbered from 0 without gaps).
pub(super) fn passage_keys_of(passages: &VectorIndex, doc_key: u64) -> impl Iterator<Item = u64> + '_ {
    (0..).map(move |i| passage_key(doc_key, i)).take_while(|&p| passages.contains(p))
}
/// How many passages a vector search reads per document it returns, before grouping them by document.
const PASSAGES_PER_HIT: usize = 8;
/// With passages, a vector search ranks at least this many candidate documents before cutting to k.
const PASSAGE_CANDIDATES: usize = 20;

impl Index {
    /// Whether the index holds vectors, and their configuration.
    pub fn vector_config(&self) -> Option<VectorConfig> {
        self.vectors.as_ref().map(|v| v.config().clone())
    }

    /// Trades vector-search speed for recall on this handle (HNSW ef); not persisted.
    pub fn set_vector_expansion_search(&mut self, ef: usize) -> Result<()> {
        self.vectors.as_mut().ok_or_else(|| Error::InvalidInput("this index holds no vectors".into()))?.set_expansion_search(ef)
    }

    pub fn vector_count(&self) -> usize {
        self.vectors.as_ref().map_or(0, |v| v.len())
    }

    /// How many passage vectors the index holds (committed and pending).
    pub fn passage_count(&self) -> usize {
        self.vectors.as_ref().map_or(0, |v| v.passage_len())
    }

    /// The `k` documents whose vectors are nearest to `query`, optionally only those in `filter_langs`.
    ///
    /// A document's score is its vector's similarity, mixed with its best passage's when it has
    /// passages: `(1 - passage_weight) * document + passage_weight * best passage`. Candidates come from
    /// both indexes (the nearest documents and the documents of the nearest passages); a score one
    /// search did not find is computed from the stored vectors, so a document found one way still gets
    /// the other part of its score.
    pub fn search_vector(&self, query: &[f32], k: usize, filter_langs: Option<&[String]>, passage_weight: f32) -> Result<Vec<Hit>> {
        self.search_vector_in(query, k, filter_langs, passage_weight, None)
    }

    /// `search_vector` among the documents of `only` (a metadata filter's) when given.
    pub fn search_vector_in(&self, query: &[f32], k: usize, filter_langs: Option<&[String]>, passage_weight: f32,
                            only: Option<&DocSet>) -> Result<Vec<Hit>> {
        let parts = self.vectors.as_ref().ok_or_else(|| Error::InvalidInput("this index holds no vectors".into()))?;
        if !(0.0..=1.0).contains(&passage_weight) {
            return Err(Error::InvalidInput(format!("passage_weight must be between 0 and 1, got {passage_weight}")));
        }
        parts.check_vector(query)?;
        let allowed = self.allowed_slots(filter_langs)?;
        let wanted: Option<HashSet<Option<String>>> =
            allowed.as_ref().map(|slots| slots.iter().map(|&s| self.lang_of_slot(s)).collect());
        let keep = |key: u64| {
            self.doc_of_key(key)
                .is_some_and(|d| !self.deleted[d] && allowed.as_ref().is_none_or(|a| a.contains(&self.lang_slot(d)))
                    && only.is_none_or(|o| o.contains(d)))
        };
        let mut found = Vec::new();
        for part in parts.iter() {
            if let (Scope::Lang(lang), Some(wanted)) = (&part.scope, &wanted) {
                if !wanted.contains(lang) {
                    continue;
                }
            }
            // Vectors leave their part with their documents, so a part of the wanted languages holds
            // nothing to exclude without a metadata filter (and, to be safe, without pending deletions),
            // and the cheaper walk without a callback per visited node serves.
            let unfiltered = (part.is_one_language() || allowed.is_none()) && only.is_none() && self.deleted_count == 0;
            found.extend(search_part(part, query, k, passage_weight, unfiltered, &keep)?);
        }
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        found.truncate(k);
        Ok(found
            .into_iter()
            .filter_map(|(key, score)| {
                let d = self.doc_of_key(key)?;
                Some(Hit { id: self.id_of(d).to_string(), score, lang: self.lang_of_slot(self.lang_slot(d)), key })
            })
            .collect())
    }

    /// The vectors of the documents of language `lang` (None: of no language) summed in f64, each
    /// normalised first when the metric is cosine, and how many there are; None when none of them has a
    /// vector. Worked out once for the vectors held now and kept until they change. A sharded index adds
    /// its shards' sums to get the centroid one index of all its documents has.
    pub fn language_vector_sum(&self, lang: Option<&str>) -> Result<Option<Arc<VectorSum>>> {
        let Some(parts) = self.vectors.as_ref() else { return Ok(None) };
        let key = lang.map(str::to_string);
        let mut known = parts.centroids.lock().unwrap_or_else(|e| e.into_inner());
        if known.is_none() {
            // One pass over the documents sums every language (a search asks for several).
            let cosine = parts.config().metric == Metric::Cosine;
            let mut sums: HashMap<u16, VectorSum> = HashMap::new();
            let mut buffer = Vec::new();
            for d in (0..self.n_total()).filter(|&d| !self.deleted[d]) {
                let (slot, doc_key) = (self.lang_slot(d), self.key_of(d));
                let doc_lang = self.lang_of_slot(slot);
                let Some(part) = parts.holding(doc_key, doc_lang.as_deref()) else { continue };
                if !part.vectors.vector(doc_key, &mut buffer)? {
                    continue;
                }
                let norm = if cosine { buffer.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt() } else { 1.0 };
                if norm > 0.0 {
                    let (sum, count) = sums.entry(slot).or_insert_with(|| (vec![0f64; buffer.len()], 0));
                    sum.iter_mut().zip(&buffer).for_each(|(s, &x)| *s += x as f64 / norm);
                    *count += 1;
                }
            }
            *known = Some(sums.into_iter().map(|(slot, sum)| (self.lang_of_slot(slot), Arc::new(sum))).collect());
        }
        Ok(known.as_ref().and_then(|k| k.get(&key).cloned()))
    }

    /// The mean vector of the documents of language `lang` (see [`Index::language_vector_sum`]).
    pub fn language_centroid(&self, lang: Option<&str>) -> Result<Option<Vec<f32>>> {
        Ok(self.language_vector_sum(lang)?.map(|s| centroid_of(&s.0, s.1)))
    }

    /// The query vector moved from the region of language `from`'s documents toward language `to`'s
    /// ([`move_query`] with the two languages' centroids). None when there is nothing to move (the same
    /// language, alpha 0, a language without vectors).
    ///
    /// Both languages need `min_documents` documents with vectors: the mean of a few documents is those
    /// documents more than their language, and a query moved toward it would favour them for that alone.
    pub fn query_toward(&self, query: &[f32], from: &str, to: &str, alpha: f64, min_documents: usize) -> Result<Option<Vec<f32>>> {
        if from == to || alpha == 0.0 || self.vectors.is_none() {
            return Ok(None);
        }
        self.vectors.as_ref().expect("checked").check_vector(query)?;
        let (Some(source), Some(target)) = (self.language_vector_sum(Some(from))?, self.language_vector_sum(Some(to))?) else {
            return Ok(None);
        };
        if source.1 < min_documents.max(1) || target.1 < min_documents.max(1) {
            return Ok(None);
        }
        move_query(query, &centroid_of(&source.0, source.1), &centroid_of(&target.0, target.1), alpha)
    }

    /// The passage window of document `id` nearest to `query`: (its number, similarity), or None when
    /// the document is absent or has no passages. Search uses it to say where a long document matched.
    pub fn best_passage(&self, id: &str, query: &[f32]) -> Result<Option<(usize, f32)>> {
        let (Some(d), Some(parts)) = (self.find_doc(id), self.vectors.as_ref()) else { return Ok(None) };
        parts.check_vector(query)?;
        let key = self.key_of(d);
        let Some(part) = parts.holding(key, self.lang_of_slot(self.lang_slot(d)).as_deref()) else { return Ok(None) };
        let mut buffer = Vec::new();
        let mut best: Option<(usize, f32)> = None;
        for (i, p) in passage_keys_of(&part.passages, key).enumerate() {
            if let Some(s) = part.passages.similarity(p, query, &mut buffer)? {
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((i, s));
                }
            }
        }
        Ok(best)
    }
}

/// The `k` best documents of one part with their scores, among those `keep` accepts (`unfiltered`:
/// it accepts all the part holds).
fn search_part(part: &Part, query: &[f32], k: usize, passage_weight: f32, unfiltered: bool, keep: &impl Fn(u64) -> bool)
               -> Result<Vec<(u64, f32)>> {
    let (vectors, passages) = (&part.vectors, Some(&part.passages).filter(|p| !p.is_empty() && passage_weight > 0.0));
    // With passages, a document near the top of the mix can be missing from the top k of either
    // search alone (a fair own score and a fair best window), so both searches read deeper.
    let depth = if passages.is_some() { k.max(PASSAGE_CANDIDATES) } else { k };
    let found = vectors.search(query, depth, unfiltered, keep)?;
    let Some(passages) = passages else { return Ok(found) };
    // The searches only choose the candidates (and each one's best window: best first, so a
    // document's first window is its best one). Every score is then computed from the stored
    // vectors, whichever search reached the document: the searches' distances come from another
    // kernel (they differ in the last bits), and which search reaches a document depends on the
    // index's other documents, so a sharded index would otherwise score the same document
    // differently. Cost: two stored-vector similarities per candidate.
    let own_found: HashSet<u64> = found.iter().map(|h| h.0).collect();
    let mut best_found: HashMap<u64, u64> = HashMap::new();
    let mut candidates: Vec<u64> = found.iter().map(|h| h.0).collect();
    for (p, _) in passages.search(query, depth.saturating_mul(PASSAGES_PER_HIT), unfiltered, |p| keep(doc_key_of_passage(p)))? {
        let key = doc_key_of_passage(p);
        if let std::collections::hash_map::Entry::Vacant(slot) = best_found.entry(key) {
            slot.insert(p);
            if !own_found.contains(&key) {
                candidates.push(key);
            }
        }
    }
    let mut buffer = Vec::new();
    let mut rescored = Vec::with_capacity(candidates.len());
    for key in candidates {
        let Some(own) = vectors.similarity(key, query, &mut buffer)? else { continue };
        let best = match best_found.get(&key) {
            Some(&p) => passages.similarity(p, query, &mut buffer)?.unwrap_or(f32::NEG_INFINITY),
            None => {
                let mut best = f32::NEG_INFINITY;
                for p in passage_keys_of(passages, key) {
                    best = best.max(passages.similarity(p, query, &mut buffer)?.unwrap_or(f32::NEG_INFINITY));
                }
                best
            }
        };
        let score = if best.is_finite() { (1.0 - passage_weight) * own + passage_weight * best } else { own };
        rescored.push((key, score));
    }
    rescored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    rescored.truncate(k);
    Ok(rescored)
}

/// The mean of `count` vectors summed in `sum`, as f32.
pub fn centroid_of(sum: &[f64], count: usize) -> Vec<f32> {
    sum.iter().map(|s| (s / count as f64) as f32).collect()
}

/// `query + alpha * (to - from)`, scaled back to the query's length (computed in f64). In a
/// multilingual embedding every language's documents sit a little apart, and a query lies nearer its own
/// language's: moved by the difference of the two languages' mean vectors (measured on the index's own
/// documents), it meets the other language's documents on their ground. None when the moved vector is zero.
pub fn move_query(query: &[f32], from: &[f32], to: &[f32], alpha: f64) -> Result<Option<Vec<f32>>> {
    if from.len() != query.len() || to.len() != query.len() {
        return Err(Error::InvalidInput(format!("the query has {} dimensions, the centroids {} and {}", query.len(), from.len(), to.len())));
    }
    let moved: Vec<f64> = query.iter().zip(from.iter().zip(to))
        .map(|(&q, (&f, &t))| q as f64 + alpha * (t as f64 - f as f64))
        .collect();
    let before = query.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    let after = moved.iter().map(|x| x * x).sum::<f64>().sqrt();
    if after == 0.0 || !after.is_finite() {
        return Ok(None);
    }
    Ok(Some(moved.iter().map(|&x| (x * before / after) as f32).collect()))
}
