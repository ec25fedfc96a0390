//! The vector index: usearch's HNSW graph (or an exact scan when the index is small), keyed by the
//! documents' stable keys, stored as a file of the generation that last changed it, next to the segment,
//! and committed with it.
//!
//! Two live in each language part of an index with vectors (`index/parts.rs`): one vector per document,
//! and one holding each long document's passage vectors (overlapping windows of its text) under keys
//! derived from the document's (see `index/dense.rs`). A question usually matches one sentence of a
//! paragraph, and one vector for a whole paragraph blurs it (and an encoder sees only its first 512
//! tokens); the best passage keeps it sharp.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use usearch::ffi::{IndexOptions, MetricKind, ScalarKind};

use crate::config::{Metric, Storage, VectorConfig};
use crate::error::{Error, Result};

/// The usearch side of the settings (the settings themselves are in [`crate::config`]).
impl VectorConfig {
    fn options(&self) -> IndexOptions {
        IndexOptions {
            dimensions: self.dims,
            metric: match self.metric {
                Metric::Cosine => MetricKind::Cos,
                Metric::Ip => MetricKind::IP,
                Metric::L2 => MetricKind::L2sq,
            },
            quantization: match self.storage {
                Storage::F32 => ScalarKind::F32,
                Storage::F16 => ScalarKind::F16,
                Storage::I8 => ScalarKind::I8,
            },
            connectivity: self.connectivity,
            expansion_add: self.expansion_add,
            expansion_search: self.expansion_search,
            multi: false,
        }
    }

    /// Similarity (higher is better) from usearch's distance.
    fn similarity(&self, distance: f32) -> f32 {
        // usearch stores i8 as round(x * 127) and computes inner products and L2 on those integers, so
        // its distances are 127² times too large (cosine divides the scale out itself).
        let scale = if self.storage == Storage::I8 { I8_SCALE * I8_SCALE } else { 1.0 };
        match self.metric {
            Metric::Cosine => 1.0 - distance,
            Metric::Ip => (1.0 - distance) / scale,
            Metric::L2 => -distance / scale,
        }
    }

    /// Checks a vector's length and values before it reaches usearch.
    pub fn check_vector(&self, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dims {
            return Err(Error::InvalidInput(format!(
                "vector has {} dimensions; the index holds {}-dimensional vectors",
                vector.len(),
                self.dims
            )));
        }
        if !vector.iter().all(|x| x.is_finite()) {
            return Err(Error::InvalidInput("vector holds NaN or infinite values".into()));
        }
        if self.metric == Metric::Cosine && vector.iter().all(|x| *x == 0.0) {
            return Err(Error::InvalidInput("a zero vector has no direction for cosine similarity".into()));
        }
        Ok(())
    }

    /// The same similarity computed directly from two vectors (for rescoring stored vectors).
    pub fn similarity_of(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.metric {
            Metric::Ip => a.iter().zip(b).map(|(x, y)| x * y).sum(),
            Metric::Cosine => {
                let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
                for (x, y) in a.iter().zip(b) {
                    dot += x * y;
                    na += x * x;
                    nb += y * y;
                }
                dot / (na.sqrt() * nb.sqrt()).max(f32::MIN_POSITIVE)
            }
            Metric::L2 => -a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>(),
        }
    }
}

/// usearch's i8 quantisation: components in [-1, 1] become round(x * 127).
const I8_SCALE: f32 = 127.0;

fn usearch_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Vector(format!("{context}: {e}"))
}

/// How many searches may run in one vector index at once. usearch gives each running search one of a
/// fixed set of per-thread contexts (scratch space for the graph walk) and fails a search that finds
/// none free ("Reserve capacity ahead of searches!"); it reserves as many as the machine has cores
/// unless told otherwise. The index reserves this many and lets no more searches in at once (see
/// [`SearchSlots`]), so any number of threads may search it: beyond this many they wait their turn,
/// which costs nothing on a machine with fewer cores than that.
fn search_contexts() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(4, 64)
}

/// A counting semaphore over usearch's search contexts: a search holds a slot while it runs in
/// usearch, so usearch always finds a context free.
struct SearchSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a SearchSlots);

impl SearchSlots {
    fn new(n: usize) -> Self {
        SearchSlots { free: Mutex::new(n), freed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        // The counter is consistent whatever a panicking holder did: take it back.
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Slot<'_> {
        let mut free = self.lock();
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.lock() += 1;
        self.0.freed.notify_one();
    }
}

pub struct VectorIndex {
    config: VectorConfig,
    index: usearch::Index,
    /// A memory-mapped index is read-only.
    read_only: bool,
    /// usearch's search contexts reserved for this index, and the slots handing them out.
    slots: SearchSlots,
}

impl VectorIndex {
    pub fn new(config: VectorConfig) -> Result<Self> {
        config.validate()?;
        let index = usearch::Index::new(&config.options()).map_err(|e| usearch_err("creating the vector index", e))?;
        let vi = VectorIndex { config, index, read_only: false, slots: SearchSlots::new(search_contexts()) };
        vi.reserve_search_contexts()?;
        Ok(vi)
    }

    /// Makes usearch hold one search context per slot (after creating, loading or mapping: those set
    /// its own default). Growing the capacity later keeps them (usearch never lowers the count).
    fn reserve_search_contexts(&self) -> Result<()> {
        self.index
            .reserve_capacity_and_threads(self.index.capacity(), search_contexts())
            .map_err(|e| usearch_err("reserving search contexts", e))
    }

    /// Opens a committed vector file after checking its size and checksum (usearch itself trusts its
    /// input). Readers memory-map it; a writer loads it to be able to change it.
    /// `path` must measure `bytes` bytes with the CRC32 `crc32` (what the manifest recorded).
    pub fn open(path: &Path, bytes: u64, crc32: u32, config: VectorConfig, count: u64, writable: bool) -> Result<Self> {
        let (len, crc) = file_crc(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::corrupt(path, "vector file named by the manifest is missing"),
            _ => Error::io(format!("reading {}", path.display()), e),
        })?;
        if len != bytes || crc != crc32 {
            return Err(Error::corrupt(path, "checksum mismatch: the vector file is damaged"));
        }
        let path_str = path.to_str().ok_or_else(|| Error::InvalidInput("index path is not valid UTF-8".into()))?;
        let meta = usearch::Index::metadata(path_str).map_err(|e| Error::corrupt(path, format!("unreadable vector header: {e}")))?;
        if meta.dimensions as usize != config.dims {
            return Err(Error::corrupt(path, "vector file dimensions differ from the manifest"));
        }
        if meta.multi {
            return Err(Error::corrupt(path, "vector file allows several vectors per key, which no xlqe index writes"));
        }
        let mut vi = VectorIndex::new(config.clone())?;
        if writable {
            vi.index.load(path_str).map_err(|e| Error::corrupt(path, format!("cannot load vectors: {e}")))?;
        } else {
            vi.index.view(path_str).map_err(|e| Error::corrupt(path, format!("cannot map vectors: {e}")))?;
            vi.read_only = true;
        }
        vi.index.change_expansion_search(config.expansion_search);
        vi.reserve_search_contexts()?;
        if vi.index.size() as u64 != count {
            return Err(Error::corrupt(path, "vector count differs from the manifest"));
        }
        Ok(vi)
    }

    pub fn config(&self) -> &VectorConfig {
        &self.config
    }

    pub fn len(&self) -> usize {
        self.index.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, key: u64) -> bool {
        self.index.contains(key)
    }

    /// The similarity of `query` to the stored vector of `key` (None if it has none). `buffer` is
    /// scratch space, reused across calls.
    pub fn similarity(&self, key: u64, query: &[f32], buffer: &mut Vec<f32>) -> Result<Option<f32>> {
        Ok(self.vector(key, buffer)?.then(|| self.config.similarity_of(query, buffer)))
    }

    /// Reads the vector stored under `key` into `buffer` (as f32); false when there is none.
    pub fn vector(&self, key: u64, buffer: &mut Vec<f32>) -> Result<bool> {
        buffer.resize(self.config.dims, 0.0);
        // usearch converts from the stored scalar type (f16, i8) to f32 here.
        let n = self.index.get(key, &mut buffer[..]).map_err(|e| usearch_err("reading a vector", e))?;
        Ok(n == 1)
    }

    /// Checks a vector's length and values before it reaches usearch.
    pub fn check_vector(&self, vector: &[f32]) -> Result<()> {
        self.config.check_vector(vector)
    }

    pub fn add(&mut self, key: u64, vector: &[f32]) -> Result<()> {
        assert!(!self.read_only, "a viewed vector index is never handed to a writer");
        self.check_vector(vector)?;
        if self.index.size() + 1 > self.index.capacity() {
            let grow = (self.index.capacity() * 2).max(1024);
            self.index.reserve(grow).map_err(|e| usearch_err("growing the vector index", e))?;
        }
        self.index.add(key, vector).map_err(|e| usearch_err("adding a vector", e))
    }

    /// Removes every vector of `key`.
    pub fn remove(&mut self, key: u64) -> Result<()> {
        if self.index.contains(key) {
            self.index.remove(key).map_err(|e| usearch_err("removing a vector", e))?;
        }
        Ok(())
    }

    /// The `k` nearest keys with their similarity, best first, among those `keep` accepts. `unfiltered`
    /// promises that `keep` accepts every key in the index (no deletions pending, no filter).
    pub fn search(&self, query: &[f32], k: usize, unfiltered: bool, keep: impl Fn(u64) -> bool) -> Result<Vec<(u64, f32)>> {
        self.check_vector(query)?;
        let n = self.index.size();
        if n == 0 || k == 0 {
            return Ok(Vec::new());
        }
        let _slot = self.slots.take(); // held until usearch has returned its context
        let matches = if n < self.config.exact_below {
            self.exact_top(query, k, n, unfiltered, &keep)?
        } else if unfiltered {
            // Nothing to exclude: the plain graph walk, without a callback per visited node.
            self.index.search(query, k).map_err(|e| usearch_err("searching vectors", e))?
        } else {
            self.index.filtered_search(query, k, &keep).map_err(|e| usearch_err("searching vectors", e))?
        };
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .filter(|(key, _)| keep(**key))
            .take(k)
            .map(|(key, d)| (*key, self.config.similarity(*d)))
            .collect())
    }

    /// Exact search (every vector scored): usearch keeps the best `count` in a bounded heap, so asking for
    /// the `k` needed, not all `n`, skips a full sort of the index per query. With a filter the first
    /// `count` may hold fewer than `k` accepted keys: then the search is repeated four times wider, up to
    /// all `n`. The accepted keys come out in the same order either way, since every vector is scored.
    fn exact_top(&self, query: &[f32], k: usize, n: usize, unfiltered: bool, keep: &impl Fn(u64) -> bool) -> Result<usearch::ffi::Matches> {
        let mut count = if unfiltered { k.min(n) } else { k.saturating_mul(4).min(n) };
        loop {
            let matches = self.index.exact_search(query, count).map_err(|e| usearch_err("searching vectors", e))?;
            if count >= n || matches.keys.iter().filter(|key| keep(**key)).count() >= k {
                return Ok(matches);
            }
            count = count.saturating_mul(4).min(n);
        }
    }

    /// Writes the index to `path` and fsyncs it; returns its size and checksum.
    pub fn save(&self, path: &Path) -> Result<(u64, u32)> {
        let path_str = path.to_str().ok_or_else(|| Error::InvalidInput("index path is not valid UTF-8".into()))?;
        self.index.save(path_str).map_err(|e| usearch_err("saving vectors", e))?;
        File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io(format!("syncing {}", path.display()), e))?;
        file_crc(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
    }

    /// Changes the search-time candidate list (ef) for this handle only; the committed setting stays.
    pub fn set_expansion_search(&mut self, ef: usize) -> Result<()> {
        if ef == 0 {
            return Err(Error::InvalidInput("expansion_search must be >= 1".into()));
        }
        self.config.expansion_search = ef;
        self.index.change_expansion_search(ef);
        Ok(())
    }

    pub fn memory_usage(&self) -> usize {
        self.index.memory_usage()
    }
}

fn file_crc(path: &Path) -> std::io::Result<(u64, u32)> {
    let mut f = File::open(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn exact_and_graph_search_find_the_nearest() {
        for exact_below in [1_000_000, 0] {
            let mut config = VectorConfig::new(4);
            config.exact_below = exact_below;
            let mut vi = VectorIndex::new(config).unwrap();
            vi.add(1, &unit(&[1.0, 0.0, 0.0, 0.0])).unwrap();
            vi.add(2, &unit(&[0.9, 0.1, 0.0, 0.0])).unwrap();
            vi.add(3, &unit(&[0.0, 0.0, 1.0, 0.0])).unwrap();
            let hits = vi.search(&unit(&[1.0, 0.05, 0.0, 0.0]), 2, true, |_| true).unwrap();
            assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [1, 2]);
            assert!(hits[0].1 > 0.99 && hits[0].1 <= 1.0001);
            let filtered = vi.search(&unit(&[1.0, 0.05, 0.0, 0.0]), 2, false, |k| k != 1).unwrap();
            assert_eq!(filtered.iter().map(|h| h.0).collect::<Vec<_>>(), [2, 3]);
        }
    }

    #[test]
    fn exact_top_k_with_a_selective_filter_widens_until_it_has_k() {
        // 500 vectors on a circle; the filter keeps one key in 50, so the first 4k exact neighbours hold
        // at most one accepted key and the search must widen (to all 500) to find the best 3.
        let mut vi = VectorIndex::new(VectorConfig::new(2)).unwrap();
        for key in 0..500u64 {
            let angle = key as f32 * 0.01;
            vi.add(key, &[angle.cos(), angle.sin()]).unwrap();
        }
        let q = [1.0, 0.0];
        let hits = vi.search(&q, 3, false, |key| key % 50 == 7).unwrap();
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [7, 57, 107]);
        let all = vi.search(&q, 3, true, |_| true).unwrap();
        assert_eq!(all.iter().map(|h| h.0).collect::<Vec<_>>(), [0, 1, 2]);
        // More than the filter can give: every accepted key, best first.
        assert_eq!(vi.search(&q, 20, false, |key| key % 50 == 7).unwrap().len(), 10);
    }

    #[test]
    fn bad_vectors_are_refused() {
        let mut vi = VectorIndex::new(VectorConfig::new(3)).unwrap();
        assert!(matches!(vi.add(1, &[1.0, 2.0]), Err(Error::InvalidInput(_))));
        assert!(matches!(vi.add(1, &[f32::NAN, 0.0, 1.0]), Err(Error::InvalidInput(_))));
        assert!(matches!(vi.add(1, &[0.0, 0.0, 0.0]), Err(Error::InvalidInput(_))));
        assert!(VectorIndex::new(VectorConfig::new(0)).is_err());
    }

    #[test]
    fn stored_vectors_are_rescored_alike_in_every_storage() {
        for metric in [Metric::Ip, Metric::Cosine, Metric::L2] {
            for storage in [Storage::F32, Storage::F16, Storage::I8] {
                let mut config = VectorConfig::new(4);
                config.metric = metric;
                config.storage = storage;
                let mut vi = VectorIndex::new(config).unwrap();
                vi.add(7, &unit(&[1.0, 0.0, 0.0, 0.0])).unwrap();
                vi.add(8, &unit(&[0.6, 0.8, 0.0, 0.0])).unwrap();
                let q = unit(&[1.0, 0.0, 0.0, 0.0]);
                let mut buffer = Vec::new();
                let a = vi.similarity(7, &q, &mut buffer).unwrap().unwrap();
                let b = vi.similarity(8, &q, &mut buffer).unwrap().unwrap();
                let (want_a, want_b) = if metric == Metric::L2 { (0.0, -0.8) } else { (1.0, 0.6) };
                assert!((a - want_a).abs() < 0.02 && (b - want_b).abs() < 0.02, "{metric:?} {storage:?}: {a} {b}");
                assert_eq!(vi.similarity(9, &q, &mut buffer).unwrap(), None);
                // The search's own scores agree with the rescoring, whatever the storage.
                let found = vi.search(&q, 2, true, |_| true).unwrap();
                assert!((found[0].1 - a).abs() < 0.02 && (found[1].1 - b).abs() < 0.02, "{metric:?} {storage:?}: {found:?} vs {a} {b}");
            }
        }
    }
}
