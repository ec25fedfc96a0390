//! The full consistency check of an index's committed state.

use super::dense::passage_keys_of;
use super::Index;

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
        if let Some(vectors) = &self.vectors {
            // Every vector belongs to a live document: as many documents with vectors as vectors.
            let with_vectors = self.base.doc_keys().iter().filter(|&&k| vectors.contains(k)).count();
            if with_vectors != vectors.len() || vectors.len() as u64 != self.manifest.vector_count {
                problems.push(format!(
                    "{} vectors but {} committed documents have one (manifest: {})",
                    vectors.len(),
                    with_vectors,
                    self.manifest.vector_count
                ));
            }
        }
        if let (Some(vectors), Some(passages)) = (&self.vectors, &self.passages) {
            // Passages belong to live documents that have a vector of their own.
            let owned: usize =
                self.base.doc_keys().iter().filter(|&&k| vectors.contains(k)).map(|&k| passage_keys_of(passages, k).count()).sum();
            if owned != passages.len() || passages.len() as u64 != self.manifest.passage_count {
                problems.push(format!(
                    "{} passage vectors but committed documents own {} (manifest: {})",
                    passages.len(),
                    owned,
                    self.manifest.passage_count
                ));
            }
        }
        problems
    }
}

