//! Fusing ranked lists (lexical, dense, expansions, per target language) into one ranking.
//!
//! - Reciprocal rank fusion: Σ wᵢ / (k + rankᵢ), rank from 1; blind to score scales.
//! - Min-max: Σ wᵢ · (s − minᵢ) / (maxᵢ − minᵢ); a document absent from a list gets 0 from it.
//! - Z-score: Σ wᵢ · (s − meanᵢ) / stdᵢ; an absent document gets the list's lowest z.
//!
//! A list's weight can be 0 (it then only explains, never ranks).

use std::collections::HashMap;
use std::hash::Hash;

use crate::error::{Error, Result};

/// Heaviest list or item weight: far above any real weighting, low enough that no weighted sum of
/// normalised scores overflows f32.
pub const MAX_WEIGHT: f32 = 1e6;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FusionMethod {
    Rrf { k: f32 },
    MinMax,
    ZScore,
}

impl FusionMethod {
    pub fn parse(name: &str, rrf_k: f32) -> Result<FusionMethod> {
        match name {
            "rrf" if rrf_k >= 0.0 && rrf_k.is_finite() => Ok(FusionMethod::Rrf { k: rrf_k }),
            "rrf" => Err(Error::InvalidInput(format!("RRF k must be >= 0, got {rrf_k}"))),
            "minmax" => Ok(FusionMethod::MinMax),
            "zscore" => Ok(FusionMethod::ZScore),
            other => Err(Error::InvalidInput(format!("unknown fusion method {other:?} (rrf, minmax, zscore)"))),
        }
    }
}

/// A fused result with where it stood in each input list (rank from 1 and raw score), for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused<K> {
    pub key: K,
    pub score: f32,
    pub sources: Vec<Option<(usize, f32)>>,
}

/// Per list, maps a raw score to its normalised contribution (before the weight), and gives the
/// contribution of a document the list did not return. The statistics are taken in f64: scores are
/// any finite f32, and their span or squares overflow f32 (giving NaN or a flat ranking) long before f64.
fn normaliser(method: FusionMethod, scores: &[f32]) -> (Box<dyn Fn(usize, f32) -> f32>, f32) {
    match method {
        FusionMethod::Rrf { k } => (Box::new(move |rank, _| 1.0 / (k + rank as f32)), 0.0),
        FusionMethod::MinMax => {
            let (lo, hi) = scores.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| (lo.min(s as f64), hi.max(s as f64)));
            let span = hi - lo;
            (Box::new(move |_, s| if span > 0.0 { ((s as f64 - lo) / span) as f32 } else { 1.0 }), 0.0)
        }
        FusionMethod::ZScore => {
            let n = scores.len().max(1) as f64;
            let mean = scores.iter().map(|&s| s as f64).sum::<f64>() / n;
            let std = (scores.iter().map(|&s| (s as f64 - mean) * (s as f64 - mean)).sum::<f64>() / n).sqrt();
            let z = move |s: f32| if std > 0.0 { ((s as f64 - mean) / std) as f32 } else { 0.0 };
            let floor = scores.iter().copied().fold(f32::INFINITY, f32::min);
            let absent = if scores.is_empty() { 0.0 } else { z(floor) };
            (Box::new(move |_, s| z(s)), absent)
        }
    }
}

/// Fuses `lists` (each best first, keys unique within a list) with one weight per list; returns the
/// best `k`, ties broken by the best rank any list gave, so the order is deterministic.
pub fn fuse<K: Hash + Eq + Clone>(lists: &[Vec<(K, f32)>], weights: &[f32], method: FusionMethod, k: usize) -> Result<Vec<Fused<K>>> {
    fuse_weighted(lists, weights, None, method, k)
}

/// [`fuse`] where a list may also weigh each of its items (aligned with the list): the hybrid search
/// weighs a lexical hit by whether the document shares the query's language or script. Normalisation
/// still runs over the whole list; the item weight multiplies the item's contribution.
pub fn fuse_weighted<K: Hash + Eq + Clone>(
    lists: &[Vec<(K, f32)>],
    weights: &[f32],
    item_weights: Option<&[Option<Vec<f32>>]>,
    method: FusionMethod,
    k: usize,
) -> Result<Vec<Fused<K>>> {
    if lists.len() != weights.len() {
        return Err(Error::InvalidInput(format!("{} lists but {} weights", lists.len(), weights.len())));
    }
    if let Some(w) = weights.iter().find(|w| !(**w >= 0.0 && **w <= MAX_WEIGHT)) {
        return Err(Error::InvalidInput(format!("fusion weights must be >= 0 and at most {MAX_WEIGHT:e}, got {w}")));
    }
    if let Some(iw) = item_weights {
        if iw.len() != lists.len() {
            return Err(Error::InvalidInput("one item-weight entry per list is needed".into()));
        }
        for (list, w) in lists.iter().zip(iw) {
            if let Some(w) = w {
                if w.len() != list.len() || w.iter().any(|x| !(*x >= 0.0 && *x <= MAX_WEIGHT)) {
                    return Err(Error::InvalidInput(format!(
                        "item weights must match their list and be >= 0 and at most {MAX_WEIGHT:e}"
                    )));
                }
            }
        }
    }
    if lists.iter().flatten().any(|(_, s)| !s.is_finite()) {
        return Err(Error::InvalidInput("a ranked list holds a NaN or infinite score".into()));
    }
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut fused: Vec<Fused<K>> = Vec::new();
    let mut best_rank: Vec<usize> = Vec::new();
    // Per fused item and list: the item weight, 1 unless the list gave one.
    let mut item_w: Vec<Vec<f32>> = Vec::new();
    for (li, list) in lists.iter().enumerate() {
        for (rank0, (key, score)) in list.iter().enumerate() {
            let i = *at.entry(key.clone()).or_insert_with(|| {
                fused.push(Fused { key: key.clone(), score: 0.0, sources: vec![None; lists.len()] });
                best_rank.push(usize::MAX);
                item_w.push(vec![1.0; lists.len()]);
                fused.len() - 1
            });
            if fused[i].sources[li].is_none() {
                fused[i].sources[li] = Some((rank0 + 1, *score));
                best_rank[i] = best_rank[i].min(rank0 + 1);
                if let Some(Some(w)) = item_weights.map(|iw| &iw[li]) {
                    item_w[i][li] = w[rank0];
                }
            }
        }
    }
    for (li, list) in lists.iter().enumerate() {
        let scores: Vec<f32> = list.iter().map(|(_, s)| *s).collect();
        let (norm, absent) = normaliser(method, &scores);
        let w = weights[li];
        if w == 0.0 {
            continue;
        }
        for (f, iw) in fused.iter_mut().zip(&item_w) {
            f.score += w * match f.sources[li] {
                Some((rank, s)) => iw[li] * norm(rank, s),
                None => absent,
            };
        }
    }
    let mut order: Vec<usize> = (0..fused.len()).collect();
    order.sort_by(|&a, &b| fused[b].score.total_cmp(&fused[a].score).then(best_rank[a].cmp(&best_rank[b])).then(a.cmp(&b)));
    order.truncate(k);
    let mut slots: Vec<Option<Fused<K>>> = fused.into_iter().map(Some).collect();
    Ok(order.into_iter().map(|i| slots[i].take().expect("each index once")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(f: &[Fused<&'a str>]) -> Vec<&'a str> {
        f.iter().map(|x| x.key).collect()
    }

    #[test]
    fn rrf_rewards_agreement() {
        let a = vec![("x", 9.0), ("y", 5.0), ("z", 1.0)];
        let b = vec![("y", 0.9), ("z", 0.8), ("w", 0.1)];
        let f = fuse(&[a, b], &[1.0, 1.0], FusionMethod::Rrf { k: 60.0 }, 10).unwrap();
        assert_eq!(keys(&f), ["y", "z", "x", "w"]);
        assert!((f[0].score - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-7);
        assert_eq!(f[0].sources, vec![Some((2, 5.0)), Some((1, 0.9))]);
    }

    #[test]
    fn weights_steer_min_max_fusion() {
        let lex = vec![("a", 10.0), ("b", 4.0)];
        let dense = vec![("b", 0.9), ("a", 0.5)];
        let lex_heavy = fuse(&[lex.clone(), dense.clone()], &[1.0, 0.2], FusionMethod::MinMax, 2).unwrap();
        let dense_heavy = fuse(&[lex.clone(), dense.clone()], &[0.2, 1.0], FusionMethod::MinMax, 2).unwrap();
        assert_eq!(keys(&lex_heavy), ["a", "b"]);
        assert_eq!(keys(&dense_heavy), ["b", "a"]);
        let only_dense = fuse(&[lex, dense], &[0.0, 1.0], FusionMethod::ZScore, 2).unwrap();
        assert_eq!(keys(&only_dense), ["b", "a"]);
        assert!(only_dense[1].sources[0].is_some(), "a zero-weight list still explains");
    }

    #[test]
    fn item_weights_scale_single_hits() {
        let lex = vec![("same-lang", 1.0), ("other-lang", 0.9)];
        let dense = vec![("other-lang", 0.8), ("same-lang", 0.79)];
        let plain = fuse(&[lex.clone(), dense.clone()], &[1.0, 1.0], FusionMethod::MinMax, 2).unwrap();
        assert_eq!(keys(&plain), ["same-lang", "other-lang"]);
        let iw = [Some(vec![1.0, 0.0]), None];
        let f = fuse_weighted(&[lex, dense], &[1.0, 1.0], Some(&iw), FusionMethod::MinMax, 2).unwrap();
        assert_eq!(keys(&f), ["same-lang", "other-lang"]);
        assert!((f[1].score - 1.0).abs() < 1e-6, "the lexical hit of other-lang is weighed out: {}", f[1].score);
    }

    #[test]
    fn bad_input_is_refused() {
        let l = vec![("a", f32::NAN)];
        assert!(fuse(&[l], &[1.0], FusionMethod::MinMax, 1).is_err());
        assert!(fuse::<&str>(&[vec![]], &[], FusionMethod::MinMax, 1).is_err());
        assert!(fuse::<&str>(&[vec![]], &[-1.0], FusionMethod::MinMax, 1).is_err());
        assert!(FusionMethod::parse("borda", 60.0).is_err());
        assert!(fuse(&[vec![("a", 1.0)]], &[1e7], FusionMethod::MinMax, 1).is_err());
    }

    #[test]
    fn extreme_finite_scores_still_rank() {
        // The span (and the squares) of these overflow f32: normalising in f32 gave NaN and flat ranks.
        let l = vec![("top", f32::MAX), ("mid", 0.0), ("low", -f32::MAX)];
        for method in [FusionMethod::MinMax, FusionMethod::ZScore, FusionMethod::Rrf { k: 60.0 }] {
            let f = fuse(std::slice::from_ref(&l), &[MAX_WEIGHT], method, 3).unwrap();
            assert_eq!(keys(&f), ["top", "mid", "low"], "{method:?}");
            assert!(f.iter().all(|x| x.score.is_finite()), "{method:?} {f:?}");
        }
    }
}
