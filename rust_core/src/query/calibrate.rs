//! Merging the fused lists of several document languages on a common scale: each list's scores become
//! the mean, over the heads n, of their z-scores on the mean and spread of the list's first n scores.
//! The arithmetic follows numpy's (`python/xlqe_lite/search/fusion.py`, `calibrated_merge`, the list
//! route of a sharded index): f64, numpy's pairwise summation for means and variances, ties by doc id,
//! so both routes give the same scores to the last bit.

/// numpy's pairwise summation of float64 (`pairwise_sum_DOUBLE`): below 8 values a plain loop, up to
/// 128 eight accumulators, above that the halves (cut at a multiple of 8) summed apart.
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(0.0, |s, &x| s + x);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in &a[i..] {
            res += x;
        }
        return res;
    }
    let mut n2 = n / 2;
    n2 -= n2 % 8;
    pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
}

/// (mean, population standard deviation) as `numpy.mean` / `numpy.std` give them; (0, 0) when empty.
fn stats(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = pairwise_sum(values) / n;
    let squares: Vec<f64> = values.iter().map(|&v| (v - mean) * (v - mean)).collect();
    (mean, (pairwise_sum(&squares) / n).sqrt())
}

/// One merged candidate: its group, its position in that group's list, its calibrated score and the
/// score it was calibrated from.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrated {
    pub group: usize,
    pub position: usize,
    pub z: f64,
    pub raw: f64,
}

/// The first n values of every group, one after another.
fn joined_heads(arrays: &[&[f64]], n: usize) -> Vec<f64> {
    arrays.iter().flat_map(|v| v[..n.min(v.len())].iter().copied()).collect()
}

/// The pooled spread of the groups' heads of n: the square root of the mean of their variances (groups of
/// at least two values), else the spread of all their values together.
fn pooled_sd(arrays: &[&[f64]], n: usize) -> f64 {
    let variances: Vec<f64> = arrays.iter().filter(|v| v.len() > 1).map(|v| {
        let sd = stats(&v[..n.min(v.len())]).1;
        sd * sd
    }).collect();
    if variances.is_empty() {
        return stats(&joined_heads(arrays, n)).1;
    }
    (pairwise_sum(&variances) / variances.len() as f64).sqrt()
}

/// The best `k` of `groups` (each a list of (doc id, score), best first) on their own scales: each score
/// becomes the mean over `heads` of its z-score on the group's first n scores.
///
/// A group shorter than `min_calibration` has no spread of its own: its best candidate makes most of it,
/// and its min-max fused scores say nothing across languages. When `dense` gives such a group's dense
/// scores (best first; the r-th fused candidate takes the r-th), they are measured instead: on the group's
/// own mean (how similar the query is to that language's documents at all; with one document, the mean of
/// all long-enough groups' dense heads) and on the spread pooled over every group's dense head, so its
/// candidate counts by how far it stands out from its language's other documents in cosine, on one scale
/// for all languages. Without dense scores such a group is put on the statistics of all long-enough
/// groups' heads together (of all groups when none is long enough). Ties go to the smaller doc id.
pub fn calibrated_merge(groups: &[Vec<(&str, f64)>], dense: &[Option<Vec<f64>>], k: usize, heads: &[usize],
                        min_calibration: usize) -> Vec<Calibrated> {
    let arrays: Vec<Vec<f64>> = groups.iter().map(|g| g.iter().map(|&(_, s)| s).collect()).collect();
    let dense: Vec<Option<&[f64]>> = (0..groups.len()).map(|g| dense.get(g).and_then(|d| d.as_deref()).filter(|d| !d.is_empty())).collect();
    let shared_of = |arrays: &[&[f64]], n: usize| {
        let long: Vec<&[f64]> = arrays.iter().copied().filter(|v| v.len() >= min_calibration).collect();
        stats(&joined_heads(if long.is_empty() { arrays } else { &long[..] }, n))
    };
    let all: Vec<&[f64]> = arrays.iter().map(|v| v.as_slice()).collect();
    let with_dense: Vec<&[f64]> = dense.iter().flatten().copied().collect();
    let mut scored: Vec<(f64, &str, Calibrated)> = Vec::new();
    let mut z: Vec<Vec<f64>> = arrays.iter().map(|v| vec![0.0; v.len()]).collect();
    for &n in heads {
        let shared = shared_of(&all, n);
        let (dense_location, dense_sd) = (shared_of(&with_dense, n).0, pooled_sd(&with_dense, n));
        for (g, values) in arrays.iter().enumerate() {
            let (values, mean, sd) = match dense[g] {
                Some(d) if values.len() < min_calibration => {
                    let mean = if d.len() > 1 { stats(&d[..n.min(d.len())]).0 } else { dense_location };
                    (d, mean, dense_sd)
                }
                _ if values.len() >= min_calibration => {
                    let (mean, sd) = stats(&values[..n.min(values.len())]);
                    (values.as_slice(), mean, sd)
                }
                _ => (values.as_slice(), shared.0, shared.1),
            };
            if sd > 0.0 {
                for (i, zi) in z[g].iter_mut().enumerate() {
                    *zi += (values[i.min(values.len() - 1)] - mean) / sd;
                }
            }
        }
    }
    let n_heads = heads.len() as f64;
    for (g, (hits, zs)) in groups.iter().zip(z).enumerate() {
        for (position, ((id, raw), zi)) in hits.iter().zip(zs).enumerate() {
            let z = zi / n_heads;
            scored.push((z, id, Calibrated { group: g, position, z, raw: *raw }));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.truncate(k);
    scored.into_iter().map(|(_, _, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_on_its_own_scale() {
        // The docstring example of search/fusion.py's calibrated_merge.
        let en = vec![("a.en", 0.90), ("b.en", 0.89), ("c.en", 0.88), ("d.en", 0.87)];
        let zh = vec![("a.zh", 0.86), ("b.zh", 0.70), ("c.zh", 0.69), ("d.zh", 0.68)];
        let groups = [en, zh];
        let merged = calibrated_merge(&groups, &[], 2, &[4], 2);
        let ids: Vec<&str> = merged.iter().map(|c| groups[c.group][c.position].0).collect();
        assert_eq!(ids, ["a.zh", "a.en"]);
        assert_eq!(merged[1].raw, 0.90);
    }

    #[test]
    fn sums_as_numpy_does() {
        // numpy.sum of 0.1 * i for i < 200 is 1990.0; a plain loop gives 1990.0000000000002.
        let values: Vec<f64> = (0..200).map(|i| 0.1 * i as f64).collect();
        let plain = values.iter().fold(0.0, |s, &x| s + x);
        assert_eq!(pairwise_sum(&values), 1990.0);
        assert_eq!(plain, 1990.0000000000002);
        assert_eq!(stats(&[]), (0.0, 0.0));
    }

    #[test]
    fn short_groups_use_the_shared_statistics_and_ties_go_by_id() {
        let long = vec![("b", 3.0), ("c", 2.0), ("d", 1.0)];
        let short = vec![("a", 3.0)];
        let merged = calibrated_merge(&[long, short], &[], 10, &[10], 2);
        // "a" has the same score as "b" and is put on the long group's scale: the same z, first by id.
        assert_eq!((merged[0].group, merged[1].group), (1, 0));
        assert_eq!(merged[0].z, merged[1].z);
        assert_eq!(merged.len(), 4);
    }

    #[test]
    fn a_short_group_with_dense_scores_is_measured_on_them() {
        // English: twelve documents, cosines 0.85 down by 0.01 (fused min-max from 1 down to 0). German: three,
        // fused 1, 0.5, 0 like any min-max list, but in cosine one stands 0.1 above the other two.
        let en_dense: Vec<f64> = (0..12).map(|i| 0.85 - 0.01 * i as f64).collect();
        let en: Vec<(&str, f64)> = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "ea", "eb"]
            .into_iter()
            .zip((0..12).map(|i| 1.0 - i as f64 / 11.0))
            .collect();
        let de = vec![("d0", 1.0), ("d1", 0.5), ("d2", 0.0)];
        let de_dense = vec![0.80, 0.70, 0.70];
        let groups = [en, de];
        let dense = [Some(en_dense.clone()), Some(de_dense.clone())];
        let merged = calibrated_merge(&groups, &dense, 3, &[10], 10);
        let first = &merged[0];
        assert_eq!((first.group, first.position), (1, 0));
        // Its z: the German mean taken away, divided by the spread pooled over both groups' dense heads of 10.
        let pooled = ((stats(&en_dense[..10]).1.powi(2) + stats(&de_dense).1.powi(2)) / 2.0).sqrt();
        let expected = (0.80 - stats(&de_dense).0) / pooled;
        assert!((first.z - expected).abs() < 1e-12, "{} vs {}", first.z, expected);
        assert_eq!(first.raw, 1.0); // the fused score rides along
        // Without dense scores the short group takes the long group's fused statistics: its 1.0 ties e0's.
        let merged = calibrated_merge(&groups, &[], 2, &[10], 10);
        assert_eq!(merged[0].z, merged[1].z);
    }
}
