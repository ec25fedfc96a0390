//! The full consistency check of an index's committed state.

use super::dense::passage_keys_of;
use super::Index;
use crate::storage::VectorPart;

impl Index {
    /// Full consistency check of the committed state: checksums, structure, postings against document
    /// lengths, unique ids, manifest counts. Returns the problems found (empty when consistent).
    pub fn verify(&self) -> Vec<String> {
        let mut problems = self.base.verify();
        if self.base.n_docs() as u64 != self.manifest.documents {
            problems.push("manifest document count differs from the segment".into());
        }
        if let Some(max) = self.base.doc_keys().iter().max() {
            if *max >= self.manifest.next_key {
                problems.push("a document key is not below the manifest's next key".into());
            }
        }
        if let Some(parts) = &self.vectors {
            // Every vector belongs to a committed document, in its language's part (or the part of every
            // language of a version 1 index), and every passage to a document with a vector of its own.
            let (mut with_vectors, mut owned) = (0usize, 0usize);
            for (d, &key) in self.base.doc_keys().iter().enumerate() {
                let lang = self.lang_of_slot(self.base.doc_langs()[d]);
                if let Some(part) = parts.holding(key, lang.as_deref()) {
                    with_vectors += 1;
                    owned += passage_keys_of(&part.passages, key).count();
                }
            }
            let committed = |count: &dyn Fn(&VectorPart) -> u64, legacy: u64| legacy + self.manifest.vector_parts.iter().map(count).sum::<u64>();
            let vector_count = committed(&|p| p.vector_count, self.manifest.vector_count);
            if with_vectors != parts.len() || parts.len() as u64 != vector_count {
                problems.push(format!(
                    "{} vectors but {} committed documents have one in their language's part (manifest: {})",
                    parts.len(),
                    with_vectors,
                    vector_count
                ));
            }
            let passage_count = committed(&|p| p.passage_count, self.manifest.passage_count);
            if owned != parts.passage_len() || parts.passage_len() as u64 != passage_count {
                problems.push(format!(
                    "{} passage vectors but committed documents own {} (manifest: {})",
                    parts.passage_len(),
                    owned,
                    passage_count
                ));
            }
        }
        problems
    }
}

