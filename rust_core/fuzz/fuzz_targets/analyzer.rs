//! Any text in any language through the analyzer, snippets and script detection: no panic, tokens
//! non-empty, offsets on character boundaries.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use xlqe_core::analysis::Analyzer;
use xlqe_core::config::AnalyzerConfig;
use xlqe_core::snippet::make_snippet;

const LANGS: [Option<&str>; 8] = [None, Some("en"), Some("de"), Some("ar"), Some("hi"), Some("ru"), Some("tr"), Some("th")];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let lang = LANGS[first as usize % LANGS.len()];
    let analyzer = Analyzer::new(AnalyzerConfig { stem: first & 8 == 0, stopwords: first & 16 == 0 });
    let tokens = analyzer.tokens(&text, lang);
    for t in &tokens {
        assert!(!t.term.is_empty());
        assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end) && t.start < t.end);
    }
    let terms: HashSet<String> = tokens.iter().take(3).map(|t| t.term.clone()).collect();
    let s = make_snippet(&analyzer, &text, lang, &terms, 1 + first as usize);
    for (a, b) in s.highlights {
        assert!(s.text.is_char_boundary(a) && s.text.is_char_boundary(b));
    }
    let _ = xlqe_core::script::dominant_script(&text);
    let _ = xlqe_core::detect::detect_language(&text);
});
