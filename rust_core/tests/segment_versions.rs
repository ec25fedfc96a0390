//! Segment format version 1 (raw postings and texts: tests/support/golden/index-v1) stays readable and
//! searchable, and its first commit rewrites it as version 2 (compressed) with the same answers.

use std::path::Path;

use xlqe_core::{Document, Index};

fn golden_copy(to: &Path) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/support/golden/index-v1");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(golden).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn segment_version(dir: &Path) -> u32 {
    let seg = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-")).unwrap();
    let bytes = std::fs::read(seg).unwrap();
    u32::from_le_bytes(bytes[8..12].try_into().unwrap())
}

const QUERIES: [&str; 5] = ["river floods the old town", "Hafen", "火车", "market early station", "der Markt öffnet"];

#[test]
fn a_version_1_segment_is_read_searched_and_rewritten_as_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ix");
    golden_copy(&path);
    assert_eq!(segment_version(&path), 1);
    let reader = Index::open(&path, false).unwrap();
    assert!(reader.verify().is_empty(), "{:?}", reader.verify());
    let before: Vec<_> = QUERIES.iter().map(|q| reader.search(q, None, 10, None).unwrap()).collect();
    assert_eq!(before[0][0].id, "en-0");
    let texts: Vec<_> = reader.ids().iter().map(|id| reader.get(id).unwrap()).collect();
    assert_eq!(reader.get("de-3").unwrap().unwrap().text, "der Markt öffnet früh");
    drop(reader);

    let mut writer = Index::open(&path, true).unwrap();
    // A change that leaves the same documents: the commit must still rewrite the segment.
    writer.add(Document { id: "tmp".into(), text: "temporary".into(), lang: Some("en".into()), metadata: String::new() }).unwrap();
    writer.delete("tmp").unwrap();
    writer.commit().unwrap();
    drop(writer);
    assert_eq!(segment_version(&path), 2);
    let reader = Index::open(&path, false).unwrap();
    assert!(reader.verify().is_empty(), "{:?}", reader.verify());
    let after: Vec<_> = QUERIES.iter().map(|q| reader.search(q, None, 10, None).unwrap()).collect();
    assert_eq!(before, after);
    let texts_after: Vec<_> = reader.ids().iter().map(|id| reader.get(id).unwrap()).collect();
    assert_eq!(texts, texts_after);
}
