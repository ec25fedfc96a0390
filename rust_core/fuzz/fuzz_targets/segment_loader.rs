//! Arbitrary bytes as a committed segment whose checksum the manifest vouches for (the worst case: a
//! crafted file, not just a damaged one). Opening must either fail cleanly or give an index whose every
//! accessor and search works.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xlqe_core::config::IndexConfig;
use xlqe_core::storage::{self, FileEntry, Manifest};
use xlqe_core::Index;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    // The checksum covers everything but the 12-byte footer; fix it up so the structure checks are reached.
    let mut bytes = data.to_vec();
    if bytes.len() >= 12 {
        let body = bytes.len() - 12;
        let crc = crc32fast::hash(&bytes[..body]);
        bytes[body..body + 4].copy_from_slice(&crc.to_le_bytes());
    }
    std::fs::write(path.join("seg-0000000001.xlqe"), &bytes).unwrap();
    let n_docs = if bytes.len() >= 24 { u64::from_le_bytes(bytes[16..24].try_into().unwrap()) } else { 0 };
    let mut manifest = Manifest::new(IndexConfig::default());
    manifest.generation = 1;
    manifest.documents = n_docs;
    manifest.next_key = u64::MAX;
    manifest.segment = Some(FileEntry { file: "seg-0000000001.xlqe".into(), bytes: bytes.len() as u64, crc32: crc32fast::hash(&bytes[..bytes.len().saturating_sub(12)]) });
    storage::write_manifest(path, &manifest).unwrap();
    if let Ok(index) = Index::open(path, false) {
        let _ = index.verify();
        let _ = index.ids();
        let _ = index.languages();
        let _ = index.search("the query words 北京", None, 10, None);
        for id in index.ids().iter().take(5) {
            let _ = index.get(id);
        }
    }
});
