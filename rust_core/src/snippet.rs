//! Snippets: the stretch of a document that holds the most query terms, with their positions for
//! highlighting.

use std::collections::HashSet;

use crate::analysis::Analyzer;

/// Only the head of a very long document is looked at, so a snippet costs bounded time.
const SCAN_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges in `text` of the words that matched the query.
    pub highlights: Vec<(usize, usize)>,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The window of about `max_chars` characters of `text` with the most tokens whose term is in `terms`.
pub fn make_snippet(analyzer: &Analyzer, text: &str, lang: Option<&str>, terms: &HashSet<String>, max_chars: usize) -> Snippet {
    let head = &text[..floor_boundary(text, SCAN_BYTES)];
    let matches: Vec<(usize, usize)> = analyzer
        .tokens(head, lang)
        .into_iter()
        .filter(|t| terms.contains(&t.term))
        .map(|t| (t.start, t.end))
        .collect();
    // Budget in bytes from the text's own bytes-per-character, so scripts of 1 to 4 bytes get similar widths.
    let sample = &head[..floor_boundary(head, 4096)];
    let bytes_per_char = (sample.len() as f64 / sample.chars().count().max(1) as f64).max(1.0);
    let budget = ((max_chars as f64) * bytes_per_char) as usize;

    let (mut best_i, mut best_n, mut j) = (0usize, 0usize, 0usize);
    for i in 0..matches.len() {
        j = j.max(i);
        while j + 1 < matches.len() && matches[j + 1].1 - matches[i].0 <= budget {
            j += 1;
        }
        if j + 1 - i > best_n {
            best_n = j + 1 - i;
            best_i = i;
        }
    }
    let (mut start, mut end) = match matches.get(best_i) {
        None => (0, floor_boundary(text, budget)),
        Some(&(s, _)) => {
            let lead = budget / 5;
            let start = floor_boundary(text, s.saturating_sub(lead));
            (start, floor_boundary(text, start + budget))
        }
    };
    // Prefer cutting at white space, so words are not sliced.
    if start > 0 {
        if let Some(ws) = text[start..].find(char::is_whitespace).filter(|&w| start + w < matches.get(best_i).map_or(usize::MAX, |m| m.0)) {
            start += ws + 1;
            start = floor_boundary(text, start);
        }
    }
    if end < text.len() {
        if let Some(ws) = text[start..end].rfind(char::is_whitespace).filter(|&w| w > (end - start) / 2) {
            end = start + ws;
        }
    }
    let prefix = if start > 0 { "…" } else { "" };
    let suffix = if end < text.len() { "…" } else { "" };
    // Line breaks become spaces and invisible marks (BOM, bidi controls) go; `at[i]` is where byte i of
    // the window lands in the result, so highlights follow the edits.
    let mut body = String::with_capacity(end - start + prefix.len() + suffix.len());
    body.push_str(prefix);
    let mut at = vec![0usize; end - start + 1];
    for (i, c) in text[start..end].char_indices() {
        at[i] = body.len();
        match c {
            '\n' | '\r' | '\t' => body.push(' '),
            '\u{FEFF}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' => {}
            _ => body.push(c),
        }
    }
    at[end - start] = body.len();
    body.push_str(suffix);
    let highlights = matches
        .iter()
        .filter(|&&(s, e)| s >= start && e <= end)
        .map(|&(s, e)| (at[s - start], at[e - start]))
        .filter(|(a, b)| a < b)
        .collect();
    Snippet { text: body, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_window_with_the_matches() {
        let a = Analyzer::default();
        let text = format!("{} The panthers won the super bowl. {}", "filler words here. ".repeat(50), "more filler. ".repeat(50));
        let terms: HashSet<String> = a.analyze("panthers super bowl", Some("en")).into_iter().collect();
        let s = make_snippet(&a, &text, Some("en"), &terms, 80);
        assert!(s.text.contains("panthers won the super bowl"), "{}", s.text);
        assert_eq!(s.highlights.len(), 3);
        for (b, e) in &s.highlights {
            assert!(s.text.is_char_boundary(*b) && s.text.is_char_boundary(*e));
        }
    }

    #[test]
    fn highlights_survive_removed_marks_and_multibyte_text() {
        let a = Analyzer::default();
        let text = "\u{FEFF}Los Panthers,\nque además\u{200F} de liderar las intercepciones de la NFL con 24 y …";
        let terms: HashSet<String> = a.analyze("intercepciones NFL además", Some("es")).into_iter().collect();
        for width in [10, 30, 60, 200] {
            let s = make_snippet(&a, text, Some("es"), &terms, width);
            assert!(!s.text.contains('\u{FEFF}') && !s.text.contains('\n'));
            for &(b, e) in &s.highlights {
                let word = &s.text[b..e];
                assert!(["además", "intercepciones", "NFL"].contains(&word), "{word:?} in {:?}", s.text);
            }
        }
    }

    #[test]
    fn without_matches_the_head_is_shown() {
        let a = Analyzer::default();
        let s = make_snippet(&a, "北京大学是一所大学", None, &HashSet::new(), 4);
        assert!(s.text.starts_with("北京大学"));
        assert!(s.highlights.is_empty());
    }
}
