//! Many threads share one index: every search succeeds and answers as it does alone, in every mode
//! (lexical, vectors exact and through the graph, with passages, with a language filter), for a reader
//! that maps the files and for a writer that holds them in memory.

use std::sync::Arc;

use xlqe_core::config::{Storage, VectorConfig};
use xlqe_core::{Document, Index, IndexConfig};

const DIMS: usize = 16;
const DOCS: usize = 600;
const THREADS: usize = 16;
const ROUNDS: usize = 40;

/// A deterministic pseudo-random unit vector for `seed`.
fn vector(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..DIMS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter().map(|a| a / n).collect()
}

fn build(dir: &std::path::Path, exact_below: usize) {
    let mut v = VectorConfig::new(DIMS);
    v.storage = Storage::F32;
    v.exact_below = exact_below;
    v.passage_tokens = 32;
    v.passage_stride = 16;
    let mut ix = Index::create(dir, IndexConfig { vectors: Some(v), ..IndexConfig::default() }).unwrap();
    for i in 0..DOCS as u64 {
        let doc = Document {
            id: format!("d{i}"),
            text: format!("document {i} about rivers {} and the Panthers {}", i % 7, i % 11),
            lang: Some(if i % 3 == 0 { "de" } else { "en" }.into()),
            metadata: String::new(),
        };
        let passages: Vec<Vec<f32>> = (0..i % 4).map(|p| vector(10_000 + i * 4 + p)).collect();
        let rows: Vec<&[f32]> = passages.iter().map(|p| p.as_slice()).collect();
        ix.add_with_passages(doc, Some(&vector(i)), &rows).unwrap();
    }
    ix.commit().unwrap();
}

type Answer = Vec<(String, u32)>;

/// Every kind of search for query `q`, as (id, score bits) lists.
fn answers(ix: &Index, q: u64) -> Vec<Answer> {
    let query = vector(50_000 + q);
    let de = ["de".to_string()];
    let pack = |hits: Vec<xlqe_core::Hit>| hits.into_iter().map(|h| (h.id, h.score.to_bits())).collect::<Answer>();
    vec![
        pack(ix.search_vector(&query, 10, None, 0.0).unwrap()),
        pack(ix.search_vector(&query, 10, None, 0.5).unwrap()),
        pack(ix.search_vector(&query, 5, Some(&de), 0.5).unwrap()),
        pack(ix.search(&format!("rivers {} Panthers", q % 7), Some("en"), 10, None).unwrap()),
    ]
}

fn check_shared(ix: Index) {
    let ix = Arc::new(ix);
    let alone: Vec<Vec<Answer>> = (0..ROUNDS as u64).map(|q| answers(&ix, q)).collect();
    let alone = Arc::new(alone);
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (ix, alone) = (Arc::clone(&ix), Arc::clone(&alone));
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let q = ((round + t * 7) % ROUNDS) as u64;
                    assert_eq!(answers(&ix, q), alone[q as usize], "thread {t}, query {q}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a searching thread failed");
    }
}

#[test]
fn threads_share_a_reader_in_every_search_mode() {
    for exact_below in [0, 1_000_000] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ix");
        build(&dir, exact_below);
        check_shared(Index::open(&dir, false).unwrap());
    }
}

#[test]
fn threads_share_a_writer_in_every_search_mode() {
    for exact_below in [0, 1_000_000] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ix");
        build(&dir, exact_below);
        check_shared(Index::open(&dir, true).unwrap());
    }
}
