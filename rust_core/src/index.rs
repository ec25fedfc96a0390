//! The document index: the committed segment (memory-mapped) plus the changes made since, searched
//! together; `commit` merges them into a new segment and makes it the committed state atomically.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::analysis::{Analyzer, Token};
use crate::error::{Error, Result};
use crate::lang::normalize_lang;
use crate::lexical::{self, Bm25, LexWeight, ScoredPostings};
use crate::storage::segment::{self, Segment, SegmentData, NO_LANG};
use crate::storage::{self, FileEntry, IndexConfig, Manifest, WriterLock};
use crate::vector::VectorIndex;

mod global;
pub use global::{GlobalStats, LexicalStats};

/// Longest accepted document id, in bytes.
pub const MAX_ID_BYTES: usize = 4096;
/// Longest accepted query, in bytes: far above any real query, low enough to bound the work.
pub const MAX_QUERY_BYTES: usize = 1 << 20;
/// Most distinct terms a query keeps (the heaviest ones).
pub const MAX_QUERY_TERMS: usize = 4096;
/// Heaviest weight a term of [`Index::search_terms`] may carry: far above any real weighting, low enough
/// that no sum of BM25 scores overflows to infinity (which fusion would then refuse).
pub const MAX_TERM_WEIGHT: f32 = 1e6;
/// Passage `i` of the document with key `k` has the key `k << PASSAGE_BITS | i` in the passage index, so
/// a passage names its document without a lookup table, and a document's passages are found by counting
/// up from 0. (usearch's multi-vector mode would do this itself, but its f16 lookups of a key's vectors
/// return the first one repeatedly.)
const PASSAGE_BITS: u32 = 20;
/// Most passage vectors one document may have (a 100 MB text cut in windows stays far below).
pub const MAX_PASSAGES: usize = 1 << PASSAGE_BITS;
/// Document keys from here on cannot carry passages (the shifted key would not fit; never reached).
const MAX_PASSAGE_DOC_KEY: u64 = (1 << (64 - PASSAGE_BITS)) - 2;

fn passage_key(doc_key: u64, i: usize) -> u64 {
    doc_key << PASSAGE_BITS | i as u64
}

fn doc_key_of_passage(key: u64) -> u64 {
    key >> PASSAGE_BITS
}

/// The passage keys the document `doc_key` has in `passages` (numbered from 0 without gaps).
fn passage_keys_of(passages: &VectorIndex, doc_key: u64) -> impl Iterator<Item = u64> + '_ {
    (0..).map(move |i| passage_key(doc_key, i)).take_while(|&p| passages.contains(p))
}
/// How many passages a vector search reads per document it returns, before grouping them by document.
const PASSAGES_PER_HIT: usize = 8;
/// With passages, a vector search ranks at least this many candidate documents before cutting to k.
const PASSAGE_CANDIDATES: usize = 20;

/// The document vectors and the passage vectors of an index (both present or neither).
type Dense = (Option<VectorIndex>, Option<VectorIndex>);

/// A document as the user gives it.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub id: String,
    pub text: String,
    /// ISO 639-1 code or any tag [`normalize_lang`] accepts; None when unknown.
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

/// Documents added since the last commit, numbered after the segment's.
#[derive(Default)]
struct Pending {
    term_ids: HashMap<String, u32>,
    /// Per pending term: local document numbers and frequencies.
    postings: Vec<(Vec<u32>, Vec<u32>)>,
    lens: Vec<u32>,
    langs: Vec<u16>,
    keys: Vec<u64>,
    ids: Vec<String>,
    texts: Vec<String>,
    metas: Vec<String>,
    by_id: HashMap<String, u32>,
}

pub struct Index {
    dir: PathBuf,
    lock: Option<WriterLock>,
    manifest: Manifest,
    analyzer: Analyzer,
    bm25: Bm25,
    base: Segment,
    pending: Pending,
    /// One flag per document number (segment first, then pending).
    deleted: Vec<bool>,
    deleted_count: usize,
    langs: Vec<String>,
    live_len_total: u64,
    next_key: u64,
    dirty: bool,
    /// Dense vectors keyed by document key, when the index is configured for them.
    vectors: Option<VectorIndex>,
    /// Passage vectors, several per key (present exactly when `vectors` is).
    passages: Option<VectorIndex>,
    /// Vectors or passages changed since the last commit.
    vectors_dirty: bool,
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
        let (manifest, base, (vectors, passages)) = Self::load_committed(dir, writer)?;
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
            deleted: Vec::new(),
            deleted_count: 0,
            langs: Vec::new(),
            live_len_total: 0,
            next_key: 0,
            dirty: false,
            vectors,
            passages,
            vectors_dirty: false,
        };
        index.reset_to_base();
        Ok(index)
    }

    /// Reads the manifest and maps its segment and vectors, retrying if a concurrent commit replaced them
    /// in between.
    fn load_committed(dir: &Path, writable: bool) -> Result<(Manifest, Segment, Dense)> {
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

    fn open_files(dir: &Path, manifest: &Manifest, writable: bool) -> Result<(Segment, Dense)> {
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
            if manifest.vectors.is_some() || manifest.passages.is_some() {
                return Err(Error::corrupt(dir, "vector file without a vector configuration"));
            }
            return Ok((seg, (None, None)));
        };
        let vectors = match &manifest.vectors {
            None => VectorIndex::new(config.clone())?,
            Some(entry) => VectorIndex::open(dir, entry, config.clone(), manifest.vector_count, writable)?,
        };
        let passages = match &manifest.passages {
            None => VectorIndex::new(config.clone())?,
            Some(entry) => VectorIndex::open(dir, entry, config.clone(), manifest.passage_count, writable)?,
        };
        Ok((seg, (Some(vectors), Some(passages))))
    }

    fn reset_to_base(&mut self) {
        self.pending = Pending::default();
        self.deleted = vec![false; self.base.n_docs()];
        self.deleted_count = 0;
        self.langs = self.base.langs();
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

    fn n_total(&self) -> usize {
        self.base.n_docs() + self.pending.lens.len()
    }

    /// Live documents (committed and pending, minus deletions).
    pub fn len(&self) -> usize {
        self.n_total() - self.deleted_count
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Languages of the live documents, with counts, most frequent first.
    pub fn languages(&self) -> Vec<(String, usize)> {
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

    fn require_writer(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::InvalidInput("this index was opened read-only".into()));
        }
        Ok(())
    }

    fn find_doc(&self, id: &str) -> Option<usize> {
        if let Some(&local) = self.pending.by_id.get(id) {
            let d = self.base.n_docs() + local as usize;
            if !self.deleted[d] {
                return Some(d);
            }
        }
        self.base.find_id(id).filter(|&d| !self.deleted[d])
    }

    fn lang_slot(&self, d: usize) -> u16 {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.doc_langs()[d]
        } else {
            self.pending.langs[d - nb]
        }
    }

    fn doc_len(&self, d: usize) -> u32 {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.doc_lens()[d]
        } else {
            self.pending.lens[d - nb]
        }
    }

    fn lang_of_slot(&self, slot: u16) -> Option<String> {
        (slot != NO_LANG).then(|| self.langs[slot as usize].clone())
    }

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
            vectors.add(key, v)?;
            self.vectors_dirty = true;
        }
        if let Some(index) = self.passages.as_mut() {
            for (i, p) in passages.iter().enumerate() {
                index.add(passage_key(key, i), p)?;
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
        if let Some(vectors) = self.vectors.as_mut() {
            if vectors.contains(key) {
                vectors.remove(key)?;
                self.vectors_dirty = true;
            }
        }
        if let Some(passages) = self.passages.as_mut() {
            let keys: Vec<u64> = passage_keys_of(passages, key).collect();
            for p in &keys {
                passages.remove(*p)?;
            }
            self.vectors_dirty |= !keys.is_empty();
        }
        self.deleted[d] = true;
        self.deleted_count += 1;
        self.live_len_total -= self.doc_len(d) as u64;
        self.dirty = true;
        Ok(true)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.find_doc(id).is_some()
    }

    fn stored(&self, d: usize) -> StoredDocument {
        let nb = self.base.n_docs();
        let lang = self.lang_of_slot(self.lang_slot(d));
        if d < nb {
            StoredDocument {
                id: self.base.id(d).into(),
                text: self.base.text(d).into(),
                lang,
                metadata: self.base.meta(d).into(),
                key: self.base.doc_keys()[d],
            }
        } else {
            let p = d - nb;
            StoredDocument {
                id: self.pending.ids[p].clone(),
                text: self.pending.texts[p].clone(),
                lang,
                metadata: self.pending.metas[p].clone(),
                key: self.pending.keys[p],
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<StoredDocument> {
        self.find_doc(id).map(|d| self.stored(d))
    }

    fn id_of(&self, d: usize) -> &str {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.id(d)
        } else {
            &self.pending.ids[d - nb]
        }
    }

    fn key_of(&self, d: usize) -> u64 {
        let nb = self.base.n_docs();
        if d < nb {
            self.base.doc_keys()[d]
        } else {
            self.pending.keys[d - nb]
        }
    }

    /// The query's normalised words, minus the stop words of its own language when that is known.
    fn query_words(&self, text: &str, query_lang: Option<&str>) -> Result<Vec<String>> {
        check_query_text(text)?;
        let mut words = Vec::new();
        self.analyzer.for_each_word(text, |t| {
            if !query_lang.is_some_and(|q| self.analyzer.is_stopword(q, &t.term)) {
                words.push(t.term);
            }
        });
        Ok(words)
    }

    /// Weighted terms of `words` under `rules_lang`'s rules: repeated terms add up, as in Lucene's boolean
    /// query. Sorted by term, so scores sum in a fixed order.
    fn weigh(&self, words: &[String], rules_lang: Option<&str>) -> Vec<(String, f32)> {
        let rules = self.analyzer.language(rules_lang);
        let mut weights: HashMap<String, f32> = HashMap::new();
        for w in words {
            if let Some(term) = rules.apply(w) {
                *weights.entry(term).or_default() += 1.0;
            }
        }
        let mut out: Vec<(String, f32)> = weights.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Analyses a query the way documents of `doc_lang` were analysed, into weighted terms. When the
    /// query's own language is known, its stop words are dropped too.
    pub fn analyze_query(&self, text: &str, doc_lang: Option<&str>, query_lang: Option<&str>) -> Result<Vec<(String, f32)>> {
        let doc_lang = doc_lang.map(normalize_lang).transpose()?;
        let query_lang = query_lang.map(normalize_lang).transpose()?;
        let words = self.query_words(text, query_lang.as_deref())?;
        Ok(self.weigh(&words, self.analyzer.rules_language(doc_lang.as_deref())))
    }

    /// Searches with a query text. Documents of each language are matched against the query analysed
    /// with that language's rules (stemming, stop words), so a query finds documents whatever language
    /// it is typed in. `query_lang`, when known, also drops the query language's stop words.
    /// `filter_langs` keeps only documents in those languages.
    pub fn search(&self, text: &str, query_lang: Option<&str>, k: usize, filter_langs: Option<&[String]>) -> Result<Vec<Hit>> {
        let terms = self.query_table(text, query_lang, filter_langs)?;
        self.score(terms, k, None, None)
    }

    /// The weighted terms `search` scores: per term, one weight per language column (the index's
    /// language slots, then "language unknown"; 0 where the column's analysis lacks the term or the
    /// language is filtered out), sorted by term.
    fn query_table(&self, text: &str, query_lang: Option<&str>, filter_langs: Option<&[String]>) -> Result<Vec<(String, Vec<f32>)>> {
        let query_lang = query_lang.map(normalize_lang).transpose()?;
        let words = self.query_words(text, query_lang.as_deref())?;
        let allowed = self.allowed_slots(filter_langs)?;
        // Column i of a term's weights is language slot i; the last column is "language unknown".
        let n_cols = self.langs.len() + 1;
        let mut by_rules: HashMap<Option<&str>, Vec<(String, f32)>> = HashMap::new();
        let mut table: HashMap<String, Vec<f32>> = HashMap::new();
        for col in 0..n_cols {
            let slot = if col + 1 == n_cols { NO_LANG } else { col as u16 };
            if allowed.as_ref().is_some_and(|a| !a.contains(&slot)) {
                continue;
            }
            let lang = (slot != NO_LANG).then(|| self.langs[col].as_str());
            let key = self.analyzer.rules_language(lang);
            let terms = by_rules.entry(key).or_insert_with(|| self.weigh(&words, key));
            // Languages whose rules leave this query as it is share the plain analysis's weights.
            for (term, w) in terms.iter() {
                table.entry(term.clone()).or_insert_with(|| vec![0.0; n_cols])[col] = *w;
            }
        }
        let mut terms: Vec<(String, Vec<f32>)> = table.into_iter().collect();
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(terms)
    }

    fn allowed_slots(&self, filter_langs: Option<&[String]>) -> Result<Option<HashSet<u16>>> {
        let Some(langs) = filter_langs else { return Ok(None) };
        let mut slots = HashSet::new();
        for l in langs {
            let l = normalize_lang(l)?;
            if let Some(i) = self.langs.iter().position(|x| *x == l) {
                slots.insert(i as u16);
            }
        }
        Ok(Some(slots))
    }

    /// Searches with already analysed, weighted terms (0 < weight <= [`MAX_TERM_WEIGHT`]; repeated terms
    /// add up).
    pub fn search_terms(&self, terms: &[(String, f32)], k: usize, filter_langs: Option<&[String]>) -> Result<Vec<Hit>> {
        let merged = merge_terms(terms)?;
        let allowed = self.allowed_slots(filter_langs)?;
        self.score(merged, k, allowed.as_ref(), None)
    }

    /// BM25 over `terms`, each with one weight for all documents or one per language column. `stats`,
    /// when given, replaces this index's document count, total length and document frequencies (the
    /// statistics of a sharded index's every shard; see `global.rs`).
    fn score(&self, mut terms: Vec<(String, Vec<f32>)>, k: usize, allowed: Option<&HashSet<u16>>,
             stats: Option<&GlobalStats>) -> Result<Vec<Hit>> {
        if terms.len() > MAX_QUERY_TERMS {
            // Keep the heaviest terms; a stable sort keeps the term order among equals.
            terms.sort_by(|a, b| b.1.iter().sum::<f32>().total_cmp(&a.1.iter().sum::<f32>()));
            terms.truncate(MAX_QUERY_TERMS);
            terms.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let n_live = self.len() as u64;
        if n_live == 0 || k == 0 || allowed.is_some_and(|a| a.is_empty()) {
            return Ok(Vec::new());
        }
        let (n_docs, total_len) = stats.map_or((n_live, self.live_len_total), |g| (g.n_docs, g.total_len));
        let avgdl = total_len as f32 / n_docs as f32;
        let nb = self.base.n_docs() as u32;
        // idf-scaled weights, kept alive for the postings lists that borrow them.
        let mut scaled: Vec<Vec<f32>> = Vec::with_capacity(terms.len());
        let mut sources = Vec::new();
        for (term, weights) in &terms {
            let base_postings = self.base.find_term(term).map(|t| self.base.postings(t));
            let pending_postings = self.pending.term_ids.get(term.as_str()).map(|&t| &self.pending.postings[t as usize]);
            let df = base_postings.map_or(0, |p| p.0.len()) + pending_postings.map_or(0, |p| p.0.len());
            if df == 0 {
                continue;
            }
            let df = match stats {
                None => df as u64,
                Some(g) => g.df_of(term, df as u64)?,
            };
            let idf = Bm25::idf(n_docs, df.min(n_docs));
            scaled.push(weights.iter().map(|w| w * idf).collect());
            sources.push((base_postings, pending_postings, scaled.len() - 1));
        }
        let mut lists = Vec::new();
        for (base_postings, pending_postings, wi) in sources {
            let w = &scaled[wi];
            // One weight for every language: no per-document lookup needed.
            let uniform = w.iter().all(|x| *x == w[0]);
            let weight = if uniform { LexWeight::Uniform(w[0]) } else { LexWeight::ByLanguage(w) };
            if let Some((docs, freqs)) = base_postings {
                lists.push(ScoredPostings { docs, freqs, lens: self.base.doc_lens(), slots: self.base.doc_langs(), doc_base: 0, weight });
            }
            if let Some((docs, freqs)) = pending_postings {
                lists.push(ScoredPostings { docs, freqs, lens: &self.pending.lens, slots: &self.pending.langs, doc_base: nb, weight });
            }
        }
        let keep = |d: u32| {
            let d = d as usize;
            !self.deleted[d] && allowed.is_none_or(|a| a.contains(&self.lang_slot(d)))
        };
        let scored = lexical::top_k(&self.bm25, avgdl, self.n_total(), &lists, k, keep);
        Ok(scored
            .into_iter()
            .map(|s| {
                let d = s.doc as usize;
                Hit { id: self.id_of(d).to_string(), score: s.score, lang: self.lang_of_slot(self.lang_slot(d)), key: self.key_of(d) }
            })
            .collect())
    }

    /// Makes every change since the last commit durable, atomically. A no-op without changes.
    pub fn commit(&mut self) -> Result<()> {
        self.require_writer()?;
        if !self.dirty && !self.vectors_dirty {
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
                let (d, f) = self.base.postings(t);
                for (&d, &f) in d.iter().zip(f) {
                    if remap[d as usize] != u32::MAX {
                        docs.push(remap[d as usize]);
                        freqs.push(f);
                    }
                }
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
        let postings: Vec<(&[u32], &[u32])> = sources
            .iter()
            .map(|s| match *s {
                Source::Base(t) => self.base.postings(t),
                Source::Owned(i) => (owned[i].0.as_slice(), owned[i].1.as_slice()),
            })
            .collect();
        let doc_lens: Vec<u32> = live_docs.iter().map(|&d| self.doc_len(d)).collect();
        let doc_langs: Vec<u16> = live_docs.iter().map(|&d| self.lang_slot(d)).collect();
        let doc_keys: Vec<u64> = live_docs.iter().map(|&d| self.key_of(d)).collect();
        let text_of = |d: usize| if d < nb { self.base.text(d) } else { self.pending.texts[d - nb].as_str() };
        let meta_of = |d: usize| if d < nb { self.base.meta(d) } else { self.pending.metas[d - nb].as_str() };
        let data = SegmentData {
            terms,
            postings,
            doc_lens: &doc_lens,
            doc_langs: &doc_langs,
            doc_keys: &doc_keys,
            ids: live_docs.iter().map(|&d| self.id_of(d)).collect(),
            texts: live_docs.iter().map(|&d| text_of(d)).collect(),
            metas: live_docs.iter().map(|&d| meta_of(d)).collect(),
            langs: &self.langs,
        };
        let generation = self.manifest.generation + 1;
        let file = storage::segment_file_name(generation);
        let path = self.dir.join(&file);
        let written = segment::write_segment(&path, &data);
        let (bytes, crc32) = match written {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&path); // e.g. a full disk: leave no partial file behind
                return Err(e);
            }
        };
        let mut manifest = self.manifest.clone();
        if self.vectors_dirty {
            let saved = (|| -> Result<()> {
                if let Some(vectors) = &self.vectors {
                    manifest.vectors = Some(self.save_vectors(vectors, storage::vector_file_name(generation))?);
                    manifest.vector_count = vectors.len() as u64;
                }
                manifest.passages = None;
                manifest.passage_count = 0;
                if let Some(passages) = self.passages.as_ref().filter(|p| !p.is_empty()) {
                    manifest.passages = Some(self.save_vectors(passages, storage::passage_file_name(generation))?);
                    manifest.passage_count = passages.len() as u64;
                }
                Ok(())
            })();
            if let Err(e) = saved {
                // Leave none of this generation's files behind; the last commit stays as it was.
                let _ = std::fs::remove_file(self.dir.join(storage::vector_file_name(generation)));
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        }
        manifest.generation = generation;
        manifest.segment = Some(FileEntry { file, bytes, crc32 });
        manifest.documents = live as u64;
        manifest.next_key = self.next_key;
        let new_base = Segment::open(&path, bytes, crc32)?;
        drop(data);
        drop(owned);
        storage::write_manifest(&self.dir, &manifest)?;
        self.manifest = manifest;
        self.base = new_base;
        self.vectors_dirty = false;
        self.reset_to_base();
        storage::collect_garbage(&self.dir, &self.manifest);
        Ok(())
    }

    /// Writes `vectors` to `file` in the index directory; a failed write leaves no partial file.
    fn save_vectors(&self, vectors: &VectorIndex, file: String) -> Result<FileEntry> {
        let path = self.dir.join(&file);
        match vectors.save(&path) {
            Ok((bytes, crc32)) => Ok(FileEntry { file, bytes, crc32 }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Drops every change since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        if self.vectors_dirty {
            (self.vectors, self.passages) = Self::open_files(&self.dir, &self.manifest, self.lock.is_some())?.1;
            self.vectors_dirty = false;
        }
        self.reset_to_base();
        Ok(())
    }

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

    /// The document number of a stable key: keys increase with document numbers, in the segment and
    /// among pending documents alike.
    fn doc_of_key(&self, key: u64) -> Option<usize> {
        if let Ok(d) = self.base.doc_keys().binary_search(&key) {
            return Some(d);
        }
        self.pending.keys.binary_search(&key).ok().map(|p| self.base.n_docs() + p)
    }

    /// Whether the index holds vectors, and their configuration.
    pub fn vector_config(&self) -> Option<crate::vector::VectorConfig> {
        self.vectors.as_ref().map(|v| v.config().clone())
    }

    /// Trades vector-search speed for recall on this handle (HNSW ef); not persisted.
    pub fn set_vector_expansion_search(&mut self, ef: usize) -> Result<()> {
        self.vectors.as_mut().ok_or_else(|| Error::InvalidInput("this index holds no vectors".into()))?.set_expansion_search(ef)
    }

    pub fn vector_count(&self) -> usize {
        self.vectors.as_ref().map_or(0, |v| v.len())
    }

    /// How many passage vectors the index holds (committed and pending).
    pub fn passage_count(&self) -> usize {
        self.passages.as_ref().map_or(0, |v| v.len())
    }

    /// The `k` documents whose vectors are nearest to `query`, optionally only those in `filter_langs`.
    ///
    /// A document's score is its vector's similarity, mixed with its best passage's when it has
    /// passages: `(1 - passage_weight) * document + passage_weight * best passage`. Candidates come from
    /// both indexes (the nearest documents and the documents of the nearest passages); a score one
    /// search did not find is computed from the stored vectors, so a document found one way still gets
    /// the other part of its score.
    pub fn search_vector(&self, query: &[f32], k: usize, filter_langs: Option<&[String]>, passage_weight: f32) -> Result<Vec<Hit>> {
        let vectors = self.vectors.as_ref().ok_or_else(|| Error::InvalidInput("this index holds no vectors".into()))?;
        if !(0.0..=1.0).contains(&passage_weight) {
            return Err(Error::InvalidInput(format!("passage_weight must be between 0 and 1, got {passage_weight}")));
        }
        let allowed = self.allowed_slots(filter_langs)?;
        let keep = |key: u64| {
            self.doc_of_key(key)
                .is_some_and(|d| !self.deleted[d] && allowed.as_ref().is_none_or(|a| a.contains(&self.lang_slot(d))))
        };
        // Vectors leave the vector index with their documents, so without a language filter (and, to be
        // safe, without pending deletions) nothing needs excluding and the cheaper unfiltered walk serves.
        let unfiltered = allowed.is_none() && self.deleted_count == 0;
        let passages = self.passages.as_ref().filter(|p| !p.is_empty() && passage_weight > 0.0);
        // With passages, a document near the top of the mix can be missing from the top k of either
        // search alone (a fair own score and a fair best window), so both searches read deeper.
        let depth = if passages.is_some() { k.max(PASSAGE_CANDIDATES) } else { k };
        let mut found = vectors.search(query, depth, unfiltered, keep)?;
        if let Some(passages) = passages {
            // The searches only choose the candidates (and each one's best window: best first, so a
            // document's first window is its best one). Every score is then computed from the stored
            // vectors, whichever search reached the document: the searches' distances come from another
            // kernel (they differ in the last bits), and which search reaches a document depends on the
            // index's other documents, so a sharded index would otherwise score the same document
            // differently. Cost: two stored-vector similarities per candidate.
            let own_found: HashSet<u64> = found.iter().map(|h| h.0).collect();
            let mut best_found: HashMap<u64, u64> = HashMap::new();
            let mut candidates: Vec<u64> = found.iter().map(|h| h.0).collect();
            for (p, _) in passages.search(query, depth.saturating_mul(PASSAGES_PER_HIT), unfiltered, |p| keep(doc_key_of_passage(p)))? {
                let key = doc_key_of_passage(p);
                if let std::collections::hash_map::Entry::Vacant(slot) = best_found.entry(key) {
                    slot.insert(p);
                    if !own_found.contains(&key) {
                        candidates.push(key);
                    }
                }
            }
            let mut buffer = Vec::new();
            let mut rescored = Vec::with_capacity(candidates.len());
            for key in candidates {
                let Some(own) = vectors.similarity(key, query, &mut buffer)? else { continue };
                let best = match best_found.get(&key) {
                    Some(&p) => passages.similarity(p, query, &mut buffer)?.unwrap_or(f32::NEG_INFINITY),
                    None => {
                        let mut best = f32::NEG_INFINITY;
                        for p in passage_keys_of(passages, key) {
                            best = best.max(passages.similarity(p, query, &mut buffer)?.unwrap_or(f32::NEG_INFINITY));
                        }
                        best
                    }
                };
                let score = if best.is_finite() { (1.0 - passage_weight) * own + passage_weight * best } else { own };
                rescored.push((key, score));
            }
            rescored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            rescored.truncate(k);
            found = rescored;
        }
        Ok(found
            .into_iter()
            .filter_map(|(key, score)| {
                let d = self.doc_of_key(key)?;
                Some(Hit { id: self.id_of(d).to_string(), score, lang: self.lang_of_slot(self.lang_slot(d)), key })
            })
            .collect())
    }

    /// The passage window of document `id` nearest to `query`: (its number, similarity), or None when
    /// the document is absent or has no passages. Search uses it to say where a long document matched.
    pub fn best_passage(&self, id: &str, query: &[f32]) -> Result<Option<(usize, f32)>> {
        let (Some(d), Some(passages)) = (self.find_doc(id), self.passages.as_ref()) else { return Ok(None) };
        passages.check_vector(query)?;
        let mut buffer = Vec::new();
        let mut best: Option<(usize, f32)> = None;
        for (i, p) in passage_keys_of(passages, self.key_of(d)).enumerate() {
            if let Some(s) = passages.similarity(p, query, &mut buffer)? {
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((i, s));
                }
            }
        }
        Ok(best)
    }

    /// All live document ids (committed and pending).
    pub fn ids(&self) -> Vec<String> {
        (0..self.n_total()).filter(|&d| !self.deleted[d]).map(|d| self.id_of(d).to_string()).collect()
    }
}

/// `search_terms`'s terms checked (0 < weight <= [`MAX_TERM_WEIGHT`]), repeated ones added up, sorted.
fn merge_terms(terms: &[(String, f32)]) -> Result<Vec<(String, Vec<f32>)>> {
    if let Some((t, w)) = terms.iter().find(|(_, w)| !(*w > 0.0 && *w <= MAX_TERM_WEIGHT)) {
        return Err(Error::InvalidInput(format!(
            "term {t:?} has weight {w}; weights must be positive and at most {MAX_TERM_WEIGHT:e}"
        )));
    }
    let mut merged: HashMap<&str, f32> = HashMap::new();
    for (t, w) in terms {
        *merged.entry(t.as_str()).or_default() += w;
    }
    let mut merged: Vec<(String, Vec<f32>)> = merged.into_iter().map(|(t, w)| (t.to_string(), vec![w])).collect();
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(merged)
}

/// Rejects queries that cannot mean anything or would cost unbounded work.
pub fn check_query_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("the query is empty".into()));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(Error::InvalidInput(format!(
            "the query is {} bytes long; the limit is {MAX_QUERY_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}
