//! An index's vectors, one part per document language: each language's documents have their own
//! vector index and passage index. A mixed index is searched one language at a time (`query/`), and
//! a graph of one language is walked without a filter, where a graph of every language filtered to one
//! visits nodes of all the others (on a 10,000-document index of 13 languages, 4 ms per language instead
//! of 0.3 ms for the whole graph). A commit also rewrites only the parts whose language changed.
//!
//! An index written in format version 1 holds one part of every language (the manifest's `vectors` and
//! `passages`). It is searched with a language filter as before and keeps its documents until they are
//! deleted; documents added since go to their language's part.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::config::VectorConfig;
use crate::error::{Error, Result};
use crate::storage::{self, FileEntry, Manifest, VectorPart};
use crate::vector::VectorIndex;

/// Which documents a part holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scope {
    /// Every language (an index of format version 1).
    All,
    /// The documents of this language (None: of no language).
    Lang(Option<String>),
}

pub(super) struct Part {
    pub(super) scope: Scope,
    pub(super) vectors: VectorIndex,
    pub(super) passages: VectorIndex,
    /// Changed since the last commit: its files are written again by the next one.
    dirty: bool,
    /// Its entry in the committed manifest (None: not committed).
    committed: Option<VectorPart>,
}

impl Part {
    fn new(scope: Scope, config: &VectorConfig) -> Result<Part> {
        Ok(Part { scope, vectors: VectorIndex::new(config.clone())?, passages: VectorIndex::new(config.clone())?, dirty: false, committed: None })
    }

    /// Whether the part holds the vector of the document with `key` and language `lang`.
    fn holds(&self, key: u64, lang: Option<&str>) -> bool {
        let scoped = match &self.scope {
            Scope::All => true,
            Scope::Lang(l) => l.as_deref() == lang,
        };
        scoped && self.vectors.contains(key)
    }

    /// Whether the part holds one language only (a search of it needs no language filter).
    pub(super) fn is_one_language(&self) -> bool {
        matches!(self.scope, Scope::Lang(_))
    }

    pub(super) fn touch(&mut self) {
        self.dirty = true;
    }
}

/// Each language's documents' vectors summed (f64) and counted (None: not yet worked out; a search
/// asking for one language works out all of them in one pass).
pub(super) type Centroids = Mutex<Option<HashMap<Option<String>, Arc<VectorSum>>>>;

/// Vectors summed in f64, and how many.
pub type VectorSum = (Vec<f64>, usize);

/// The vector parts of an index, ordered by scope.
pub(super) struct Parts {
    config: VectorConfig,
    parts: Vec<Part>,
    /// Valid for the vectors held now: emptied whenever a part may change (`holding_mut`, `for_new`).
    pub(super) centroids: Centroids,
}

impl Parts {
    /// The parts `manifest` names, each file checked against its size and checksum; memory-mapped for a
    /// reader, loaded for a writer.
    pub(super) fn open(dir: &Path, manifest: &Manifest, config: &VectorConfig, writable: bool) -> Result<Parts> {
        let open = |f: &Option<FileEntry>, count: u64| match f {
            None if count > 0 => Err(Error::corrupt(dir, "the manifest counts vectors but names no vector file")),
            None => VectorIndex::new(config.clone()),
            Some(f) => VectorIndex::open(&dir.join(&f.file), f.bytes, f.crc32, config.clone(), count, writable),
        };
        let mut parts = Vec::new();
        if manifest.vectors.is_some() || manifest.passages.is_some() {
            let vectors = open(&manifest.vectors, manifest.vector_count)?;
            let passages = open(&manifest.passages, manifest.passage_count)?;
            parts.push(Part { scope: Scope::All, vectors, passages, dirty: false, committed: None });
        }
        let mut seen = HashSet::new();
        for entry in &manifest.vector_parts {
            if !seen.insert(&entry.lang) {
                return Err(Error::corrupt(dir, format!("the manifest names two vector parts of language {:?}", entry.lang)));
            }
            let vectors = open(&Some(entry.vectors.clone()), entry.vector_count)?;
            let passages = open(&entry.passages, entry.passage_count)?;
            parts.push(Part { scope: Scope::Lang(entry.lang.clone()), vectors, passages, dirty: false, committed: Some(entry.clone()) });
        }
        parts.sort_by(|a, b| a.scope.cmp(&b.scope));
        Ok(Parts { config: config.clone(), parts, centroids: Centroids::default() })
    }

    pub(super) fn config(&self) -> &VectorConfig {
        &self.config
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter()
    }

    /// The document vectors held, in every part.
    pub(super) fn len(&self) -> usize {
        self.parts.iter().map(|p| p.vectors.len()).sum()
    }

    pub(super) fn passage_len(&self) -> usize {
        self.parts.iter().map(|p| p.passages.len()).sum()
    }

    pub(super) fn check_vector(&self, vector: &[f32]) -> Result<()> {
        self.config.check_vector(vector)
    }

    pub(super) fn set_expansion_search(&mut self, ef: usize) -> Result<()> {
        if ef == 0 {
            return Err(Error::InvalidInput("expansion_search must be >= 1".into()));
        }
        self.config.expansion_search = ef;
        for p in &mut self.parts {
            p.vectors.set_expansion_search(ef)?;
            p.passages.set_expansion_search(ef)?;
        }
        Ok(())
    }

    /// The part holding the vector of the document with `key` and language `lang`: its language's part,
    /// or an index's part of every language.
    pub(super) fn holding(&self, key: u64, lang: Option<&str>) -> Option<&Part> {
        self.parts.iter().find(|p| p.holds(key, lang))
    }

    pub(super) fn holding_mut(&mut self, key: u64, lang: Option<&str>) -> Option<&mut Part> {
        self.forget_centroids();
        self.parts.iter_mut().find(|p| p.holds(key, lang))
    }

    fn forget_centroids(&mut self) {
        *self.centroids.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The part new documents of `lang` go to, made when the language has none yet.
    pub(super) fn for_new(&mut self, lang: Option<&str>) -> Result<&mut Part> {
        self.forget_centroids();
        let scope = Scope::Lang(lang.map(str::to_string));
        let at = match self.parts.binary_search_by(|p| p.scope.cmp(&scope)) {
            Ok(at) => at,
            Err(at) => {
                self.parts.insert(at, Part::new(scope, &self.config)?);
                at
            }
        };
        Ok(&mut self.parts[at])
    }

    pub(super) fn is_dirty(&self) -> bool {
        self.parts.iter().any(|p| p.dirty)
    }

    /// Writes the changed parts as files of commit `generation` and records every part in `manifest`
    /// (parts left empty are dropped). On an error, the files written so far are removed and nothing is
    /// recorded: the committed state stays as it was.
    pub(super) fn save(&self, dir: &Path, generation: u64, manifest: &mut Manifest) -> Result<Vec<Option<VectorPart>>> {
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        let result = self.save_into(dir, generation, manifest, &mut written);
        if result.is_err() {
            for path in written {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    fn save_into(&self, dir: &Path, generation: u64, manifest: &mut Manifest, written: &mut Vec<std::path::PathBuf>)
                 -> Result<Vec<Option<VectorPart>>> {
        let mut save = |index: &VectorIndex, file: String| -> Result<Option<FileEntry>> {
            if index.is_empty() {
                return Ok(None);
            }
            let path = dir.join(&file);
            written.push(path.clone());
            let (bytes, crc32) = index.save(&path)?;
            Ok(Some(FileEntry { file, bytes, crc32 }))
        };
        let mut entries = Vec::with_capacity(self.parts.len());
        let mut recorded = Vec::new();
        for (i, part) in self.parts.iter().enumerate() {
            let entry = match (&part.scope, part.dirty) {
                (Scope::All, false) => None, // its files stay as the manifest names them
                (Scope::All, true) => {
                    // Format version 1's file: rewritten in place of the old, or dropped once empty.
                    let vectors = save(&part.vectors, storage::vector_file_name(generation, i))?;
                    manifest.vector_count = if vectors.is_some() { part.vectors.len() as u64 } else { 0 };
                    manifest.vectors = vectors;
                    let passages = save(&part.passages, storage::passage_file_name(generation, i))?;
                    manifest.passage_count = if passages.is_some() { part.passages.len() as u64 } else { 0 };
                    manifest.passages = passages;
                    None
                }
                (Scope::Lang(_), false) => part.committed.clone(),
                (Scope::Lang(lang), true) => match save(&part.vectors, storage::vector_file_name(generation, i))? {
                    None => None,
                    Some(vectors) => Some(VectorPart {
                        lang: lang.clone(),
                        vectors,
                        vector_count: part.vectors.len() as u64,
                        passage_count: part.passages.len() as u64,
                        passages: save(&part.passages, storage::passage_file_name(generation, i))?,
                    }),
                },
            };
            recorded.extend(entry.clone());
            entries.push(entry);
        }
        manifest.vector_parts = recorded;
        Ok(entries)
    }

    /// After a commit recorded what [`Parts::save`] returned: every part is clean, empty ones go.
    pub(super) fn committed(&mut self, entries: Vec<Option<VectorPart>>) {
        for (part, entry) in self.parts.iter_mut().zip(entries) {
            part.dirty = false;
            part.committed = entry;
        }
        self.parts.retain(|p| !p.vectors.is_empty() || !p.passages.is_empty());
    }
}
