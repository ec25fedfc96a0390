//! The index directory: a manifest naming the committed generation, the files of that generation, and a
//! writer lock.
//!
//! A commit writes the new generation's files under fresh names, fsyncs them, then replaces the manifest
//! by an atomic rename (and fsyncs the directory). Until that rename the old manifest names the old
//! files, which are untouched; after it the new ones are complete. So a crash at any point leaves the last
//! committed state readable. Files no manifest names are garbage and are removed by the next writer.
//!
//! Everything on disk is checked before it is trusted: the manifest carries the format version and its
//! own CRC32, and names each file with its size and CRC32; segments carry their own version and checksum.

pub mod run;
pub mod segment;
pub mod segment_writer;
pub mod texts;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use fs2::FileExt;
use serde::{Deserialize, Serialize};

use crate::config::IndexConfig;
use crate::error::{Error, Result};

pub const MANIFEST_FILE: &str = "xlqe.manifest";
pub const LOCK_FILE: &str = "xlqe.lock";
pub const INDEX_FORMAT: &str = "xlqe-lite-index";
/// The format this build writes: 2 keeps each document language's vectors in their own files
/// ([`Manifest::vector_parts`]).
pub const INDEX_FORMAT_VERSION: u32 = 2;
/// The oldest format this build reads: version 1 kept every language's vectors in one file (the
/// manifest's `vectors` and `passages`), which this build still searches and updates.
pub const OLDEST_INDEX_FORMAT_VERSION: u32 = 1;
/// A manifest is a few hundred bytes; anything past this is not one (and is never read into memory).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// A file of a generation, with what it must measure to be trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub file: String,
    pub bytes: u64,
    pub crc32: u32,
}

/// The commit point. Small JSON: it names files and counts, never postings. Unknown fields are refused:
/// a damaged key name (say, of the checksum itself) must not pass as a field some other version wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub generation: u64,
    pub config: IndexConfig,
    pub segment: Option<FileEntry>,
    /// The vectors of an index written in format version 1, every language in one file (it may be an
    /// earlier generation's, when no vector changed since). Kept until its documents are all deleted;
    /// new documents go to [`Manifest::vector_parts`].
    #[serde(default)]
    pub vectors: Option<FileEntry>,
    #[serde(default)]
    pub vector_count: u64,
    /// The passage vectors of that file's documents (absent when none has any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passages: Option<FileEntry>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub passage_count: u64,
    /// The vectors of each document language (format version 2), by language; empty languages have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vector_parts: Vec<VectorPart>,
    pub documents: u64,
    /// The next stable document key; keys are never reused, so other structures can refer to them.
    pub next_key: u64,
    /// CRC32 of the manifest's content without this field (see [`manifest_checksum`]), so a damaged
    /// setting or count is caught like a damaged segment. Always written; manifests written before it
    /// existed have none and are accepted unchecked. Kept last: removing it never reorders the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<u32>,
}

/// The vector files of one document language (None: the documents of no language), with their counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorPart {
    pub lang: Option<String>,
    pub vectors: FileEntry,
    pub vector_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passages: Option<FileEntry>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub passage_count: u64,
}

impl Manifest {
    /// Every file the manifest names.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        let parts = self.vector_parts.iter().flat_map(|p| std::iter::once(&p.vectors).chain(&p.passages));
        self.segment.iter().chain(&self.vectors).chain(&self.passages).chain(parts)
    }

    pub fn new(config: IndexConfig) -> Manifest {
        Manifest {
            format: INDEX_FORMAT.into(),
            format_version: INDEX_FORMAT_VERSION,
            generation: 0,
            config,
            segment: None,
            vectors: None,
            vector_count: 0,
            passages: None,
            passage_count: 0,
            vector_parts: Vec::new(),
            documents: 0,
            next_key: 0,
            checksum: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub fn segment_file_name(generation: u64) -> String {
    format!("seg-{generation:010}.xlqe")
}

/// The vector file of the `part`-th language part written by commit `generation`.
pub fn vector_file_name(generation: u64, part: usize) -> String {
    format!("vec-{generation:010}-{part:04}.usearch")
}

/// The passage file of the `part`-th language part written by commit `generation`.
pub fn passage_file_name(generation: u64, part: usize) -> String {
    format!("psg-{generation:010}-{part:04}.usearch")
}

/// The checksum of a manifest's JSON content: CRC32 of its compact re-serialisation without the
/// "checksum" field. Computed on the parsed JSON (not the struct), so the writer and every reader see
/// the same numbers whatever their float formatting, and whitespace does not matter.
fn manifest_checksum(mut value: serde_json::Value) -> u32 {
    if let Some(object) = value.as_object_mut() {
        object.remove("checksum");
    }
    crc32fast::hash(&serde_json::to_vec(&value).expect("JSON values serialise"))
}

/// Reads and validates the manifest of the index at `dir`: its format and version, its checksum, and
/// settings a writer could have written.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    if !dir.exists() {
        return Err(Error::NotFound(dir.into()));
    }
    if !dir.is_dir() {
        return Err(Error::corrupt(dir, "not a directory"));
    }
    let path = dir.join(MANIFEST_FILE);
    let not_an_index = || Error::corrupt(dir, format!("not an xlqe index (no {MANIFEST_FILE})"));
    match fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_an_index()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        Ok(m) if !m.is_file() => return Err(Error::corrupt(dir, format!("not an xlqe index ({MANIFEST_FILE} is not a file)"))),
        Ok(m) if m.len() > MAX_MANIFEST_BYTES => {
            return Err(Error::corrupt(dir, format!("not an xlqe index ({MANIFEST_FILE} is {} bytes, too large for a manifest)", m.len())))
        }
        Ok(_) => {}
    }
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_an_index()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(dir, format!("not an xlqe index, or its manifest is damaged (invalid JSON: {e})")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(INDEX_FORMAT) {
        return Err(Error::corrupt(dir, "not an xlqe index (foreign manifest)"));
    }
    let version = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0).min(u32::MAX as u64) as u32;
    if !(OLDEST_INDEX_FORMAT_VERSION..=INDEX_FORMAT_VERSION).contains(&version) {
        let supported = if version < OLDEST_INDEX_FORMAT_VERSION { OLDEST_INDEX_FORMAT_VERSION } else { INDEX_FORMAT_VERSION };
        return Err(Error::FormatVersion { path: dir.into(), found: version, supported });
    }
    let stored = value.get("checksum").cloned();
    let expected = manifest_checksum(value.clone());
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| Error::corrupt(dir, format!("invalid manifest: {e}")))?;
    if stored.is_some() && manifest.checksum != Some(expected) {
        return Err(Error::corrupt(dir, "checksum mismatch: the manifest is damaged"));
    }
    manifest.config.validate().map_err(|e| Error::corrupt(dir, format!("invalid manifest: {e}")))?;
    Ok(manifest)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
}

/// Atomically replaces the manifest: write a temporary file, fsync it, rename it over the old one, fsync
/// the directory so the rename itself is durable.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
    let ctx = || format!("writing {}", tmp.display());
    let mut manifest = manifest.clone();
    manifest.checksum = None;
    let unsummed = serde_json::to_vec(&manifest).expect("manifest serialises");
    manifest.checksum =
        Some(manifest_checksum(serde_json::from_slice(&unsummed).expect("a serialised manifest parses")));
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    let mut f = File::create(&tmp).map_err(|e| Error::io(ctx(), e))?;
    f.write_all(&json).and_then(|_| f.sync_all()).map_err(|e| Error::io(ctx(), e))?;
    drop(f);
    fs::rename(&tmp, dir.join(MANIFEST_FILE)).map_err(|e| Error::io(ctx(), e))?;
    sync_dir(dir)
}

/// Makes `dir` a new, empty index. Refuses a directory that already holds files.
pub fn create_index_dir(dir: &Path, config: IndexConfig) -> Result<()> {
    if dir.join(MANIFEST_FILE).exists() {
        return Err(Error::InvalidInput(format!("an index already exists at {}", dir.display())));
    }
    if dir.exists() {
        let not_empty = !dir.is_dir()
            || fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?.next().is_some();
        if not_empty {
            return Err(Error::InvalidInput(format!(
                "{} exists and is not an empty directory; refusing to create an index there",
                dir.display()
            )));
        }
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    write_manifest(dir, &Manifest::new(config))
}

/// The single-writer lock. `flock` locks are released by the kernel when the holder dies, so a crashed
/// writer never leaves a stale lock behind.
pub struct WriterLock {
    _file: File,
    pub path: PathBuf,
}

impl WriterLock {
    pub fn acquire(dir: &Path) -> Result<WriterLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        file.try_lock_exclusive().map_err(|_| Error::Locked(dir.into()))?;
        Ok(WriterLock { _file: file, path })
    }
}

/// Removes files of generations the manifest does not name and temporary files of interrupted commits.
/// Only a writer calls this (it holds the lock, so no commit is in flight).
pub fn collect_garbage(dir: &Path, manifest: &Manifest) {
    let keep: Vec<&str> = manifest.files().map(|s| s.file.as_str()).collect();
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = ((name.starts_with("seg-") || name.starts_with("vec-") || name.starts_with("psg-"))
            && (name.ends_with(".xlqe") || name.ends_with(".usearch") || name.ends_with(".tmp")))
            || name == format!("{MANIFEST_FILE}.tmp")
            || run::is_scratch_name(name);
        if ours && !keep.contains(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
}
