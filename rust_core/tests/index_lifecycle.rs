//! The index as a user drives it: create, add, search, delete, commit, reopen, and the failures.

use std::fs;

use xlqe_core::{Document, Error, Index, IndexConfig};

fn doc(id: &str, text: &str, lang: &str) -> Document {
    Document { id: id.into(), text: text.into(), lang: Some(lang.into()), metadata: String::new() }
}

fn ids(hits: &[xlqe_core::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// The sample index committed and closed in `parent/ix`, for tests that then work on its files.
fn committed_sample(parent: &std::path::Path) -> std::path::PathBuf {
    let dir = parent.join("ix");
    sample(&dir).commit().unwrap();
    dir
}

fn sample(dir: &std::path::Path) -> Index {
    let mut ix = Index::create(dir, IndexConfig::default()).unwrap();
    ix.add(doc("en1", "The Panthers won the Super Bowl in Santa Clara.", "en")).unwrap();
    ix.add(doc("en2", "Denver's defense stopped the Panthers offense.", "en")).unwrap();
    ix.add(doc("de1", "Die Panthers verloren den Super Bowl gegen Denver.", "de")).unwrap();
    ix.add(doc("zh1", "北京大学是中国的一所大学。", "zh")).unwrap();
    ix
}

#[test]
fn pending_changes_are_searchable_and_survive_commit_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = sample(&dir);
    let before = ix.search("who won the super bowl", Some("en"), 10, None).unwrap();
    assert_eq!(before[0].id, "en1", "{before:?}");
    ix.commit().unwrap();
    let after = ix.search("who won the super bowl", Some("en"), 10, None).unwrap();
    assert_eq!(before, after, "commit must not change results");
    drop(ix);
    let reader = Index::open(&dir, false).unwrap();
    assert_eq!(reader.len(), 4);
    assert_eq!(reader.search("who won the super bowl", Some("en"), 10, None).unwrap(), after);
    assert_eq!(ids(&reader.search("北京大学", Some("zh"), 10, None).unwrap()), ["zh1"]);
    assert!(reader.verify().is_empty(), "{:?}", reader.verify());
}

#[test]
fn delete_update_and_language_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = sample(&dir);
    ix.commit().unwrap();
    assert_eq!(ids(&ix.search("panthers", None, 10, Some(&["de".into()])).unwrap()), ["de1"]);
    assert!(ix.delete("en1").unwrap());
    assert!(!ix.delete("en1").unwrap());
    assert!(!ids(&ix.search("panthers", Some("en"), 10, None).unwrap()).contains(&"en1"));
    // Re-adding an id replaces the document.
    ix.add(doc("en2", "A completely different text about rivers.", "en")).unwrap();
    assert!(ix.search("denver", Some("en"), 10, Some(&["en".into()])).unwrap().is_empty());
    assert_eq!(ix.len(), 3);
    ix.commit().unwrap();
    let reader = Index::open(&dir, false).unwrap();
    assert_eq!(reader.len(), 3);
    assert_eq!(reader.get("en2").unwrap().unwrap().text, "A completely different text about rivers.");
    assert!(reader.get("en1").unwrap().is_none());
    assert!(reader.verify().is_empty());
}

#[test]
fn keys_are_stable_and_never_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = sample(&dir);
    let k = ix.get("de1").unwrap().unwrap().key;
    ix.delete("en1").unwrap();
    ix.commit().unwrap();
    assert_eq!(ix.get("de1").unwrap().unwrap().key, k);
    let new_key = ix.add(doc("x", "new", "en")).unwrap();
    assert_eq!(new_key, 4);
}

#[test]
fn rollback_and_uncommitted_changes_are_invisible_to_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = sample(&dir);
    ix.commit().unwrap();
    ix.add(doc("new", "uncommitted words", "en")).unwrap();
    let mut reader = Index::open(&dir, false).unwrap();
    assert!(reader.search("uncommitted", Some("en"), 10, None).unwrap().is_empty());
    ix.commit().unwrap();
    assert!(reader.reload().unwrap());
    assert_eq!(ids(&reader.search("uncommitted", Some("en"), 10, None).unwrap()), ["new"]);
    ix.add(doc("gone", "rolled back", "en")).unwrap();
    ix.rollback().unwrap();
    assert!(!ix.contains("gone"));
}

#[test]
fn second_writer_is_refused_readers_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let _w = sample(&dir);
    assert!(matches!(Index::open(&dir, true), Err(Error::Locked(_))));
    assert!(Index::open(&dir, false).is_ok());
}

#[test]
fn bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = sample(&dir);
    assert!(matches!(ix.search("   ", None, 10, None), Err(Error::InvalidInput(_))));
    assert!(matches!(ix.search("x", Some("klingon"), 10, None), Err(Error::InvalidInput(_))));
    assert!(matches!(ix.add(doc("", "text", "en")), Err(Error::InvalidInput(_))));
    assert!(matches!(ix.add(doc("a", "text", "xx")), Err(Error::InvalidInput(_))));
    let bad_meta = Document { id: "m".into(), text: "t".into(), lang: None, metadata: "{not json".into() };
    assert!(matches!(ix.add(bad_meta), Err(Error::InvalidInput(_))));
    assert!(matches!(ix.search_terms(&[("a".into(), -1.0)], 10, None), Err(Error::InvalidInput(_))));
    // Weights as large as the cap, repeated, still give finite scores; past the cap is refused.
    let heavy: Vec<(String, f32)> = ["panther", "super", "bowl"].iter().flat_map(|t| std::iter::repeat_n((t.to_string(), 1e6), 50)).collect();
    let hits = ix.search_terms(&heavy, 10, None).unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|h| h.score.is_finite()), "{hits:?}");
    assert!(matches!(ix.search_terms(&[("panther".into(), 1e7)], 10, None), Err(Error::InvalidInput(_))));
    let huge = "word ".repeat(20_000);
    assert!(ix.search(&huge, Some("en"), 10, None).is_ok());
    assert!(matches!(Index::open(&tmp.path().join("missing"), false), Err(Error::NotFound(_))));
    fs::create_dir(tmp.path().join("foreign")).unwrap();
    fs::write(tmp.path().join("foreign/notes.txt"), "hello").unwrap();
    assert!(matches!(Index::open(&tmp.path().join("foreign"), false), Err(Error::Corrupt { .. })));
    assert!(Index::create(&tmp.path().join("foreign"), IndexConfig::default()).is_err());
}

#[test]
fn damaged_files_are_reported_not_crashed_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = committed_sample(tmp.path());
    let seg = fs::read_dir(&dir).unwrap().flatten().find(|e| e.file_name().to_string_lossy().ends_with(".xlqe")).unwrap().path();
    let original = fs::read(&seg).unwrap();
    // A flipped byte anywhere, a truncation, an empty file.
    for i in [0, 40, original.len() / 2, original.len() - 1] {
        let mut bytes = original.clone();
        bytes[i] ^= 0x5a;
        fs::write(&seg, &bytes).unwrap();
        assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })), "byte {i}");
    }
    fs::write(&seg, &original[..original.len() / 3]).unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })));
    fs::write(&seg, &original).unwrap();
    assert!(Index::open(&dir, false).is_ok());
    // A manifest from a newer format.
    let manifest = dir.join("xlqe.manifest");
    let text = fs::read_to_string(&manifest).unwrap().replace("\"format_version\": 2", "\"format_version\": 99");
    fs::write(&manifest, text).unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::FormatVersion { found: 99, .. })));
    fs::write(&manifest, "{garbage").unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })));
}

#[test]
fn a_damaged_manifest_is_caught_by_its_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = committed_sample(tmp.path());
    let manifest = dir.join("xlqe.manifest");
    let original = fs::read_to_string(&manifest).unwrap();
    assert!(original.contains("\"checksum\""), "{original}");
    // A setting that still parses and is in range: only the checksum can tell.
    fs::write(&manifest, original.replace("\"k1\": 1.2", "\"k1\": 1.3")).unwrap();
    let err = Index::open(&dir, false).err().expect("a damaged manifest");
    assert!(err.to_string().contains("the manifest is damaged"), "{err}");
    // Nor can a damaged key hide the checksum: unknown fields are refused.
    fs::write(&manifest, original.replace("\"checksum\"", "\"bhecksum\"")).unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })));
    // Whitespace is not content.
    fs::write(&manifest, original.replace("\n", "\n  ")).unwrap();
    assert!(Index::open(&dir, false).is_ok());
    // A manifest written before checksums existed is read unchecked, but its settings still are.
    let mut value: serde_json::Value = serde_json::from_str(&original).unwrap();
    value.as_object_mut().unwrap().remove("checksum");
    fs::write(&manifest, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    assert!(Index::open(&dir, false).unwrap().verify().is_empty());
    value["config"]["b"] = serde_json::json!(7.0);
    fs::write(&manifest, serde_json::to_vec(&value).unwrap()).unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })));
    // Something that is not a manifest: a folder, or a file far too large to be one.
    fs::remove_file(&manifest).unwrap();
    fs::create_dir(&manifest).unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })));
    fs::remove_dir(&manifest).unwrap();
    fs::write(&manifest, vec![b' '; 2 << 20]).unwrap();
    assert!(matches!(Index::open(&dir, false), Err(Error::Corrupt { .. })));
    // And the writer can carry on from the original.
    fs::write(&manifest, &original).unwrap();
    let mut writer = Index::open(&dir, true).unwrap();
    writer.add(doc("new", "a later document", "en")).unwrap();
    writer.commit().unwrap();
    assert_eq!(Index::open(&dir, false).unwrap().len(), 5);
}

#[test]
fn a_format_version_error_says_older_or_newer_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = committed_sample(tmp.path());
    let manifest = dir.join("xlqe.manifest");
    let original = fs::read_to_string(&manifest).unwrap();
    // Versions 1 and 2 are read (1 kept every language's vectors in one file); the error names the
    // nearer end of that range.
    for (found, supported, expected) in [(0, 1, "older than version 1"), (7, 2, "newer than version 2")] {
        fs::write(&manifest, original.replace("\"format_version\": 2", &format!("\"format_version\": {found}"))).unwrap();
        let err = Index::open(&dir, false).err().expect("a format version error");
        assert!(matches!(err, Error::FormatVersion { found: f, supported: s, .. } if f == found && s == supported), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("format version {found}")) && message.contains(expected), "{message}");
        assert!(message.contains("re-create the index"), "{message}");
    }
    fs::write(&manifest, &original).unwrap();
    assert!(Index::open(&dir, false).unwrap().verify().is_empty());
}

#[test]
fn an_interrupted_commit_leaves_the_last_committed_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = committed_sample(tmp.path());
    // What a crash between writing the new segment and renaming the manifest leaves: an orphan segment
    // and a half-written temporary manifest.
    fs::write(dir.join("seg-0000000009.xlqe"), b"partial").unwrap();
    fs::write(dir.join("xlqe.manifest.tmp"), b"{\"format\": \"xlqe-li").unwrap();
    let ix = Index::open(&dir, true).unwrap();
    assert_eq!(ix.len(), 4);
    assert!(ix.verify().is_empty());
    assert!(!dir.join("seg-0000000009.xlqe").exists(), "the writer removes orphans");
    assert!(!dir.join("xlqe.manifest.tmp").exists());
}

fn vec_config() -> IndexConfig {
    let mut v = xlqe_core::config::VectorConfig::new(3);
    v.storage = xlqe_core::config::Storage::F32;
    IndexConfig { vectors: Some(v), ..IndexConfig::default() }
}

#[test]
fn vectors_commit_reopen_delete_and_rollback_with_their_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = Index::create(&dir, vec_config()).unwrap();
    ix.add_with_vector(doc("a", "alpha", "en"), Some(&[1.0, 0.0, 0.0])).unwrap();
    ix.add_with_vector(doc("b", "beta", "de"), Some(&[0.0, 1.0, 0.0])).unwrap();
    ix.add_with_vector(doc("c", "gamma", "en"), Some(&[0.7, 0.7, 0.0])).unwrap();
    ix.add(doc("d", "no vector", "en")).unwrap();
    assert_eq!(ids(&ix.search_vector(&[1.0, 0.1, 0.0], 2, None, 0.0).unwrap()), ["a", "c"]);
    ix.commit().unwrap();

    let reader = Index::open(&dir, false).unwrap();
    assert_eq!(reader.vector_count(), 3);
    assert_eq!(ids(&reader.search_vector(&[1.0, 0.1, 0.0], 2, None, 0.0).unwrap()), ["a", "c"]);
    assert_eq!(ids(&reader.search_vector(&[1.0, 0.1, 0.0], 3, Some(&["de".into()]), 0.0).unwrap()), ["b"]);
    assert!(reader.verify().is_empty(), "{:?}", reader.verify());

    // Deleting or replacing a document takes its vector with it; rollback restores both.
    ix.delete("a").unwrap();
    ix.add_with_vector(doc("c", "gamma again", "en"), Some(&[0.0, 0.0, 1.0])).unwrap();
    assert_eq!(ids(&ix.search_vector(&[1.0, 0.1, 0.0], 1, None, 0.0).unwrap()), ["b"]);
    ix.rollback().unwrap();
    assert_eq!(ids(&ix.search_vector(&[1.0, 0.1, 0.0], 1, None, 0.0).unwrap()), ["a"]);
    ix.delete("a").unwrap();
    ix.commit().unwrap();
    let reader = Index::open(&dir, false).unwrap();
    assert_eq!(reader.vector_count(), 2);
    assert_eq!(ids(&reader.search_vector(&[1.0, 0.1, 0.0], 1, None, 0.0).unwrap()), ["c"]);
    assert!(reader.verify().is_empty());

    // A commit that changes no vector keeps the vector file of the earlier generation.
    ix.add(doc("e", "text only", "en")).unwrap();
    ix.commit().unwrap();
    assert_eq!(Index::open(&dir, false).unwrap().vector_count(), 2);
}

#[test]
fn passages_lift_a_document_and_live_and_die_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = Index::create(&dir, vec_config()).unwrap();
    // "long": its own vector points away from the query, but one of its passages points at it.
    let (q, near) = ([1.0, 0.0, 0.0], [0.96, 0.28, 0.0]);
    ix.add_with_passages(doc("long", "a long text", "en"), Some(&[0.0, 0.6, 0.8]), &[&[0.0, 0.0, 1.0], &[1.0, 0.0, 0.0]]).unwrap();
    ix.add_with_vector(doc("short", "a short text", "en"), Some(&near)).unwrap();
    assert_eq!(ix.passage_count(), 2);
    let whole = ix.search_vector(&q, 2, None, 0.0).unwrap();
    assert_eq!(ids(&whole), ["short", "long"]);
    assert!((whole[1].score - 0.0).abs() < 1e-5, "weight 0: the document's own vector alone");
    let mixed = ix.search_vector(&q, 2, None, 0.5).unwrap();
    assert_eq!(ids(&mixed), ["short", "long"]);
    assert!((mixed[1].score - 0.5).abs() < 1e-5, "half own (0), half best passage (1): {mixed:?}");
    assert!((mixed[0].score - 0.96).abs() < 1e-5, "no passages: the own vector's score: {mixed:?}");
    assert_eq!(ids(&ix.search_vector(&q, 2, None, 1.0).unwrap()), ["long", "short"]);
    // A document found only through a passage still comes back when k is 1.
    assert_eq!(ids(&ix.search_vector(&q, 1, None, 1.0).unwrap()), ["long"]);
    assert!(ix.search_vector(&q, 1, None, 1.5).is_err());
    ix.commit().unwrap();

    let reader = Index::open(&dir, false).unwrap();
    assert_eq!(reader.passage_count(), 2);
    assert_eq!(ids(&reader.search_vector(&q, 1, None, 1.0).unwrap()), ["long"]);
    assert!(reader.verify().is_empty(), "{:?}", reader.verify());

    // Replacing the document replaces its passages; rollback restores them; deleting drops them.
    ix.add_with_vector(doc("long", "now short", "en"), Some(&[0.0, 0.6, 0.8])).unwrap();
    assert_eq!(ix.passage_count(), 0);
    assert_eq!(ids(&ix.search_vector(&q, 1, None, 1.0).unwrap()), ["short"]);
    ix.rollback().unwrap();
    assert_eq!(ix.passage_count(), 2);
    ix.delete("long").unwrap();
    ix.commit().unwrap();
    let reader = Index::open(&dir, false).unwrap();
    assert_eq!((reader.passage_count(), reader.vector_count()), (0, 1));
    assert!(reader.verify().is_empty(), "{:?}", reader.verify());
    assert!(!fs::read_dir(&dir).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with("psg-")),
            "no passages left: no passage file kept");

    // Passages without the document's vector, or of the wrong length, are refused and add nothing.
    assert!(matches!(ix.add_with_passages(doc("p", "x", "en"), None, &[&[1.0, 0.0, 0.0]]), Err(Error::InvalidInput(_))));
    assert!(matches!(ix.add_with_passages(doc("p", "x", "en"), Some(&q), &[&[1.0, 0.0]]), Err(Error::InvalidInput(_))));
    assert!(!ix.contains("p"));
}

#[test]
fn a_damaged_or_missing_passage_file_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = Index::create(&dir, vec_config()).unwrap();
    ix.add_with_passages(doc("a", "x", "en"), Some(&[1.0, 0.0, 0.0]), &[&[0.0, 1.0, 0.0]]).unwrap();
    ix.commit().unwrap();
    drop(ix);
    damaged_then_missing_is_corrupt(&dir, "psg-");
}

/// Flips a byte of the index file whose name starts with `prefix`, then deletes it: both are refused.
fn damaged_then_missing_is_corrupt(dir: &std::path::Path, prefix: &str) {
    let file = fs::read_dir(dir).unwrap().flatten().find(|e| e.file_name().to_string_lossy().starts_with(prefix)).unwrap().path();
    let mut bytes = fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    fs::write(&file, &bytes).unwrap();
    assert!(matches!(Index::open(dir, false), Err(Error::Corrupt { .. })), "{prefix} damaged");
    fs::remove_file(&file).unwrap();
    assert!(matches!(Index::open(dir, false), Err(Error::Corrupt { .. })), "{prefix} missing");
}

#[test]
fn vector_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let mut plain = Index::create(&tmp.path().join("plain"), IndexConfig::default()).unwrap();
    assert!(matches!(plain.add_with_vector(doc("a", "x", "en"), Some(&[1.0])), Err(Error::InvalidInput(_))));
    assert!(plain.search_vector(&[1.0], 1, None, 0.0).is_err());
    let dir = tmp.path().join("ix");
    let mut ix = Index::create(&dir, vec_config()).unwrap();
    assert!(matches!(ix.add_with_vector(doc("a", "x", "en"), Some(&[1.0, 2.0])), Err(Error::InvalidInput(_))));
    assert!(!ix.contains("a"), "a refused vector adds nothing");
    ix.add_with_vector(doc("a", "x", "en"), Some(&[1.0, 2.0, 3.0])).unwrap();
    ix.commit().unwrap();
    drop(ix);
    damaged_then_missing_is_corrupt(&dir, "vec-");
}

#[test]
fn language_centroids_follow_the_documents_and_move_a_query_between_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = Index::create(&dir, vec_config()).unwrap();
    ix.add_with_vector(doc("a", "alpha", "en"), Some(&[1.0, 0.0, 0.0])).unwrap();
    ix.add_with_vector(doc("c", "gamma", "en"), Some(&[0.0, 0.0, 2.0])).unwrap(); // cosine: counted as unit length
    ix.add_with_vector(doc("b", "beta", "de"), Some(&[0.0, 1.0, 0.0])).unwrap();
    ix.add(doc("d", "no vector", "en")).unwrap();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    let en = ix.language_centroid(Some("en")).unwrap().unwrap();
    assert!(close(&en, &[0.5, 0.0, 0.5]), "{en:?}");
    assert!(ix.language_centroid(Some("fr")).unwrap().is_none());
    assert!(ix.language_centroid(None).unwrap().is_none());

    // The query moved from English's mean toward German's, by half the difference, at its own length.
    let q = [0.6f32, 0.0, 0.8];
    let moved = ix.query_toward(&q, "en", "de", 0.5, 1).unwrap().unwrap();
    let raw = [0.6 + 0.5 * (0.0 - 0.5), 0.5, 0.8 + 0.5 * (0.0 - 0.5)];
    let norm = (raw.iter().map(|x: &f64| x * x).sum::<f64>()).sqrt();
    assert!(close(&moved, &raw.map(|x| (x / norm) as f32)), "{moved:?}");
    assert!(ix.query_toward(&q, "en", "en", 0.5, 1).unwrap().is_none());
    assert!(ix.query_toward(&q, "en", "de", 0.0, 1).unwrap().is_none());
    assert!(ix.query_toward(&q, "fr", "de", 0.5, 1).unwrap().is_none());
    assert!(ix.query_toward(&[1.0, 0.0], "en", "de", 0.5, 1).is_err(), "a query of the wrong length");
    // German has one document: too few for its mean to stand for the language when two are asked for.
    assert!(ix.query_toward(&q, "en", "de", 0.5, 2).unwrap().is_none());

    // Changed documents change the mean at once (pending, committed, reopened, rolled back).
    ix.delete("c").unwrap();
    assert!(close(&ix.language_centroid(Some("en")).unwrap().unwrap(), &[1.0, 0.0, 0.0]));
    ix.add_with_vector(doc("e", "epsilon", "en"), Some(&[0.0, 1.0, 0.0])).unwrap();
    assert!(close(&ix.language_centroid(Some("en")).unwrap().unwrap(), &[0.5, 0.5, 0.0]));
    ix.commit().unwrap();
    let reader = Index::open(&dir, false).unwrap();
    assert!(close(&reader.language_centroid(Some("en")).unwrap().unwrap(), &[0.5, 0.5, 0.0]));
    ix.delete("e").unwrap();
    ix.rollback().unwrap();
    assert!(close(&ix.language_centroid(Some("en")).unwrap().unwrap(), &[0.5, 0.5, 0.0]));
}
