//! Commit and rollback. A commit merges the committed segment and the pending changes into a new
//! segment (and new vector files when vectors changed), then replaces the manifest atomically; until
//! then readers and a crash see the previous commit.

use super::merge::MergedLists;
use super::pending::MemoryList;
use super::Index;
use crate::error::Result;
use std::borrow::Cow;

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

        // Terms of every source in byte order; postings merged and renumbered, empty ones dropped.
        let base_unchanged = self.deleted[..nb].iter().all(|d| !d);
        let memory: Vec<(&str, &MemoryList)> =
            self.pending.terms.iter().map(|(t, i)| (t, &self.pending.postings[i as usize])).collect();
        let lists = MergedLists::new(&self.base, &self.pending.runs, memory, &remap, base_unchanged);
        let doc_lens: Vec<u32> = live_docs.iter().map(|&d| self.doc_len(d)).collect();
        let doc_langs: Vec<u16> = live_docs.iter().map(|&d| self.lang_slot(d)).collect();
        let doc_keys: Vec<u64> = live_docs.iter().map(|&d| self.key_of(d)).collect();
        // Texts in document order: the segment's decompressed a block at a time, as the writer packs them,
        // then the pending ones (the spilled read back in order).
        let mut base_texts = self.base.texts();
        let deleted = &self.deleted;
        let base_live = (0..nb).filter(|&d| !deleted[d]).map(move |d| Ok(Cow::Owned(base_texts.text(d).to_string())));
        let texts = base_live.chain(self.pending.texts.iter_kept(move |p| !deleted[nb + p])?);
        let meta_of = |d: usize| if d < nb { self.base.meta(d) } else { self.pending.metas[d - nb].as_str() };
        let data = SegmentData {
            lists: Box::new(lists),
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

