//! Arbitrary queries, weighted terms, language tags and filters against a small real index: errors are
//! fine, panics are not.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xlqe_core::{Document, Index, IndexConfig};

fn index() -> &'static Index {
    static INDEX: OnceLock<(tempfile::TempDir, Index)> = OnceLock::new();
    &INDEX
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut ix = Index::create(&dir.path().join("ix"), IndexConfig::default()).unwrap();
            for (i, (text, lang)) in [
                ("The Panthers won the Super Bowl.", "en"),
                ("Die Broncos gewannen den Super Bowl.", "de"),
                ("北京大学是中国的一所大学。", "zh"),
                ("ทุกสองสัปดาห์ คะแนน", "th"),
                ("دفاع الفريق", "ar"),
            ]
            .iter()
            .enumerate()
            {
                ix.add(Document { id: format!("d{i}"), text: text.to_string(), lang: Some(lang.to_string()), metadata: String::new() })
                    .unwrap();
            }
            ix.commit().unwrap();
            (dir, ix)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ix = index();
    let mut parts = text.splitn(3, '\u{1}');
    let query = parts.next().unwrap_or("");
    let lang = parts.next();
    let filter: Option<Vec<String>> = parts.next().map(|f| f.split(',').map(str::to_string).collect());
    let _ = ix.search(query, lang, 1 + data.len() % 20, filter.as_deref());
    let terms: Vec<(String, f32)> = query.split_whitespace().enumerate().map(|(i, t)| (t.to_string(), (i % 3) as f32 - 0.5)).collect();
    let _ = ix.search_terms(&terms, 10, None);
    let _ = ix.analyze_query(query, lang, lang);
});
