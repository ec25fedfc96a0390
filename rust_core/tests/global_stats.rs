//! A collection split over several indexes (shards) and searched with the collection's statistics
//! gives exactly the scores of one index holding every document.

use std::collections::HashMap;

use xlqe_core::index::{GlobalStats, Hit};
use xlqe_core::{Document, Index, IndexConfig};

const DOCS: &[(&str, &str, &str)] = &[
    ("en1", "The Panthers won the Super Bowl in Santa Clara.", "en"),
    ("en2", "Denver's defense stopped the Panthers offense twice.", "en"),
    ("en3", "The bowl of soup was cold; the super market was closed.", "en"),
    ("de1", "Die Panthers verloren den Super Bowl gegen Denver.", "de"),
    ("de2", "Die Verteidigung von Denver gewann das Spiel.", "de"),
    ("fr1", "Les Panthers ont perdu le Super Bowl à Santa Clara.", "fr"),
    ("zh1", "北京大学是中国的一所大学。", "zh"),
    ("xx1", "Panthers panthers bowl", ""),
];

fn doc(id: &str, text: &str, lang: &str) -> Document {
    Document { id: id.into(), text: text.into(), lang: (!lang.is_empty()).then(|| lang.into()), metadata: String::new() }
}

/// One index of everything, and the same documents in `n` shards by position (committed or pending).
fn build(dir: &std::path::Path, n: usize, commit: bool) -> (Index, Vec<Index>) {
    let mut single = Index::create(&dir.join("single"), IndexConfig::default()).unwrap();
    let mut shards: Vec<Index> =
        (0..n).map(|i| Index::create(&dir.join(format!("s{i}")), IndexConfig::default()).unwrap()).collect();
    for (i, (id, text, lang)) in DOCS.iter().enumerate() {
        single.add(doc(id, text, lang)).unwrap();
        shards[i % n].add(doc(id, text, lang)).unwrap();
    }
    if commit {
        single.commit().unwrap();
        shards.iter_mut().for_each(|s| s.commit().unwrap());
    }
    (single, shards)
}

fn all_langs(shards: &[Index]) -> Vec<String> {
    let mut langs: Vec<String> = shards.iter().flat_map(|s| s.languages().into_iter().map(|(l, _)| l)).collect();
    langs.sort();
    langs.dedup();
    langs
}

fn stats_for(shards: &[Index], terms: &[String]) -> GlobalStats {
    let mut g = GlobalStats::default();
    for s in shards {
        g.add(terms, &s.lexical_stats(terms)).unwrap();
    }
    g
}

/// The shards' hits merged best first (ties by id: the test compares scores per id).
fn merged(mut hits: Vec<Hit>) -> HashMap<String, f32> {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.into_iter().map(|h| (h.id, h.score)).collect()
}

fn as_map(hits: Vec<Hit>) -> HashMap<String, f32> {
    hits.into_iter().map(|h| (h.id, h.score)).collect()
}

#[test]
fn sharded_text_search_scores_equal_one_index() {
    for commit in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let (single, shards) = build(tmp.path(), 3, commit);
        let langs = all_langs(&shards);
        for (query, qlang, filter) in [
            ("who won the super bowl", Some("en"), None),
            ("Panthers Denver", None, None),
            ("Super Bowl gewann", Some("de"), Some(vec!["de".to_string(), "en".to_string()])),
            ("北京大学", Some("zh"), None),
            ("panthers", None, Some(vec!["fr".to_string()])),
        ] {
            let terms = shards[0].query_terms(query, qlang, &langs).unwrap();
            let g = stats_for(&shards, &terms);
            let mut hits = Vec::new();
            for s in &shards {
                hits.extend(s.search_global(query, qlang, 10, filter.as_deref(), &g, None).unwrap());
            }
            let want = as_map(single.search(query, qlang, 10, filter.as_deref()).unwrap());
            assert!(!want.is_empty(), "{query}");
            // Bit-identical scores, not merely close ones.
            assert_eq!(merged(hits), want, "{query} (commit: {commit})");
            // Each shard alone scores with its own statistics: different numbers.
            let own = as_map(shards.iter().flat_map(|s| s.search(query, qlang, 10, filter.as_deref()).unwrap()).collect());
            if query == "Panthers Denver" {
                assert_ne!(own, want, "local statistics should differ from global ones");
            }
        }
    }
}

#[test]
fn sharded_term_search_scores_equal_one_index() {
    let tmp = tempfile::tempdir().unwrap();
    let (single, shards) = build(tmp.path(), 4, true);
    let terms = vec![("panther".to_string(), 1.0f32), ("bowl".to_string(), 0.25), ("denver".to_string(), 0.5), ("bowl".to_string(), 0.25)];
    let names: Vec<String> = {
        let mut t: Vec<String> = terms.iter().map(|(t, _)| t.clone()).collect();
        t.sort();
        t.dedup();
        t
    };
    let g = stats_for(&shards, &names);
    for filter in [None, Some(vec!["en".to_string()])] {
        let hits = shards.iter().flat_map(|s| s.search_terms_global(&terms, 10, filter.as_deref(), &g, None).unwrap()).collect();
        let want = as_map(single.search_terms(&terms, 10, filter.as_deref()).unwrap());
        assert!(!want.is_empty());
        assert_eq!(merged(hits), want);
    }
}

#[test]
fn statistics_add_up_and_missing_terms_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (single, shards) = build(tmp.path(), 2, true);
    let terms = vec!["panther".to_string(), "nowhere".to_string()];
    let g = stats_for(&shards, &terms);
    let one = single.lexical_stats(&terms);
    assert_eq!((g.n_docs, g.total_len), (one.n_docs, one.total_len));
    assert_eq!(terms.iter().map(|t| g.df[t]).collect::<Vec<_>>(), one.df);
    assert!(one.df[0] >= 3 && one.df[1] == 0, "{:?}", one.df);
    // A term the statistics do not cover would be scored with made-up numbers: refused.
    let partial = stats_for(&shards, &["bowl".to_string()]);
    assert!(shards[0].search_global("panthers bowl", None, 10, None, &partial, None).is_err());
    assert!(GlobalStats::default().add(&terms, &one.clone()).is_ok());
    assert!(GlobalStats::default().add(&terms[..1], &one).is_err());
}
