//! A hit's snippet: the stretch of its text with the most query terms, or, for a file document with
//! passage windows searched with a vector, the stretch of the window that matched the vector best (with
//! its place in the file: character offsets, page, chapter).

use std::collections::HashSet;

use serde_json::Value;

use crate::error::Result;
use crate::index::{Index, StoredDocument};
use crate::snippet::{make_snippet, Snippet};

/// Where a snippet comes from in its file, keys in the order Python shows them: "passage", "start",
/// "end", then "page" and "chapter" when the file has them.
pub type Place = Vec<(&'static str, Value)>;

/// The snippet of `doc` for `query`; `within` = (start, end) character offsets cuts it from that part of
/// the text only. Highlights are byte ranges in the snippet's text.
pub fn snippet_of(index: &Index, doc: &StoredDocument, query: &str, max_chars: usize, within: Option<(usize, usize)>) -> Snippet {
    let mut text = doc.text.as_str();
    if let Some((start, end)) = within {
        let byte = |c: usize| text.char_indices().nth(c).map_or(text.len(), |(b, _)| b);
        let (a, b) = (byte(start), byte(end.max(start)));
        text = &text[a..b];
    }
    let terms: HashSet<String> = index
        .analyze_query(query, doc.lang.as_deref(), None)
        .map(|t| t.into_iter().map(|(t, _)| t).collect())
        .unwrap_or_default();
    make_snippet(index.analyzer(), text, doc.lang.as_deref(), &terms, max_chars)
}

/// Byte ranges in `s` as Python (code point) ranges.
pub fn char_ranges(s: &Snippet) -> Vec<(usize, usize)> {
    let at = |byte: usize| s.text[..byte].chars().count();
    s.highlights.iter().map(|&(a, b)| (at(a), at(b))).collect()
}

/// Where passage number `passage` of a file document sits (its "passages" and "sections" metadata, as
/// `xlqe_lite.index.place_of` reads them); empty when the metadata has no such passage.
pub fn place_of(metadata: &str, passage: usize) -> Place {
    let meta: Value = if metadata.is_empty() { Value::Null } else { serde_json::from_str(metadata).unwrap_or(Value::Null) };
    let list = |name: &str| meta.get(name).and_then(Value::as_array).cloned().unwrap_or_default();
    let spans = list("passages");
    let Some(span) = spans.get(passage).and_then(Value::as_array).filter(|s| s.len() == 2) else { return Vec::new() };
    let (start, end) = (span[0].clone(), span[1].clone());
    let at = start.as_f64().unwrap_or(f64::NAN);
    let mut place: Place = vec![("passage", Value::from(passage)), ("start", start), ("end", end)];
    let sections = list("sections");
    // bisect_right over the sections' starts, minus one: the last section starting at or before `start`.
    let i = sections.partition_point(|s| s.get(0).and_then(Value::as_f64).is_some_and(|s0| s0 <= at));
    if let Some(section) = i.checked_sub(1).and_then(|i| sections[i].as_array()) {
        for (field, name) in [(1, "page"), (2, "chapter")] {
            if let Some(v) = section.get(field).filter(|v| !v.is_null()) {
                place.push((name, v.clone()));
            }
        }
    }
    place
}

/// The snippet of the passage window of `doc` nearest to `vector`, with its place; the whole text's
/// snippet (and no place) when the document has no passage windows, when its metadata does not place the
/// window, or when the window shows none of the query's words but the whole text's snippet shows at least
/// two different ones (one shared word is usually noise).
pub fn passage_snippet(index: &Index, doc: &StoredDocument, query: &str, vector: &[f32], max_chars: usize) -> Result<(Snippet, Option<Place>)> {
    let whole = || snippet_of(index, doc, query, max_chars, None);
    let Some((best, _)) = index.best_passage(&doc.id, vector)? else { return Ok((whole(), None)) };
    let place = place_of(&doc.metadata, best);
    let offset = |name: &str| place.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_i64());
    let (Some(start), Some(end)) = (offset("start"), offset("end")) else { return Ok((whole(), None)) };
    if start < 0 {
        return Ok((whole(), None));
    }
    let found = snippet_of(index, doc, query, max_chars, Some((start as usize, end.max(start) as usize)));
    if found.highlights.is_empty() {
        let w = whole();
        let words: HashSet<String> = w.highlights.iter().map(|&(a, b)| w.text[a..b].to_lowercase()).collect();
        if !w.text.is_empty() && words.len() >= 2 {
            return Ok((w, None));
        }
    }
    Ok((found, Some(place)))
}
