//! A version 2 segment damaged anywhere (with its checksum fixed up, as a crafted file would be) is
//! refused at open or read without a panic: bit widths, lengths and offsets are checked before anything
//! is decoded.

use xlqe_core::storage::segment::Segment;
use xlqe_core::{Document, Index, IndexConfig};

fn committed_segment(dir: &std::path::Path) -> Vec<u8> {
    let mut ix = Index::create(&dir.join("ix"), IndexConfig::default()).unwrap();
    let words = ["river", "town", "flood", "harbour", "dawn", "train", "station", "market", "early", "late"];
    for d in 0..400usize {
        let text: Vec<&str> = (0..(5 + d % 13)).map(|i| words[(d * 7 + i * i) % words.len()]).collect();
        let text = format!("{} {}", text.join(" "), "padding text that compresses ".repeat(d % 5));
        ix.add(Document { id: format!("doc-{d}"), text, lang: Some(["en", "de"][d % 2].into()), metadata: String::new() }).unwrap();
    }
    ix.commit().unwrap();
    let seg = std::fs::read_dir(dir.join("ix")).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-")).unwrap();
    std::fs::read(seg).unwrap()
}

fn exercise(seg: &Segment) {
    let _ = seg.verify();
    for t in 0..seg.n_terms() {
        let mut n = 0usize;
        seg.postings(t).for_each(|_, _| n += 1);
        assert!(n <= seg.n_docs());
    }
    for d in (0..seg.n_docs()).step_by(37) {
        let _ = seg.text(d);
        let _ = seg.id(d);
    }
}

#[test]
fn damaged_version_2_segments_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let good = committed_segment(dir.path());
    assert_eq!(u32::from_le_bytes(good[8..12].try_into().unwrap()), 2);
    let path = dir.path().join("damaged.xlqe");
    let body = good.len() - 12;
    let (mut refused, mut opened) = (0, 0);
    for at in (12..body).step_by(5) {
        for flip in [0x01u8, 0xff] {
            let mut bytes = good.clone();
            bytes[at] ^= flip;
            let crc = crc32fast::hash(&bytes[..body]);
            bytes[body..body + 4].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&path, &bytes).unwrap();
            match Segment::open(&path, bytes.len() as u64, crc) {
                Ok(seg) => {
                    opened += 1;
                    exercise(&seg);
                }
                Err(_) => refused += 1,
            }
        }
    }
    assert!(refused > 0 && opened > 0, "refused {refused}, opened {opened}");
    // Truncated files are refused.
    for cut in [12usize, 40, body / 2, body - 1] {
        let mut bytes = good[..cut].to_vec();
        bytes.extend_from_slice(&good[body..]);
        let crc = crc32fast::hash(&bytes[..bytes.len() - 12]);
        let n = bytes.len();
        bytes[n - 12..n - 8].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert!(Segment::open(&path, bytes.len() as u64, crc).is_err());
    }
}
