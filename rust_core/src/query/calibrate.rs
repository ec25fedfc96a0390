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

/// The best `k` of `groups` (each a list of (doc id, score), best first) on their own scales. A group
/// shorter than `min_calibration` is put on the statistics of all long-enough groups' heads together (of
/// all groups when none is long enough). Ties go to the smaller doc id.
pub fn calibrated_merge(groups: &[Vec<(&str, f64)>], k: usize, heads: &[usize], min_calibration: usize) -> Vec<Calibrated> {
    let arrays: Vec<Vec<f64>> = groups.iter().map(|g| g.iter().map(|&(_, s)| s).collect()).collect();
    let long: Vec<&Vec<f64>> = arrays.iter().filter(|v| v.len() >= min_calibration).collect();
    let reference: Vec<&Vec<f64>> = if long.is_empty() { arrays.iter().collect() } else { long };
    let shared: Vec<(f64, f64)> = heads
        .iter()
        .map(|&n| {
            let joined: Vec<f64> = reference.iter().flat_map(|v| v[..n.min(v.len())].iter().copied()).collect();
            stats(&joined)
        })
        .collect();
    let mut scored: Vec<(f64, &str, Calibrated)> = Vec::new();
    for (g, (hits, values)) in groups.iter().zip(&arrays).enumerate() {
        if values.is_empty() {
            continue;
        }
        let mut z = vec![0.0f64; values.len()];
        for (h, &n) in heads.iter().enumerate() {
            let (mean, sd) = if values.len() >= min_calibration { stats(&values[..n.min(values.len())]) } else { shared[h] };
            if sd > 0.0 {
                for (zi, &v) in z.iter_mut().zip(values) {
                    *zi += (v - mean) / sd;
                }
            }
        }
        let n_heads = heads.len() as f64;
        for (position, ((id, raw), zi)) in hits.iter().zip(z).enumerate() {
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
        let merged = calibrated_merge(&groups, 2, &[4], 2);
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
        let merged = calibrated_merge(&[long, short], 10, &[10], 2);
        // "a" has the same score as "b" and is put on the long group's scale: the same z, first by id.
        assert_eq!((merged[0].group, merged[1].group), (1, 0));
        assert_eq!(merged[0].z, merged[1].z);
        assert_eq!(merged.len(), 4);
    }
}
