//! The pruned top-k (MaxScore with block-max bounds over compressed postings) returns exactly the hits
//! and the f32 scores of a plain exhaustive scorer, on random corpora, queries, weights, filters and k.

use std::collections::BTreeMap;

use xlqe_core::lexical::maxscore::top_k_pruned;
use xlqe_core::lexical::postings::{encode, PackedList};
use xlqe_core::lexical::{top_k, top_k_exhaustive, Bm25, LexWeight, Postings, Scored, ScoredPostings};
use xlqe_core::{Document, Index, IndexConfig};

/// A seeded generator (splitmix64), so a failure names its case.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Each list scored on its own, documents summed in list order from 0.0: the definition.
fn plain(bm25: &Bm25, avgdl: f32, lists: &[ScoredPostings], k: usize, keep: &dyn Fn(u32) -> bool) -> Vec<Scored> {
    let (a, c) = bm25.length_norm(avgdl);
    let mut scores: BTreeMap<u32, f32> = BTreeMap::new();
    for l in lists {
        l.postings.for_each(|d, tf| {
            let w = l.weight.of_slot(l.slots[d as usize]);
            if w != 0.0 {
                let tf = tf as f32;
                *scores.entry(l.doc_base + d).or_insert(0.0) += w * tf / (tf + (a + c * l.lens[d as usize] as f32));
            }
        });
    }
    let mut hits: Vec<Scored> = scores.into_iter().filter(|&(d, s)| s > 0.0 && keep(d)).map(|(doc, score)| Scored { doc, score }).collect();
    hits.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.doc.cmp(&y.doc)));
    hits.truncate(k);
    hits
}

fn bits(hits: &[Scored]) -> Vec<(u32, u32)> {
    hits.iter().map(|h| (h.doc, h.score.to_bits())).collect()
}

struct Corpus {
    lens: Vec<u32>,
    slots: Vec<u16>,
    /// Per term: (docs, freqs).
    terms: Vec<(Vec<u32>, Vec<u32>)>,
}

fn corpus(rng: &mut Rng, n_docs: usize, n_terms: usize) -> Corpus {
    let lens: Vec<u32> = (0..n_docs).map(|_| 1 + rng.below(200) as u32).collect();
    let slots: Vec<u16> = (0..n_docs).map(|_| if rng.below(10) == 0 { u16::MAX } else { rng.below(3) as u16 }).collect();
    let terms = (0..n_terms)
        .map(|t| {
            // Zipf-ish document frequencies: a few terms in most documents, most in few.
            let p = 1.0 / (1.0 + t as f32 * (1.0 + rng.unit() * 3.0));
            let (mut docs, mut freqs) = (Vec::new(), Vec::new());
            for d in 0..n_docs as u32 {
                if rng.unit() < p {
                    docs.push(d);
                    let tf = if rng.below(8) == 0 { 1 + rng.below(40) as u32 } else { 1 + rng.below(3) as u32 };
                    freqs.push(tf.min(lens[d as usize]));
                }
            }
            if docs.is_empty() {
                docs.push(rng.below(n_docs as u64) as u32);
                freqs.push(1);
            }
            (docs, freqs)
        })
        .collect();
    Corpus { lens, slots, terms }
}

#[test]
fn pruned_top_k_equals_the_exhaustive_scorers_exactly() {
    let mut full = 0;
    for case in 0..300u64 {
        let mut rng = Rng(case);
        let n_base = 1 + rng.below(if case % 5 == 0 { 20_000 } else { 3_000 }) as usize;
        let n_pending = rng.below(500) as usize;
        let n_terms = 1 + rng.below(12) as usize;
        let base = corpus(&mut rng, n_base, n_terms);
        let pending = corpus(&mut rng, n_pending.max(1), n_terms);
        let encoded: Vec<Vec<u8>> = base
            .terms
            .iter()
            .map(|(d, f)| {
                let mut out = Vec::new();
                encode(d, f, &base.lens, &mut out).unwrap();
                out
            })
            .collect();
        let by_lang: Vec<Vec<f32>> = (0..n_terms)
            .map(|_| (0..4).map(|_| if rng.below(4) == 0 { 0.0 } else { 0.1 + rng.unit() * 3.0 }).collect())
            .collect();
        let k = [1usize, 3, 10, 10, 100, 1000][rng.below(6) as usize];
        let bm25 = Bm25 { k1: [0.0f32, 0.9, 1.2, 2.0][rng.below(4) as usize], b: [0.0f32, 0.4, 0.75, 1.0][rng.below(4) as usize] };
        let avgdl = 1.0 + rng.unit() * 150.0;
        let query: Vec<usize> = (0..1 + rng.below(n_terms as u64) as usize).map(|_| rng.below(n_terms as u64) as usize).collect();
        let mut query = query;
        query.sort_unstable();
        query.dedup();
        let mut lists = Vec::new();
        for &t in &query {
            let weight = if rng.below(3) == 0 { LexWeight::ByLanguage(&by_lang[t]) } else { LexWeight::Uniform(0.05 + rng.unit() * 4.0) };
            let packed = rng.below(6) != 0;
            let postings = if packed {
                Postings::Packed(PackedList::parse(&encoded[t]).unwrap())
            } else {
                Postings::Raw { docs: &base.terms[t].0, freqs: &base.terms[t].1 }
            };
            lists.push(ScoredPostings { postings, lens: &base.lens, slots: &base.slots, doc_base: 0, weight });
            if n_pending > 0 && rng.below(2) == 0 {
                let (d, f) = &pending.terms[t];
                let postings = Postings::Raw { docs: d, freqs: f };
                lists.push(ScoredPostings { postings, lens: &pending.lens, slots: &pending.slots, doc_base: n_base as u32, weight });
            }
        }
        let n_total = n_base + n_pending.max(1);
        let filter = rng.below(4);
        let modulus = 2 + rng.below(5) as u32;
        let keep = move |d: u32| match filter {
            0 => true,
            1 => !d.is_multiple_of(modulus),
            2 => d.is_multiple_of(modulus),
            _ => d < (n_total as u32) / 2,
        };
        let want = plain(&bm25, avgdl, &lists, k, &keep);
        let exhaustive = top_k_exhaustive(&bm25, avgdl, n_total, &lists, k, keep);
        let pruned = top_k_pruned(&bm25, avgdl, &lists, k, keep);
        let chosen = top_k(&bm25, avgdl, n_total, &lists, k, keep);
        assert_eq!(bits(&exhaustive), bits(&want), "case {case}: exhaustive scorer");
        assert_eq!(bits(&pruned), bits(&want), "case {case}: pruned scorer (k={k}, {} lists)", lists.len());
        assert_eq!(bits(&chosen), bits(&want), "case {case}: top_k");
        full += usize::from(want.len() == k);
    }
    assert!(full > 100, "only {full} cases filled their k hits: too few for pruning to matter");
}

#[test]
fn ties_keep_the_lower_document_number() {
    // Many documents with the same score: the pruned scorer must keep the first ones, as the heap does.
    let n = 5000u32;
    let lens = vec![10u32; n as usize];
    let slots = vec![0u16; n as usize];
    let docs: Vec<u32> = (0..n).collect();
    let freqs = vec![1u32; n as usize];
    let mut bytes = Vec::new();
    encode(&docs, &freqs, &lens, &mut bytes).unwrap();
    let odd: Vec<u32> = (0..n).filter(|d| d % 2 == 1).collect();
    let odd_f = vec![1u32; odd.len()];
    let mut odd_bytes = Vec::new();
    encode(&odd, &odd_f, &lens, &mut odd_bytes).unwrap();
    let lists = [
        ScoredPostings { postings: Postings::Packed(PackedList::parse(&bytes).unwrap()), lens: &lens, slots: &slots, doc_base: 0, weight: LexWeight::Uniform(1.0) },
        ScoredPostings { postings: Postings::Packed(PackedList::parse(&odd_bytes).unwrap()), lens: &lens, slots: &slots, doc_base: 0, weight: LexWeight::Uniform(0.5) },
    ];
    let bm25 = Bm25 { k1: 1.2, b: 0.75 };
    for k in [1, 10, 700] {
        let want = plain(&bm25, 10.0, &lists, k, &|_| true);
        assert_eq!(bits(&top_k_pruned(&bm25, 10.0, &lists, k, |_| true)), bits(&want));
    }
}

#[test]
fn an_index_scores_alike_committed_pending_and_after_deletions() {
    // Through the index: a big committed segment (pruned path) and the same documents pending or
    // re-committed after deletions give identical scores for the documents they share.
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let words: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
    let mut ix = Index::create(&dir.path().join("ix"), IndexConfig::default()).unwrap();
    for d in 0..6000 {
        let n = 3 + rng.below(40) as usize;
        let text: Vec<&str> = (0..n).map(|_| words[(rng.below(400) * rng.below(400) / 400) as usize].as_str()).collect();
        let lang = ["en", "de", "fr"][d % 3];
        ix.add(Document { id: format!("d{d}"), text: text.join(" "), lang: Some(lang.into()), metadata: String::new() }).unwrap();
        if d == 4000 {
            ix.commit().unwrap();
        }
    }
    let before: Vec<_> = (0..20).map(|q| ix.search(&format!("w0 w{} w{}", q, q * 7 % 50), Some("en"), 10, None).unwrap()).collect();
    ix.commit().unwrap();
    let after: Vec<_> = (0..20).map(|q| ix.search(&format!("w0 w{} w{}", q, q * 7 % 50), Some("en"), 10, None).unwrap()).collect();
    assert_eq!(before, after, "pending postings and their committed, compressed form score alike");
    assert!(ix.verify().is_empty(), "{:?}", ix.verify());
    for d in (0..6000).step_by(3) {
        ix.delete(&format!("d{d}")).unwrap();
    }
    ix.commit().unwrap();
    assert!(ix.verify().is_empty(), "{:?}", ix.verify());
    let hits = ix.search("w0 w1", None, 50, None).unwrap();
    assert_eq!(hits.len(), 50);
    assert!(hits.iter().all(|h| h.id[1..].parse::<usize>().unwrap() % 3 != 0));
    let doc = ix.get("d1").unwrap().unwrap();
    assert!(doc.text.starts_with('w'));
}
