//! Documents added and deleted since the last commit: the pending postings, lengths, languages, keys
//! and stored fields, numbered after the committed segment's documents.
//!
//! Memory stays bounded however many documents wait for a commit: once the postings held in memory pass
//! [`PendingBudget::postings`], they are written out as a sorted run ([`Run`], compressed like a
//! segment's, memory-mapped), and texts past [`PendingBudget::text_bytes`] go to a spill file. Searches
//! read the runs beside the in-memory lists; the commit merges them all into the new segment.

use std::collections::HashMap;

use super::dense::{passage_key, passage_keys_of, MAX_PASSAGES, MAX_PASSAGE_DOC_KEY};
use super::docs::{Document, MAX_ID_BYTES};
use super::terms::TermTable;
use super::Index;
use crate::analysis::{Analyzer, TermMemo};
use crate::error::{Error, Result};
use crate::lang::normalize_lang;
use crate::lexical::Postings;
use crate::storage::run::{PendingTexts, Run};
use crate::storage::segment::NO_LANG;

/// How much of the pending documents a writer holds in memory before it spills to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingBudget {
    /// Postings (one per distinct term of a document) held in memory; about 8 bytes each, plus the
    /// term table.
    pub postings: usize,
    /// Bytes of document text held in memory.
    pub text_bytes: usize,
}

impl Default for PendingBudget {
    /// About 64 MB of postings and 32 MB of text (1M short documents index in about 630 MB peak RSS,
    /// BENCHMARKS.md; the commit streams the new segment to disk, holding only its tables).
    fn default() -> Self {
        PendingBudget { postings: 6 << 20, text_bytes: 32 << 20 }
    }
}

/// One term's postings held in memory: local document numbers and frequencies.
pub(super) type MemoryList = (Vec<u32>, Vec<u32>);

#[derive(Default)]
pub(super) struct Pending {
    /// Terms of the postings held in memory (since the last spill).
    pub(super) terms: TermTable,
    /// Per term of `terms`, its list.
    pub(super) postings: Vec<MemoryList>,
    /// Postings held in `postings`.
    pub(super) in_memory: usize,
    /// Postings spilled so far, oldest first; each covers later documents than the one before.
    pub(super) runs: Vec<Run>,
    pub(super) lens: Vec<u32>,
    pub(super) langs: Vec<u16>,
    pub(super) keys: Vec<u64>,
    pub(super) ids: Vec<String>,
    pub(super) texts: PendingTexts,
    pub(super) metas: Vec<String>,
    pub(super) by_id: HashMap<String, u32>,
    /// The analysis threads' scratch, kept from batch to batch (their memos of words stay warm).
    scratch: Vec<Scratch>,
}

/// A document of [`Index::add_batch`], with its vector and its passages' vectors.
pub type BatchDoc<'v> = (Document, Option<&'v [f32]>, &'v [&'v [f32]]);

/// A document checked and analysed: its language (normalised), length in terms, and distinct terms,
/// their bytes one after another in `text` and each with where it ends there, its [`term_hash`](crate::analysis::term_hash) and its
/// frequency (in no particular order). Two allocations per document, whatever its length: the thread
/// that inserts documents frees them, and freeing what another thread allocated is costly.
struct Analysed {
    lang: Option<String>,
    len: u32,
    text: String,
    terms: Vec<AnalysedTerm>,
}

struct AnalysedTerm {
    hash: u64,
    end: usize,
    tf: u32,
}

impl Analysed {
    fn terms(&self) -> impl Iterator<Item = (&str, &AnalysedTerm)> {
        let mut start = 0;
        self.terms.iter().map(move |t| {
            let term = &self.text[start..t.end];
            start = t.end;
            (term, t)
        })
    }
}

/// What one analysis thread reuses from document to document: every term of the document as it came,
/// one after another, and (hash, start, end) of each; the analyzer's memo of words.
#[derive(Default)]
struct Scratch {
    text: String,
    tokens: Vec<(u64, usize, usize)>,
    memo: TermMemo,
}

/// The checks that need nothing of the index, and the analysis; a pure function of the document, so
/// a batch runs it on several threads.
fn analyse(analyzer: &Analyzer, doc: &Document, scratch: &mut Scratch) -> Result<Analysed> {
    if doc.id.is_empty() || doc.id.len() > MAX_ID_BYTES {
        return Err(Error::InvalidInput(format!("a document id must be 1 to {MAX_ID_BYTES} bytes long")));
    }
    let lang = doc.lang.as_deref().map(normalize_lang).transpose()?;
    if !doc.metadata.is_empty() {
        serde_json::from_str::<serde::de::IgnoredAny>(&doc.metadata)
            .map_err(|e| Error::InvalidInput(format!("metadata of {:?} is not valid JSON: {e}", doc.id)))?;
    }
    let Scratch { text: all, tokens, memo } = scratch;
    all.clear();
    tokens.clear();
    analyzer.for_each_term(&doc.text, lang.as_deref(), memo, |term, hash| {
        let start = all.len();
        all.push_str(term);
        tokens.push((hash, start, all.len()));
    });
    let len = u32::try_from(tokens.len()).map_err(|_| Error::InvalidInput("document has too many terms".into()))?;
    // Equal terms side by side: by hash first, so that bytes are compared only between equal hashes.
    let bytes = |&(_, s, e): &(u64, usize, usize)| &all.as_bytes()[s..e];
    tokens.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| bytes(a).cmp(bytes(b))));
    let mut text = String::with_capacity(all.len());
    let mut terms: Vec<AnalysedTerm> = Vec::new();
    for same in tokens.chunk_by(|a, b| a.0 == b.0 && bytes(a) == bytes(b)) {
        let (hash, start, end) = same[0];
        text.push_str(&all[start..end]);
        terms.push(AnalysedTerm { hash, end: text.len(), tf: same.len() as u32 });
    }
    Ok(Analysed { lang, len, text, terms })
}

impl Pending {
    /// Every pending list of `term` (spilled runs first, then memory), with local document numbers.
    pub(super) fn lists<'a>(&'a self, term: &str) -> impl Iterator<Item = Postings<'a>> + 'a {
        let memory = self.terms.get(term).map(|t| {
            let (docs, freqs) = &self.postings[t as usize];
            Postings::Raw { docs, freqs }
        });
        let spilled: Vec<Postings<'a>> = self.runs.iter().filter_map(|r| r.find(term)).map(Postings::Packed).collect();
        spilled.into_iter().chain(memory)
    }

    /// Pending documents holding `term`.
    pub(super) fn df(&self, term: &str) -> usize {
        self.lists(term).map(|p| p.df()).sum()
    }
}

impl Index {
    /// Changes how much of the pending documents this writer holds in memory (see [`PendingBudget`]);
    /// applies from the next document added.
    pub fn set_pending_budget(&mut self, budget: PendingBudget) -> Result<()> {
        if budget.postings == 0 || budget.text_bytes == 0 {
            return Err(Error::InvalidInput("a pending budget must be at least one posting and one byte".into()));
        }
        self.pending_budget = budget;
        Ok(())
    }

    /// Spills what is over budget. Called before a document is added, so a failure (a full disk) adds
    /// nothing and loses nothing: the pending documents stay in memory.
    fn spill_over_budget(&mut self) -> Result<()> {
        if self.pending.in_memory >= self.pending_budget.postings {
            let mut terms: Vec<(&str, u32)> = self.pending.terms.iter().collect();
            terms.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let postings = &self.pending.postings;
            let lists = terms.iter().map(|&(t, i)| (t, postings[i as usize].0.as_slice(), postings[i as usize].1.as_slice()));
            let run = Run::write(&self.dir, lists, &self.pending.lens)?;
            self.pending.runs.push(run);
            self.pending.terms = TermTable::default();
            self.pending.postings = Vec::new();
            self.pending.in_memory = 0;
        }
        if self.pending.texts.memory_bytes() >= self.pending_budget.text_bytes {
            self.pending.texts.spill(&self.dir)?;
        }
        Ok(())
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
        if self.pending.scratch.is_empty() {
            self.pending.scratch.push(Scratch::default());
        }
        let analysed = analyse(&self.analyzer, &doc, &mut self.pending.scratch[0])?;
        self.insert(doc, analysed, vector, passages)
    }

    /// Adds documents in order, each with its vector and passages as [`Index::add_with_passages`] takes
    /// them, and stops at the first one refused (the ones before it stay added). Analysis, the costly
    /// part, runs on up to `threads` threads; the documents then enter the index one by one, in order.
    pub fn add_batch<'v>(&mut self, docs: Vec<BatchDoc<'v>>, threads: usize) -> Result<Vec<u64>> {
        self.require_writer()?;
        const CHUNK: usize = 256;
        let threads = threads.clamp(1, 16).min(docs.len().div_ceil(CHUNK));
        let mut keys = Vec::with_capacity(docs.len());
        if threads <= 1 {
            for (doc, vector, passages) in docs {
                keys.push(self.add_with_passages(doc, vector, passages)?);
            }
            return Ok(keys);
        }
        // Chunks of documents go round the workers, who analyse them and send them back; this thread puts
        // them into the index in their order as they return, so analysis and insertion overlap.
        type Chunk<'v> = Vec<BatchDoc<'v>>;
        let analyzer = self.analyzer;
        let mut chunks: Vec<Chunk<'v>> = Vec::new();
        let mut docs = docs.into_iter().peekable();
        while docs.peek().is_some() {
            chunks.push(docs.by_ref().take(CHUNK).collect());
        }
        let mut scratch = std::mem::take(&mut self.pending.scratch);
        scratch.resize_with(scratch.len().max(threads), Scratch::default);
        let result = std::thread::scope(|scope| -> Result<()> {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, Chunk<'v>, Vec<Result<Analysed>>)>();
            let mut work_txs = Vec::new();
            for scratch in scratch.iter_mut().take(threads) {
                let (tx, rx) = std::sync::mpsc::channel::<(usize, Chunk<'v>)>();
                let done_tx = done_tx.clone();
                work_txs.push(tx);
                scope.spawn(move || {
                    for (i, chunk) in rx {
                        let analysed = chunk.iter().map(|(d, _, _)| analyse(&analyzer, d, scratch)).collect();
                        if done_tx.send((i, chunk, analysed)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            for (i, chunk) in chunks.into_iter().enumerate() {
                let _ = work_txs[i % threads].send((i, chunk));
            }
            drop(work_txs); // the workers stop once their queues are empty
            let mut waiting = std::collections::BTreeMap::new();
            let mut next = 0usize;
            for (i, chunk, analysed) in done_rx.iter() {
                waiting.insert(i, (chunk, analysed));
                while let Some((chunk, analysed)) = waiting.remove(&next) {
                    next += 1;
                    for ((doc, vector, passages), analysed) in chunk.into_iter().zip(analysed) {
                        // On the first refusal, returning drops the channel: the workers stop.
                        keys.push(self.insert(doc, analysed?, vector, passages)?);
                    }
                }
            }
            Ok(())
        });
        self.pending.scratch = scratch;
        result.map(|()| keys)
    }

    /// Puts an analysed document into the pending state (after the checks that need the index).
    fn insert(&mut self, doc: Document, analysed: Analysed, vector: Option<&[f32]>, passages: &[&[f32]]) -> Result<u64> {
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
        let lang = analysed.lang.as_deref();
        let slot = match lang {
            Some(l) => self.intern_lang(l)?,
            None => NO_LANG,
        };
        self.spill_over_budget()?;
        self.delete(&doc.id)?;
        let key = self.next_key;
        if let (Some(v), Some(vectors)) = (vector, self.vectors.as_mut()) {
            let part = vectors.for_new(lang)?;
            part.touch();
            part.vectors.add(key, v)?;
            for (i, p) in passages.iter().enumerate() {
                part.passages.add(passage_key(key, i), p)?;
            }
        }
        let local = self.pending.lens.len() as u32;
        self.pending.in_memory += analysed.terms.len();
        for (term, t) in analysed.terms() {
            let (i, new) = self.pending.terms.intern(t.hash, term);
            if new {
                self.pending.postings.push((Vec::new(), Vec::new()));
            }
            let (docs, tfs) = &mut self.pending.postings[i as usize];
            docs.push(local);
            tfs.push(t.tf);
        }
        let len = analysed.len;
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

