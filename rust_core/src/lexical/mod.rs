//! BM25 scoring, Lucene's variant: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
//! term score = idf · w · tf / (tf + k1 · (1 - b + b · dl / avgdl)), summed over query terms, where w is
//! the query term's weight (1 for a plain query; expansion terms can weigh less).
//!
//! Two scorers give the same hits with the same f32 scores: [`top_k_exhaustive`], term-at-a-time into
//! a dense per-thread accumulator (a query costs the length of its postings plus the number of matched
//! documents), and [`maxscore::top_k_pruned`], document-at-a-time over block cursors, skipping the
//! documents and blocks whose score bound cannot reach the k-th best. [`top_k`] picks one by the
//! postings' total length. Both add a document's term contributions in list order, from 0.0, so the
//! sum is the same f32 whichever scorer ran and in whatever order the pruning visited the lists.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

pub mod maxscore;
pub mod postings;
pub mod stats;
pub use postings::Postings;
pub use stats::{GlobalStats, LexicalStats};

#[derive(Debug, Clone, Copy)]
pub struct Bm25 {
    pub k1: f32,
    pub b: f32,
}

impl Bm25 {
    pub fn idf(n_docs: u64, df: u64) -> f32 {
        let (n, df) = (n_docs as f64, df as f64);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32
    }

    /// The length normaliser as `a + c · dl`, hoisted out of the postings loop.
    pub fn length_norm(&self, avgdl: f32) -> (f32, f32) {
        let avgdl = if avgdl > 0.0 { avgdl } else { 1.0 };
        (self.k1 * (1.0 - self.b), self.k1 * self.b / avgdl)
    }
}

/// idf · query weight of a term: the same for every document, or by the document's language slot
/// (a query analysed per document language can give a term different weights in different languages).
#[derive(Clone, Copy)]
pub enum LexWeight<'a> {
    Uniform(f32),
    /// Indexed by language slot; slots past the end (the "unknown" slot) use the last entry.
    ByLanguage(&'a [f32]),
}

impl LexWeight<'_> {
    /// The weight of a document in language slot `slot`.
    #[inline]
    pub fn of_slot(&self, slot: u16) -> f32 {
        match *self {
            LexWeight::Uniform(w) => w,
            LexWeight::ByLanguage(by_slot) => by_slot[(slot as usize).min(by_slot.len() - 1)],
        }
    }
    /// The largest weight any document can get.
    pub fn max(&self) -> f32 {
        match *self {
            LexWeight::Uniform(w) => w,
            LexWeight::ByLanguage(by_slot) => by_slot.iter().copied().fold(0.0, f32::max),
        }
    }
}

/// One postings list to score: documents are numbered `doc_base + doc`; `lens` and `slots` (language
/// slots) are indexed by the list's own `doc`.
pub struct ScoredPostings<'a> {
    pub postings: Postings<'a>,
    pub lens: &'a [u32],
    pub slots: &'a [u16],
    pub doc_base: u32,
    pub weight: LexWeight<'a>,
}

#[derive(Default)]
struct Accumulator {
    scores: Vec<f32>,
    touched: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Accumulator> = RefCell::new(Accumulator::default());
}

/// A scored document number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub doc: u32,
    pub score: f32,
}

// Heap order: the *worst* hit on top (lower score, then higher doc number), so it can be evicted.
impl Eq for Scored {}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.doc.cmp(&other.doc))
    }
}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the best `k` of a stream of scored documents.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k + 1) }
    }
    /// The k-th best score once `k` hits are held: a later document must score above it to enter.
    #[inline]
    pub fn threshold(&self) -> Option<f32> {
        (self.heap.len() >= self.k).then(|| self.heap.peek().map_or(f32::INFINITY, |w| w.score))
    }
    #[inline]
    pub fn push(&mut self, hit: Scored) {
        if self.heap.len() < self.k {
            self.heap.push(hit);
        } else if let Some(worst) = self.heap.peek() {
            if hit < *worst {
                self.heap.pop();
                self.heap.push(hit);
            }
        }
    }
    /// Best first; ties broken by document number.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v = self.heap.into_vec();
        v.sort();
        v
    }
}

/// Above this many postings in all, [`top_k`] prunes; below it, the plain pass is as fast or faster.
/// Measured with `benchmarks/bench_lexical.py` (1 thread, k = 10): at 1M synthetic documents (queries
/// of 5k-150k postings) the plain pass ran 1,280-1,390 queries/s against MaxScore's 860-880 (each
/// candidate's length and language lookups miss the cache, and few lists are ever non-essential for
/// these queries); on the 10M- and 40M-posting stress corpora the two were even within noise. So the
/// pruned path is kept for queries whose lists pass millions of postings, where the accumulator pass
/// grows with every posting and MaxScore with the candidates only.
pub const PRUNE_ABOVE_POSTINGS: usize = 1 << 22;

/// Scores `lists` over `n_docs` documents and returns the best `k` for which `keep(doc)` is true: best
/// first, ties by document number.
pub fn top_k(
    bm25: &Bm25,
    avgdl: f32,
    n_docs: usize,
    lists: &[ScoredPostings],
    k: usize,
    keep: impl Fn(u32) -> bool,
) -> Vec<Scored> {
    let total: usize = lists.iter().map(|l| l.postings.df()).sum();
    if total > PRUNE_ABOVE_POSTINGS && lists.len() > 1 {
        maxscore::top_k_pruned(bm25, avgdl, lists, k, keep)
    } else {
        top_k_exhaustive(bm25, avgdl, n_docs, lists, k, keep)
    }
}

/// [`top_k`] term-at-a-time, every posting scored.
pub fn top_k_exhaustive(
    bm25: &Bm25,
    avgdl: f32,
    n_docs: usize,
    lists: &[ScoredPostings],
    k: usize,
    keep: impl Fn(u32) -> bool,
) -> Vec<Scored> {
    if k == 0 || lists.is_empty() {
        return Vec::new();
    }
    let (a, c) = bm25.length_norm(avgdl);
    SCRATCH.with(|cell| {
        let mut acc = cell.borrow_mut();
        let Accumulator { scores, touched } = &mut *acc;
        if scores.len() < n_docs {
            scores.resize(n_docs, 0.0);
        }
        for list in lists {
            let base = list.doc_base;
            match list.weight {
                LexWeight::Uniform(w) => list.postings.for_each(|d, tf| {
                    let tf = tf as f32;
                    let norm = a + c * list.lens[d as usize] as f32;
                    let acc = &mut scores[(base + d) as usize];
                    if *acc == 0.0 {
                        touched.push(base + d);
                    }
                    *acc += w * tf / (tf + norm);
                }),
                LexWeight::ByLanguage(by_slot) => {
                    let last = by_slot.len() - 1;
                    list.postings.for_each(|d, tf| {
                        let w = by_slot[(list.slots[d as usize] as usize).min(last)];
                        if w == 0.0 {
                            return;
                        }
                        let tf = tf as f32;
                        let norm = a + c * list.lens[d as usize] as f32;
                        let acc = &mut scores[(base + d) as usize];
                        if *acc == 0.0 {
                            touched.push(base + d);
                        }
                        *acc += w * tf / (tf + norm);
                    })
                }
            }
        }
        let mut best = TopK::new(k);
        for &d in touched.iter() {
            let s = std::mem::take(&mut scores[d as usize]);
            if s > 0.0 && keep(d) {
                best.push(Scored { doc: d, score: s });
            }
        }
        touched.clear();
        best.into_sorted()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idf_matches_lucene() {
        // N = 10, df = 1: ln(1 + 9.5 / 1.5)
        assert!((Bm25::idf(10, 1) - (1.0f64 + 9.5 / 1.5).ln() as f32).abs() < 1e-6);
        assert!(Bm25::idf(10, 10) > 0.0, "Lucene's idf never goes negative");
    }

    #[test]
    fn top_k_keeps_the_best_and_breaks_ties_by_doc() {
        let mut t = TopK::new(2);
        for (doc, score) in [(5, 1.0), (1, 3.0), (2, 1.0), (3, 2.0)] {
            t.push(Scored { doc, score });
        }
        let docs: Vec<u32> = t.into_sorted().iter().map(|s| s.doc).collect();
        assert_eq!(docs, [1, 3]);
    }

    #[test]
    fn scoring_follows_the_formula() {
        let bm25 = Bm25 { k1: 1.5, b: 0.75 };
        let lens = [4u32, 8];
        let lists = [ScoredPostings { postings: Postings::Raw { docs: &[0, 1], freqs: &[1, 2] }, lens: &lens, slots: &[0, 0], doc_base: 0, weight: LexWeight::Uniform(2.0) }];
        let hits = top_k(&bm25, 6.0, 2, &lists, 10, |_| true);
        let expect = |tf: f32, dl: f32| 2.0 * tf / (tf + 1.5 * (0.25 + 0.75 * dl / 6.0));
        assert_eq!(hits.len(), 2);
        let by_doc = |d| hits.iter().find(|h| h.doc == d).unwrap().score;
        assert!((by_doc(0) - expect(1.0, 4.0)).abs() < 1e-6);
        assert!((by_doc(1) - expect(2.0, 8.0)).abs() < 1e-6);
        // The scratch buffer is clean for the next query.
        assert!(top_k(&bm25, 6.0, 2, &[], 10, |_| true).is_empty());
    }
}
