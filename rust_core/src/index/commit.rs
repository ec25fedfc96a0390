//! Commit and rollback. A commit merges the committed segment and the pending changes into a new
//! segment (and new vector files when vectors changed), then replaces the manifest atomically; until
//! then readers and a crash see the previous commit.

use super::Index;
use crate::error::Result;
use std::borrow::Cow;

use crate::lexical::Postings;
use crate::storage::segment::Segment;
use crate::storage::segment_writer::{write_segment, SegmentData};
use crate::storage::{self, FileEntry};

impl Index {
    /// Makes every change since the last commit durable, atomically. A no-op without changes.
    pub fn commit(&mut self) -> Result<()> {
        self.require_writer()?;
        let vectors_dirty = self.vectors.as_ref().is_some_and(|v| v.is_dirty());
        if !self.dirty && !vectors_dirty {
            return Ok(());
        }
        let nb = self.base.n_docs();
        let total = self.n_total();
        // New document numbers: live documents in order.
        let mut remap = vec![u32::MAX; total];
        let mut live = 0u32;
        for (d, slot) in remap.iter_mut().enumerate() {
            if !self.deleted[d] {
                *slot = live;
                live += 1;
            }
        }
        let live_docs: Vec<usize> = (0..total).filter(|&d| !self.deleted[d]).collect();

        // Terms of both sources in byte order; postings merged and renumbered, empty ones dropped.
        let mut pending_terms: Vec<(&str, u32)> = self.pending.term_ids.iter().map(|(t, &i)| (t.as_str(), i)).collect();
        pending_terms.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let base_unchanged = self.deleted[..nb].iter().all(|d| !d);
        let mut terms: Vec<&str> = Vec::new();
        let mut owned: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        // Which postings each term uses: a borrowed segment list (when nothing changed under it) or owned.
        enum Source {
            Base(usize),
            Owned(usize),
        }
        let mut sources: Vec<Source> = Vec::new();
        let (mut bi, mut pi) = (0usize, 0usize);
        let n_base_terms = self.base.n_terms();
        while bi < n_base_terms || pi < pending_terms.len() {
            let bt = (bi < n_base_terms).then(|| self.base.term(bi));
            let pt = pending_terms.get(pi).copied();
            let (term, from_base, from_pending) = match (bt, pt) {
                (Some(b), Some((p, pidx))) if b == p => {
                    bi += 1;
                    pi += 1;
                    (b, Some(bi - 1), Some(pidx))
                }
                (Some(b), Some((p, _))) if b < p => {
                    bi += 1;
                    (b, Some(bi - 1), None)
                }
                (Some(b), None) => {
                    bi += 1;
                    (b, Some(bi - 1), None)
                }
                (_, Some((p, pidx))) => {
                    pi += 1;
                    (p, None, Some(pidx))
                }
                (None, None) => unreachable!(),
            };
            if base_unchanged && from_pending.is_none() {
                terms.push(term);
                sources.push(Source::Base(from_base.unwrap()));
                continue;
            }
            let mut docs = Vec::new();
            let mut freqs = Vec::new();
            if let Some(t) = from_base {
                self.base.postings(t).for_each(|d, f| {
                    if let Some(&new) = remap.get(d as usize).filter(|&&n| n != u32::MAX) {
                        docs.push(new);
                        freqs.push(f);
                    }
                });
            }
            if let Some(t) = from_pending {
                let (d, f) = &self.pending.postings[t as usize];
                for (&d, &f) in d.iter().zip(f) {
                    let g = nb + d as usize;
                    if remap[g] != u32::MAX {
                        docs.push(remap[g]);
                        freqs.push(f);
                    }
                }
            }
            if !docs.is_empty() {
                terms.push(term);
                sources.push(Source::Owned(owned.len()));
                owned.push((docs, freqs));
            }
        }
        // A segment list nothing touched keeps its encoding (version 2) or is compressed (version 1).
        let postings: Vec<Postings> = sources
            .iter()
            .map(|s| match *s {
                Source::Base(t) => self.base.postings(t),
                Source::Owned(i) => Postings::Raw { docs: owned[i].0.as_slice(), freqs: owned[i].1.as_slice() },
            })
            .collect();
        let doc_lens: Vec<u32> = live_docs.iter().map(|&d| self.doc_len(d)).collect();
        let doc_langs: Vec<u16> = live_docs.iter().map(|&d| self.lang_slot(d)).collect();
        let doc_keys: Vec<u64> = live_docs.iter().map(|&d| self.key_of(d)).collect();
        // Texts in document order: the segment's decompressed a block at a time, as the writer packs them.
        let mut base_texts = self.base.texts();
        let pending_texts = &self.pending.texts;
        let texts = live_docs.iter().map(move |&d| {
            if d < nb {
                Cow::Owned(base_texts.text(d).to_string())
            } else {
                Cow::Borrowed(pending_texts[d - nb].as_str())
            }
        });
        let meta_of = |d: usize| if d < nb { self.base.meta(d) } else { self.pending.metas[d - nb].as_str() };
        let data = SegmentData {
            terms,
            postings,
            doc_lens: &doc_lens,
            doc_langs: &doc_langs,
            doc_keys: &doc_keys,
            ids: live_docs.iter().map(|&d| self.id_of(d)).collect(),
            texts: Box::new(texts),
            metas: live_docs.iter().map(|&d| meta_of(d)).collect(),
            langs: &self.langs,
        };
        let generation = self.manifest.generation + 1;
        let file = storage::segment_file_name(generation);
        let path = self.dir.join(&file);
        let written = write_segment(&path, data);
        let (bytes, crc32) = match written {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&path); // e.g. a full disk: leave no partial file behind
                return Err(e);
            }
        };
        let mut manifest = self.manifest.clone();
        manifest.format_version = storage::INDEX_FORMAT_VERSION;
        let mut saved_parts = None;
        if let Some(vectors) = self.vectors.as_ref().filter(|_| vectors_dirty) {
            match vectors.save(&self.dir, generation, &mut manifest) {
                Ok(entries) => saved_parts = Some(entries),
                Err(e) => {
                    // Leave none of this generation's files behind; the last commit stays as it was.
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
        }
        manifest.generation = generation;
        manifest.segment = Some(FileEntry { file, bytes, crc32 });
        manifest.documents = live as u64;
        manifest.next_key = self.next_key;
        let new_base = Segment::open(&path, bytes, crc32)?;
        drop(owned);
        storage::write_manifest(&self.dir, &manifest)?;
        self.manifest = manifest;
        self.base = new_base;
        if let (Some(vectors), Some(entries)) = (self.vectors.as_mut(), saved_parts) {
            vectors.committed(entries);
        }
        self.reset_to_base();
        storage::collect_garbage(&self.dir, &self.manifest);
        Ok(())
    }

    /// Drops every change since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        if self.vectors.as_ref().is_some_and(|v| v.is_dirty()) {
            self.vectors = Self::open_files(&self.dir, &self.manifest, self.lock.is_some())?.1;
        }
        self.reset_to_base();
        Ok(())
    }
}

