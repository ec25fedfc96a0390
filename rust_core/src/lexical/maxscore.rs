//! Top-k with pruning: MaxScore over block cursors, with block-max bounds.
//!
//! Lists are ordered by their score bound; the cheapest lists whose bounds together cannot lift a
//! document above the k-th best score so far are "non-essential": a document that appears only in them
//! is never a candidate, so only the essential lists are walked, and the non-essential ones are probed
//! (skipping whole blocks by their last document) only while the candidate can still make it. Before a
//! candidate is scored, the bounds of the blocks it lies in (max tf, min document length: see
//! [`super::postings`]) are summed, and the candidate is dropped when even those cannot reach.
//!
//! Exactness: every bound is computed in f64, raised for f32's rounding, and a document is dropped only
//! when its bound is at most the k-th score (an equal score would lose the tie to the earlier document
//! already held). A kept document's score is the sum of its contributions in list order from 0.0,
//! the same f32 additions [`super::top_k_exhaustive`] makes.

use super::postings::{Cursor, END};
use super::{Bm25, LexWeight, Scored, ScoredPostings, TopK};

/// One list being walked.
struct Walk<'a> {
    cursor: Cursor<'a>,
    /// The largest weight in the list (ByLanguage lists are bounded by their heaviest language).
    w_max: f32,
    /// The list's bound.
    ub: f64,
    /// The bound of the block [`Walk::block_bound`] last looked up and the last document it covers: the
    /// candidates only grow, so while they stay at or below it the same block holds them.
    block: Option<(f64, u32)>,
}

impl Walk<'_> {
    /// The bound of the contributions this list can make to documents from `d` to the returned last
    /// document of the block holding `d` (None: to the end); 0 when the list has nothing left.
    #[inline]
    fn block_bound(&mut self, d: u32, a: f32, c: f32) -> (f64, Option<u32>) {
        if let Some((ub, last)) = self.block.filter(|&(_, last)| d <= last) {
            return (ub, Some(last));
        }
        if self.cursor.doc() == END {
            return (0.0, None);
        }
        match self.cursor.block_at(d) {
            Some((bound, last)) => {
                let ub = bound.score(self.w_max, a, c).min(self.ub);
                self.block = last.map(|l| (ub, l));
                (ub, last)
            }
            None => (self.ub, None),
        }
    }
}

/// The contribution of the posting under `cursor` (document `d`), as the exhaustive scorer computes
/// it; None when the document's language weighs the term 0 (it is then skipped there too).
#[inline]
fn contribution(list: &ScoredPostings, cursor: &Cursor, d: u32, a: f32, c: f32) -> Option<f32> {
    let local = (d - list.doc_base) as usize;
    let w = match list.weight {
        LexWeight::Uniform(w) => w,
        LexWeight::ByLanguage(_) => list.weight.of_slot(list.slots[local]),
    };
    if w == 0.0 {
        return None;
    }
    let tf = cursor.tf() as f32;
    let norm = a + c * list.lens[local] as f32;
    Some(w * tf / (tf + norm))
}

/// [`super::top_k`] document-at-a-time with MaxScore and block-max pruning.
pub fn top_k_pruned(bm25: &Bm25, avgdl: f32, lists: &[ScoredPostings], k: usize, keep: impl Fn(u32) -> bool) -> Vec<Scored> {
    if k == 0 || lists.is_empty() {
        return Vec::new();
    }
    let (a, c) = bm25.length_norm(avgdl);
    let m = lists.len();
    let mut walks: Vec<Walk> = lists
        .iter()
        .map(|l| {
            let w_max = l.weight.max().max(0.0);
            let ub = match l.postings {
                super::Postings::Packed(p) => p.bound().score(w_max, a, c),
                // Plain arrays carry no bounds: tf / (tf + norm) <= 1.
                super::Postings::Raw { .. } => w_max as f64 * (1.0 + 1e-6),
            };
            Walk { cursor: Cursor::new(l.postings, l.doc_base), w_max, ub, block: None }
        })
        .collect();
    // Lists by bound, smallest first; prefix[i] = sum of the first i bounds.
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&x, &y| walks[x].ub.total_cmp(&walks[y].ub).then(x.cmp(&y)));
    let mut prefix = vec![0f64; m + 1];
    for (i, &j) in order.iter().enumerate() {
        prefix[i + 1] = prefix[i] + walks[j].ub;
    }
    // A bound sum times `slack` is at least the f32 sum of the same (or smaller) contributions.
    let slack = 1.0 + 1e-5 + m as f64 * 2.5e-7;
    let cannot_reach = |bound: f64, theta: f64| bound * slack <= theta;

    let mut best = TopK::new(k);
    let mut theta = f64::NEG_INFINITY;
    let mut first_essential = 0usize;
    let mut contrib = vec![0f32; m];
    let mut matched: Vec<usize> = Vec::with_capacity(m);
    let mut block_ub = vec![0f64; m];
    loop {
        while first_essential < m && cannot_reach(prefix[first_essential + 1], theta) {
            first_essential += 1;
        }
        if first_essential == m {
            break;
        }
        let essential = &order[first_essential..];
        let d = essential.iter().map(|&j| walks[j].cursor.doc()).min().unwrap_or(END);
        if d == END {
            break;
        }
        let skip = |walks: &mut [Walk]| {
            for &j in essential {
                if walks[j].cursor.doc() == d {
                    walks[j].cursor.step();
                }
            }
        };
        if !keep(d) {
            skip(&mut walks);
            continue;
        }
        if theta > f64::NEG_INFINITY {
            // Block-max: the bounds of the blocks `d` lies in, for the essential lists holding it and
            // every non-essential one.
            let mut at_d = 0f64;
            let mut rest = 0f64;
            for (ub, &j) in block_ub.iter_mut().zip(&order[..first_essential]) {
                *ub = walks[j].block_bound(d, a, c).0;
                rest += *ub;
            }
            for &j in essential {
                if walks[j].cursor.doc() == d {
                    at_d += walks[j].block_bound(d, a, c).0;
                }
            }
            if cannot_reach(at_d + rest, theta) {
                // Every document up to the first block end among the lists is bounded by the blocks'
                // bounds (of every essential list, whether it holds `d` or not): when even their sum
                // cannot reach, the cursors jump past that block end.
                let mut upto = END;
                let mut range = 0f64;
                for &j in essential.iter().chain(&order[..first_essential]) {
                    if walks[j].cursor.doc() == END {
                        continue;
                    }
                    let (ub, last) = walks[j].block_bound(d, a, c);
                    range += ub;
                    if let Some(last) = last {
                        upto = upto.min(last);
                    }
                }
                if upto != END && upto > d && cannot_reach(range, theta) {
                    for &j in essential {
                        walks[j].cursor.advance(upto + 1);
                    }
                } else {
                    skip(&mut walks);
                }
                continue;
            }
        } else {
            for (ub, &j) in block_ub.iter_mut().zip(&order[..first_essential]) {
                *ub = walks[j].ub;
            }
        }
        matched.clear();
        let mut partial = 0f64;
        for &j in essential {
            if walks[j].cursor.doc() == d {
                if let Some(s) = contribution(&lists[j], &walks[j].cursor, d, a, c) {
                    contrib[j] = s;
                    matched.push(j);
                    partial += s as f64;
                }
                walks[j].cursor.step();
            }
        }
        // The non-essential lists, heaviest first, while the candidate can still reach.
        let mut rest: f64 = block_ub[..first_essential].iter().sum();
        let mut dropped = false;
        for i in (0..first_essential).rev() {
            if cannot_reach(partial + rest, theta) {
                dropped = true;
                break;
            }
            rest -= block_ub[i];
            let j = order[i];
            walks[j].cursor.advance(d);
            if walks[j].cursor.doc() == d {
                if let Some(s) = contribution(&lists[j], &walks[j].cursor, d, a, c) {
                    contrib[j] = s;
                    matched.push(j);
                    partial += s as f64;
                }
            }
        }
        if dropped {
            continue;
        }
        matched.sort_unstable();
        let mut score = 0f32;
        for &j in &matched {
            score += contrib[j];
        }
        if score > 0.0 {
            best.push(Scored { doc: d, score });
            if let Some(t) = best.threshold() {
                theta = t as f64;
            }
        }
    }
    best.into_sorted()
}
