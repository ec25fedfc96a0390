//! Speed of the core's hot paths on data made here (deterministic, no files): analysis of texts in
//! several scripts, BM25 top-k over a committed index, and fusion of two ranked lists.
//!
//! `cargo bench --manifest-path rust_core/Cargo.toml` (figures: target/criterion); the end-to-end
//! comparisons with other engines are in benchmarks/ and BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use xlqe_core::fusion::{fuse, FusionMethod};
use xlqe_core::{Analyzer, AnalyzerConfig, Document, Index, IndexConfig};

const TEXTS: &[(&str, &str)] = &[
    ("en", "The Panthers defense gave up just 308 points, ranking sixth in the league, while leading the NFL in interceptions."),
    ("de", "Die Verteidigung der Panthers ließ nur 308 Punkte zu und belegte damit den sechsten Platz in der Liga."),
    ("ru", "Защита «Пантер» пропустила всего 308 очков, заняв шестое место в лиге, и лидировала по перехватам."),
    ("zh", "黑豹队的防守只丢了308分，在联盟中排名第六，同时以24次抄截领先全联盟。"),
    ("th", "แนวรับของแพนเธอร์สเสียเพียง 308 แต้ม อยู่อันดับที่หกของลีก และนำลีกในการสกัดบอล"),
    ("hi", "पैंथर्स की रक्षा ने केवल 308 अंक दिए, लीग में छठे स्थान पर रही और इंटरसेप्शन में सबसे आगे रही।"),
];

/// A small linear congruential generator: the same corpus on every run and machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// A word rank with a roughly Zipfian spread over `vocab` words.
    fn word(&mut self, vocab: u64) -> u64 {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((vocab as f64).powf(u) as u64).min(vocab - 1)
    }
}

fn word(rank: u64) -> String {
    format!("w{rank}")
}

fn bench_analysis(c: &mut Criterion) {
    let analyzer = Analyzer::new(AnalyzerConfig::default());
    let mut group = c.benchmark_group("analysis");
    for (lang, text) in TEXTS {
        group.bench_function(*lang, |b| b.iter(|| analyzer.analyze(black_box(text), Some(lang))));
    }
    group.finish();
}

fn bench_bm25(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create(&dir.path().join("ix"), IndexConfig::default()).unwrap();
    let mut rng = Lcg(42);
    let vocab = 20_000;
    for d in 0..20_000 {
        let text: Vec<String> = (0..60).map(|_| word(rng.word(vocab))).collect();
        let lang = ["en", "de", "fr"][d % 3];
        index.add(Document { id: format!("d{d}"), text: text.join(" "), lang: Some(lang.into()), metadata: String::new() }).unwrap();
    }
    index.commit().unwrap();
    let queries: Vec<String> = (0..64).map(|_| (0..4).map(|_| word(rng.word(2_000))).collect::<Vec<_>>().join(" ")).collect();
    let mut group = c.benchmark_group("bm25_top_k");
    for k in [10, 100] {
        group.bench_function(format!("20k_docs_k{k}"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % queries.len();
                index.search(black_box(&queries[i]), Some("en"), k, None).unwrap()
            })
        });
    }
    group.finish();
}

fn bench_fusion(c: &mut Criterion) {
    let list = |offset: usize, n: usize| -> Vec<(String, f32)> {
        (0..n).map(|i| (format!("d{}", (i * 7 + offset) % (2 * n)), 1.0 / (i + 1) as f32)).collect()
    };
    let lists = vec![list(0, 1_000), list(3, 1_000)];
    let mut group = c.benchmark_group("fusion");
    for (name, method) in [("rrf", FusionMethod::Rrf { k: 60.0 }), ("minmax", FusionMethod::MinMax), ("zscore", FusionMethod::ZScore)] {
        group.bench_function(format!("2x1000_{name}"), |b| b.iter(|| fuse(black_box(&lists), &[1.0, 1.0], method, 10).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench_analysis, bench_bm25, bench_fusion);
criterion_main!(benches);
