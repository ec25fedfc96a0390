//! Metadata filters (`where=`): which documents a search may return, by path, format and modification
//! time. The core decides it, inside each list's top-k, so a filtered query is still one call and a list
//! is never cut short by a filter (the first `k` allowed documents of each list, as deep as that needs).
//!
//! Python's `xlqe_lite.Filter` resolves what depends on the caller's machine (a relative path's absolute,
//! real form; the suffix -> format table of the ingest side) and hands over a [`DocFilter`]; the filter
//! reads only a document's id and its metadata fields "path", "format" and "mtime".

use std::collections::HashMap;

use serde::Deserialize;

use super::Index;

/// A path prefix as the user typed it: it may start the document's id, its "path" metadata (a synced
/// file's path relative to its folder; `rel`, without a leading "./"), or the id once made absolute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathPrefix {
    pub raw: String,
    pub rel: String,
    pub absolute: Option<String>,
}

/// Which documents a search may return; an empty field does not restrict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocFilter {
    /// Globs (`*` and `?` cross "/", `[...]`, `[!...]`), matched against the id and the "path" metadata.
    pub globs: Vec<String>,
    pub prefixes: Vec<PathPrefix>,
    /// Format names ("pdf", "markdown"); a document without "format" metadata has its suffix's.
    pub formats: Vec<String>,
    /// Suffix (".md") -> format name, for documents without "format" metadata.
    pub suffix_formats: HashMap<String, String>,
    /// Modification time in epoch seconds: `after` inclusive, `before` exclusive; documents without an
    /// "mtime" are then excluded.
    pub after: Option<f64>,
    pub before: Option<f64>,
}

/// The documents a filter allows, by document number.
#[derive(Debug, Clone)]
pub struct DocSet(Vec<bool>);

impl DocSet {
    pub fn contains(&self, d: usize) -> bool {
        self.0.get(d).copied().unwrap_or(false)
    }

    pub fn is_empty(&self) -> bool {
        !self.0.iter().any(|&b| b)
    }
}

/// The metadata fields a filter reads; the others are skipped unparsed.
#[derive(Deserialize, Default)]
struct Fields {
    path: Option<serde_json::Value>,
    format: Option<serde_json::Value>,
    mtime: Option<serde_json::Value>,
}

impl DocFilter {
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty() && self.prefixes.is_empty() && self.formats.is_empty() && self.after.is_none() && self.before.is_none()
    }

    /// Whether the document `id` with metadata JSON `metadata` ("" or anything unparsable: none) passes.
    pub fn allows(&self, id: &str, metadata: &str) -> bool {
        let fields: Fields = if metadata.is_empty() { Fields::default() } else { serde_json::from_str(metadata).unwrap_or_default() };
        let rel = fields.path.as_ref().and_then(|p| p.as_str()).unwrap_or("");
        let by_path = !self.globs.is_empty() || !self.prefixes.is_empty();
        if by_path && !self.path_ok(id, rel) {
            return false;
        }
        if !self.formats.is_empty() {
            let format = self.format_of(id, &fields);
            if !self.formats.contains(&format) {
                return false;
            }
        }
        if self.after.is_some() || self.before.is_some() {
            // A number, not a bool (JSON keeps them apart).
            let Some(mtime) = fields.mtime.as_ref().and_then(|m| m.as_f64()) else { return false };
            if self.after.is_some_and(|a| mtime < a) || self.before.is_some_and(|b| mtime >= b) {
                return false;
            }
        }
        true
    }

    fn path_ok(&self, id: &str, rel: &str) -> bool {
        self.globs.iter().any(|g| fnmatch(id, g) || (!rel.is_empty() && fnmatch(rel, g)))
            || self.prefixes.iter().any(|p| {
                id.starts_with(&p.raw)
                    || (!rel.is_empty() && rel.starts_with(&p.rel))
                    || p.absolute.as_ref().is_some_and(|a| id.starts_with(a.as_str()))
            })
    }

    /// The "format" metadata (lowercased), else the format of the "path" metadata's suffix (or the id's),
    /// else "".
    fn format_of(&self, id: &str, fields: &Fields) -> String {
        if let Some(f) = fields.format.as_ref().and_then(|f| f.as_str()).filter(|f| !f.is_empty()) {
            return f.to_lowercase();
        }
        let path = fields.path.as_ref().and_then(|p| p.as_str()).unwrap_or(id);
        let suffix = suffix(path).to_lowercase();
        let bare = suffix.trim_start_matches('.');
        if bare.is_empty() {
            return String::new();
        }
        self.suffix_formats.get(&format!(".{bare}")).cloned().unwrap_or_else(|| bare.to_string())
    }
}

/// The suffix of a path's last component, dot included ("" for none; a leading dot does not start one),
/// as Python's `os.path.splitext`.
fn suffix(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let body = name.trim_start_matches('.');
    match body.rfind('.') {
        Some(i) => &body[i..],
        None => "",
    }
}

/// Shell-style matching of the whole `text`, as Python's `fnmatch.fnmatchcase`: `*` any run of
/// characters ("/" included), `?` one character, `[abc]`/`[a-z]` one of a set, `[!...]` one outside it;
/// a "[" without its "]" is a literal.
pub fn fnmatch(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Iterative matching with one backtrack point: the last `*` and where the text stood then.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p, pi, t[ti]) {
                        if matched {
                            ti += 1;
                            pi = next;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        ti += 1;
                        pi += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The set `[...]` starting at `p[start]`: whether `c` is in it and where the pattern goes on, or None
/// when the "[" has no closing "]" (it is then a literal).
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = i < p.len() && p[i] == '!';
    if negated {
        i += 1;
    }
    // A "]" right after "[" or "[!" is a member, not the end.
    let first = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negated, i + 1))
}

impl Index {
    /// The live documents `filter` allows, or None when there is no filter or it allows everything. Reads
    /// every document's metadata once, so a search computes it once and its lists share it.
    pub fn allowed_docs(&self, filter: Option<&DocFilter>) -> Option<DocSet> {
        let filter = filter.filter(|f| !f.is_empty())?;
        let nb = self.base.n_docs();
        Some(DocSet(
            (0..self.n_total())
                .map(|d| {
                    !self.deleted[d] && {
                        let metadata = if d < nb { self.base.meta(d) } else { self.pending.metas[d - nb].as_str() };
                        filter.allows(self.id_of(d), metadata)
                    }
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_python() {
        // (text, pattern, fnmatch.fnmatchcase's answer)
        for (text, pattern, want) in [
            ("notes/a.md", "*.md", true),
            ("notes/a.md", "notes/*", true),
            ("notes/sub/a.md", "notes/*.md", true),
            ("a.md", "?.md", true),
            ("ab.md", "?.md", false),
            ("a.txt", "*.md", false),
            ("b.md", "[ab].md", true),
            ("c.md", "[ab].md", false),
            ("c.md", "[!ab].md", true),
            ("x5", "x[0-9]", true),
            ("x[", "x[", true),
            ("]", "[]]", true),
            ("", "*", true),
            ("", "?", false),
            ("aaa", "a*a*a", true),
            ("aa", "a*a*a", false),
            ("Notes.MD", "*.md", false),
            ("日本/文書.txt", "日本/*", true),
        ] {
            assert_eq!(fnmatch(text, pattern), want, "{text:?} ~ {pattern:?}");
        }
    }

    #[test]
    fn suffix_as_splitext() {
        assert_eq!(suffix("a/b.tar.gz"), ".gz");
        assert_eq!(suffix(".bashrc"), "");
        assert_eq!(suffix("dir.d/file"), "");
        assert_eq!(suffix("x.MD"), ".MD");
    }

    #[test]
    fn allows_by_path_format_and_time() {
        let formats: HashMap<String, String> = [(".md".to_string(), "markdown".to_string())].into();
        let md = DocFilter { formats: vec!["markdown".into()], suffix_formats: formats.clone(), ..Default::default() };
        assert!(md.allows("/x/notes/b.md", r#"{"path": "notes/b.md"}"#));
        assert!(md.allows("doc-1", r#"{"format": "Markdown"}"#));
        assert!(!md.allows("/x/a.txt", ""));
        assert!(!md.allows("/x/a.txt", "not json"));
        let prefix = DocFilter {
            prefixes: vec![PathPrefix { raw: "notes/".into(), rel: "notes/".into(), absolute: None }],
            ..Default::default()
        };
        assert!(prefix.allows("/x/notes/b.md", r#"{"path": "notes/b.md"}"#));
        assert!(!prefix.allows("/x/old/c.txt", r#"{"path": "old/c.txt"}"#));
        let recent = DocFilter { after: Some(100.0), before: Some(200.0), ..Default::default() };
        assert!(recent.allows("a", r#"{"mtime": 100}"#));
        assert!(!recent.allows("a", r#"{"mtime": 200.0}"#));
        assert!(!recent.allows("a", r#"{"mtime": true}"#));
        assert!(!recent.allows("a", "{}"));
        assert!(DocFilter::default().is_empty() && DocFilter::default().allows("a", ""));
    }
}
