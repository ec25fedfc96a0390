//! Documents added and deleted since the last commit: the pending postings, lengths, languages, keys
//! and stored fields, numbered after the committed segment's documents.

use std::collections::HashMap;

use super::dense::{passage_key, passage_keys_of, MAX_PASSAGES, MAX_PASSAGE_DOC_KEY};
use super::docs::{Document, MAX_ID_BYTES};
use super::Index;
use crate::analysis::Token;
use crate::error::{Error, Result};
use crate::lang::normalize_lang;
use crate::storage::segment::NO_LANG;

#[derive(Default)]
pub(super) struct Pending {
    pub(super) term_ids: HashMap<String, u32>,
    /// Per pending term: local document numbers and frequencies.
    pub(super) postings: Vec<(Vec<u32>, Vec<u32>)>,
    pub(super) lens: Vec<u32>,
    pub(super) langs: Vec<u16>,
    pub(super) keys: Vec<u64>,
    pub(super) ids: Vec<String>,
    pub(super) texts: Vec<String>,
    pub(super) metas: Vec<String>,
    pub(super) by_id: HashMap<String, u32>,
}

impl Index {
    fn intern_lang(&mut self, lang: &str) -> Result<u16> {
        if let Some(i) = self.langs.iter().position(|l| l == lang) {
            return Ok(i as u16);
        }
        if self.langs.len() >= NO_LANG as usize {
            return Err(Error::InvalidInput("too many distinct languages".into()));
        }
        self.langs.push(lang.to_string());
        Ok((self.langs.len() - 1) as u16)
    }

    /// Adds a document, replacing any live document with the same id. Returns its stable key.
    pub fn add(&mut self, doc: Document) -> Result<u64> {
        self.add_with_vector(doc, None)
    }

    /// Adds a document with its dense vector (the index must be configured for vectors).
    pub fn add_with_vector(&mut self, doc: Document, vector: Option<&[f32]>) -> Result<u64> {
        self.add_with_passages(doc, vector, &[])
    }

    /// Adds a document with its vector and its passages' vectors (windows of its text; see
    /// [`crate::vector`]). Passages need the document's own vector.
    pub fn add_with_passages(&mut self, doc: Document, vector: Option<&[f32]>, passages: &[&[f32]]) -> Result<u64> {
        self.require_writer()?;
        if doc.id.is_empty() || doc.id.len() > MAX_ID_BYTES {
            return Err(Error::InvalidInput(format!("a document id must be 1 to {MAX_ID_BYTES} bytes long")));
        }
        let lang = doc.lang.as_deref().map(normalize_lang).transpose()?;
        if !doc.metadata.is_empty() {
            serde_json::from_str::<serde::de::IgnoredAny>(&doc.metadata)
                .map_err(|e| Error::InvalidInput(format!("metadata of {:?} is not valid JSON: {e}", doc.id)))?;
        }
        if let Some(v) = vector {
            let vectors = self
                .vectors
                .as_ref()
                .ok_or_else(|| Error::InvalidInput("this index holds no vectors (create it with a vector configuration)".into()))?;
            vectors.check_vector(v)?;
            for p in passages {
                vectors.check_vector(p)?;
            }
        } else if !passages.is_empty() {
            return Err(Error::InvalidInput("passage vectors need the document's own vector too".into()));
        }
        if passages.len() > MAX_PASSAGES || (!passages.is_empty() && self.next_key > MAX_PASSAGE_DOC_KEY) {
            return Err(Error::InvalidInput(format!(
                "{} passage vectors for one document; the limit is {MAX_PASSAGES}",
                passages.len()
            )));
        }
        let slot = match &lang {
            Some(l) => self.intern_lang(l)?,
            None => NO_LANG,
        };
        let mut freqs: HashMap<String, u32> = HashMap::new();
        let mut len: u64 = 0;
        self.analyzer.for_each_token(&doc.text, lang.as_deref(), |t: Token| {
            *freqs.entry(t.term).or_default() += 1;
            len += 1;
        });
        let len = u32::try_from(len).map_err(|_| Error::InvalidInput("document has too many terms".into()))?;
        self.delete(&doc.id)?;
        let key = self.next_key;
        if let (Some(v), Some(vectors)) = (vector, self.vectors.as_mut()) {
            let part = vectors.for_new(lang.as_deref())?;
            part.touch();
            part.vectors.add(key, v)?;
            for (i, p) in passages.iter().enumerate() {
                part.passages.add(passage_key(key, i), p)?;
            }
        }
        let local = self.pending.lens.len() as u32;
        for (term, tf) in freqs {
            let next = self.pending.postings.len() as u32;
            let t = *self.pending.term_ids.entry(term).or_insert(next);
            if t == next {
                self.pending.postings.push((Vec::new(), Vec::new()));
            }
            let (docs, tfs) = &mut self.pending.postings[t as usize];
            docs.push(local);
            tfs.push(tf);
        }
        self.next_key += 1;
        self.pending.lens.push(len);
        self.pending.langs.push(slot);
        self.pending.keys.push(key);
        self.pending.by_id.insert(doc.id.clone(), local);
        self.pending.ids.push(doc.id);
        self.pending.texts.push(doc.text);
        self.pending.metas.push(doc.metadata);
        self.deleted.push(false);
        self.live_len_total += len as u64;
        self.dirty = true;
        Ok(key)
    }

    /// Deletes the document with this id; returns whether one was live.
    pub fn delete(&mut self, id: &str) -> Result<bool> {
        self.require_writer()?;
        let Some(d) = self.find_doc(id) else { return Ok(false) };
        let key = self.key_of(d);
        let lang = self.lang_of_slot(self.lang_slot(d));
        if let Some(part) = self.vectors.as_mut().and_then(|v| v.holding_mut(key, lang.as_deref())) {
            part.touch();
            part.vectors.remove(key)?;
            let keys: Vec<u64> = passage_keys_of(&part.passages, key).collect();
            for p in keys {
                part.passages.remove(p)?;
            }
        }
        self.deleted[d] = true;
        self.deleted_count += 1;
        self.live_len_total -= self.doc_len(d) as u64;
        self.dirty = true;
        Ok(true)
    }
}

