//! Document addressing: document numbers (the committed segment's first, then the pending ones), their
//! ids, stable keys, languages and stored fields.

use std::collections::HashMap;

use super::Index;
use crate::error::Result;
use crate::storage::segment::NO_LANG;

/// Longest accepted document id, in bytes.
pub const MAX_ID_BYTES: usize = 4096;

/// A document as the user gives it.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub id: String,
    pub text: String,
    /// ISO 639-1 code or any tag [`crate::lang::normalize_lang`] accepts; None when unknown.
    pub lang: Option<String>,
    /// Free metadata as a JSON text ("" for none).
    pub metadata: String,
}

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub lang: Option<String>,
    /// The stable key of the document (survives commits; shared with the vector index).
    pub key: u64,
}

/// A document as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    pub id: String,
    pub text: String,
    pub lang: Option<String>,
    pub metadata: String,
    pub key: u64,
}


impl Index {
    pub(super) fn find_doc(&self, id: &str) -> Option<usize> {
        if let Some(&local) = self.pending.by_id.get(id) {
            let d = self.base.n_docs() + local as usize;
            if !self.deleted[d] {
                return Some(d);
            }
        }
        self.base.find_id(id).filter(|&d| !self.deleted[d])
    }

    pub(super) fn lang_slot(&self, d: usize) -> u16 {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.doc_langs()[d]
        } else {
            self.pending.langs[d - nb]
        }
    }

    pub(super) fn doc_len(&self, d: usize) -> u32 {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.doc_lens()[d]
        } else {
            self.pending.lens[d - nb]
        }
    }

    pub(super) fn lang_of_slot(&self, slot: u16) -> Option<String> {
        (slot != NO_LANG).then(|| self.langs[slot as usize].clone())
    }

    pub(super) fn id_of(&self, d: usize) -> &str {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.id(d)
        } else {
            &self.pending.ids[d - nb]
        }
    }

    pub(super) fn key_of(&self, d: usize) -> u64 {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.doc_keys()[d]
        } else {
            self.pending.keys[d - nb]
        }
    }

    /// The document number of a stable key: keys increase with document numbers, in the segment and
    /// among pending documents alike.
    pub(super) fn doc_of_key(&self, key: u64) -> Option<usize> {
        if let Ok(d) = self.base.doc_keys().binary_search(&key) {
            return Some(d);
        }
        self.pending.keys.binary_search(&key).ok().map(|p| self.base.n_docs() + p)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.find_doc(id).is_some()
    }

    fn stored(&self, d: usize) -> Result<StoredDocument> {
        let nb = self.base.n_docs();
        let lang = self.lang_of_slot(self.lang_slot(d));
        Ok(if d < nb {
            StoredDocument {
                id: self.base.id(d).into(),
                text: self.base.text(d).into_owned(),
                lang,
                metadata: self.base.meta(d).into(),
                key: self.base.doc_keys()[d],
            }
        } else {
            let p = d - nb;
            StoredDocument {
                id: self.pending.ids[p].clone(),
                text: self.pending.texts.get(p)?,
                lang,
                metadata: self.pending.metas[p].clone(),
                key: self.pending.keys[p],
            }
        })
    }

    /// The live document with this id, or None. Fails only when a pending text spilled to disk cannot
    /// be read back.
    pub fn get(&self, id: &str) -> Result<Option<StoredDocument>> {
        self.find_doc(id).map(|d| self.stored(d)).transpose()
    }

    /// All live document ids (committed and pending).
    pub fn ids(&self) -> Vec<String> {
        (0..self.n_total()).filter(|&d| !self.deleted[d]).map(|d| self.id_of(d).to_string()).collect()
    }

    /// Languages of the live documents, with counts, most frequent first. Counted at each commit (and
    /// open); only a writer's uncommitted changes make it count again.
    pub fn languages(&self) -> Vec<(String, usize)> {
        if self.dirty {
            self.count_languages()
        } else {
            self.committed_languages.clone()
        }
    }

    pub(super) fn count_languages(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<u16, usize> = HashMap::new();
        for d in 0..self.n_total() {
            if !self.deleted[d] {
                *counts.entry(self.lang_slot(d)).or_default() += 1;
            }
        }
        let mut out: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(slot, _)| *slot != NO_LANG)
            .map(|(slot, n)| (self.langs[slot as usize].clone(), n))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

