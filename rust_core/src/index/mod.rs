//! The document index: the committed segment (memory-mapped) plus the changes made since, searched
//! together; `commit` merges them into a new segment and makes it the committed state atomically.
//!
//! One file per concern, all of them `impl Index` blocks over the handle defined here:
//! - this file: the handle, opening and creating, reloading a reader;
//! - [`pending`]: documents added or deleted since the last commit; [`terms`]: its term table;
//! - [`docs`]: document numbers, ids, keys, languages and stored fields;
//! - [`lexical`]: BM25 search (query analysis per language, scoring);
//! - [`dense`]: vector search, with passage vectors;
//! - [`parts`]: the vectors, one part per document language;
//! - [`commit`]: commit and rollback; [`merge`]: its merge of every source's postings;
//! - [`verify`]: the consistency check of the committed state;
//! - [`global`]: BM25 with a sharded index's collection statistics.

use std::path::{Path, PathBuf};

use crate::analysis::Analyzer;
use crate::error::{Error, Result};
use crate::lexical::Bm25;
use crate::storage::segment::Segment;
use crate::config::IndexConfig;
use crate::storage::{self, Manifest, WriterLock};
use parts::Parts;

mod commit;
mod dense;
mod docs;
mod filter;
mod global;
mod lexical;
mod merge;
mod parts;
mod pending;
mod terms;
mod verify;

pub use dense::{centroid_of, move_query, MAX_PASSAGES};
pub use parts::VectorSum;
pub use docs::{Document, Hit, StoredDocument, MAX_ID_BYTES};
pub use filter::{fnmatch, DocFilter, DocSet, PathPrefix};
pub use global::{GlobalStats, LexicalStats};
pub use lexical::{check_query_text, MAX_QUERY_BYTES, MAX_QUERY_TERMS, MAX_TERM_WEIGHT};
pub use pending::PendingBudget;
use pending::Pending;

/// An open index: a reader, or the one writer (holding the directory's lock).
pub struct Index {
    dir: PathBuf,
    lock: Option<WriterLock>,
    manifest: Manifest,
    analyzer: Analyzer,
    bm25: Bm25,
    base: Segment,
    pending: Pending,
    pending_budget: PendingBudget,
    /// One flag per document number (segment first, then pending).
    deleted: Vec<bool>,
    deleted_count: usize,
    langs: Vec<String>,
    /// The committed documents per language (what [`Index::languages`] answers while nothing is pending),
    /// counted once per commit rather than by a scan per query.
    committed_languages: Vec<(String, usize)>,
    live_len_total: u64,
    next_key: u64,
    dirty: bool,
    /// The documents' vectors and their passages' vectors, keyed by document key, one part per
    /// document language, when the index is configured for vectors.
    vectors: Option<Parts>,
}

impl Index {
    /// Creates a new index in `dir` (which must not exist or be empty) and opens it for writing.
    pub fn create(dir: &Path, config: IndexConfig) -> Result<Index> {
        config.validate()?;
        storage::create_index_dir(dir, config)?;
        Index::open(dir, true)
    }

    /// Opens the index at `dir`. A writer takes the directory's lock; readers take none.
    pub fn open(dir: &Path, writer: bool) -> Result<Index> {
        let lock = if writer {
            storage::read_manifest(dir)?; // a clear "not an index" before creating a lock file in it
            Some(WriterLock::acquire(dir)?)
        } else {
            None
        };
        let (manifest, base, vectors) = Self::load_committed(dir, writer)?;
        if lock.is_some() {
            storage::collect_garbage(dir, &manifest);
        }
        let mut index = Index {
            dir: dir.into(),
            lock,
            analyzer: Analyzer::new(manifest.config.analyzer),
            bm25: Bm25 { k1: manifest.config.k1, b: manifest.config.b },
            manifest,
            base,
            pending: Pending::default(),
            pending_budget: PendingBudget::default(),
            deleted: Vec::new(),
            deleted_count: 0,
            langs: Vec::new(),
            committed_languages: Vec::new(),
            live_len_total: 0,
            next_key: 0,
            dirty: false,
            vectors,
        };
        index.reset_to_base();
        Ok(index)
    }

    /// Reads the manifest and maps its segment and vectors, retrying if a concurrent commit replaced them
    /// in between.
    fn load_committed(dir: &Path, writable: bool) -> Result<(Manifest, Segment, Option<Parts>)> {
        let mut attempts = 0;
        loop {
            let manifest = storage::read_manifest(dir)?;
            let opened = Self::open_files(dir, &manifest, writable);
            match opened {
                Ok((seg, vectors)) => return Ok((manifest, seg, vectors)),
                Err(Error::Corrupt { .. })
                    if attempts < 5 && storage::read_manifest(dir).is_ok_and(|m| m.generation != manifest.generation) =>
                {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn open_files(dir: &Path, manifest: &Manifest, writable: bool) -> Result<(Segment, Option<Parts>)> {
        let seg = match &manifest.segment {
            None => Segment::empty(),
            Some(f) => Segment::open(&dir.join(&f.file), f.bytes, f.crc32)?,
        };
        if seg.n_docs() as u64 != manifest.documents {
            return Err(Error::corrupt(dir, "manifest and segment disagree on the document count"));
        }
        let keys = seg.doc_keys();
        if !keys.windows(2).all(|w| w[0] < w[1]) || keys.last().is_some_and(|&k| k >= manifest.next_key) {
            return Err(Error::corrupt(dir, "document keys are out of order"));
        }
        let Some(config) = &manifest.config.vectors else {
            if manifest.vectors.is_some() || manifest.passages.is_some() || !manifest.vector_parts.is_empty() {
                return Err(Error::corrupt(dir, "vector file without a vector configuration"));
            }
            return Ok((seg, None));
        };
        Ok((seg, Some(Parts::open(dir, manifest, config, writable)?)))
    }

    pub(super) fn reset_to_base(&mut self) {
        self.pending = Pending::default();
        self.deleted = vec![false; self.base.n_docs()];
        self.deleted_count = 0;
        self.langs = self.base.langs();
        self.committed_languages = self.count_languages();
        self.live_len_total = self.base.doc_lens().iter().map(|&l| l as u64).sum();
        self.next_key = self.manifest.next_key;
        self.dirty = false;
    }

    /// For a reader: picks up the latest commit. Returns whether anything changed.
    pub fn reload(&mut self) -> Result<bool> {
        match self.reopened()? {
            Some(fresh) => {
                *self = fresh;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// For a reader: the latest commit opened as a new reader (with this handle's search settings), or
    /// None when this one already shows it (and for a writer, whose view is always the newest). Leaves
    /// `self` untouched, so searches may go on while the new state loads, and swap to it after.
    pub fn reopened(&self) -> Result<Option<Index>> {
        if self.lock.is_some() {
            return Ok(None);
        }
        let current = storage::read_manifest(&self.dir)?;
        if current.generation == self.manifest.generation {
            return Ok(None);
        }
        let mut fresh = Index::open(&self.dir, false)?;
        if let (Some(mine), Some(theirs)) = (&self.vectors, fresh.vectors.as_mut()) {
            theirs.set_expansion_search(mine.config().expansion_search)?;
        }
        Ok(Some(fresh))
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> IndexConfig {
        self.manifest.config.clone()
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn generation(&self) -> u64 {
        self.manifest.generation
    }

    pub fn is_writer(&self) -> bool {
        self.lock.is_some()
    }

    /// Whether there are changes not yet committed.
    pub fn has_uncommitted_changes(&self) -> bool {
        self.dirty
    }

    pub(super) fn n_total(&self) -> usize {
        self.base.n_docs() + self.pending.lens.len()
    }

    /// Live documents (committed and pending, minus deletions).
    pub fn len(&self) -> usize {
        self.n_total() - self.deleted_count
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn require_writer(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::InvalidInput("this index was opened read-only".into()));
        }
        Ok(())
    }
}

