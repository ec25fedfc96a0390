//! Spill files of a writer's uncommitted documents, so that indexing holds a bounded amount in memory.
//!
//! A **run** holds the postings of a stretch of pending documents, terms in byte order, each list in the
//! segment's compressed encoding ([`crate::lexical::postings`]) with pending-local document numbers:
//!
//! ```text
//! postings data | term bytes | term ends u64 × n | posting starts u64 × (n + 1) | n u64 | RUN_MAGIC
//! ```
//!
//! A **text spill** holds pending documents' texts back to back (their ends stay in memory).
//!
//! Both are scratch files in the index directory, named `run-*.tmp`: never named by a manifest, read
//! only by the writer that wrote them, removed when it commits, rolls back or closes (on Unix they are
//! unlinked as soon as they are open, so even a killed writer leaves nothing behind; elsewhere the next
//! writer's garbage collection removes them).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::lexical::postings::{self, PackedList};

const RUN_MAGIC: &[u8; 8] = b"XLQERUN1";
static SPILL_SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh scratch file name in `dir` (unique within this process; the writer lock keeps other
/// processes out of the directory).
fn scratch_path(dir: &Path, what: &str) -> PathBuf {
    let n = SPILL_SEQ.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("run-{}-{n}-{what}.tmp", std::process::id()))
}

/// Whether `name` is a spill file (for the garbage collection of a writer that died on a platform that
/// could not unlink open files).
pub fn is_scratch_name(name: &str) -> bool {
    name.starts_with("run-") && name.ends_with(".tmp")
}

/// The file stays reachable by path only where an open file cannot be unlinked; `Drop` removes it then.
struct Scratch {
    path: Option<PathBuf>,
}

impl Scratch {
    fn unlink_early(path: PathBuf) -> Scratch {
        if cfg!(unix) && std::fs::remove_file(&path).is_ok() {
            Scratch { path: None }
        } else {
            Scratch { path: Some(path) }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// One spilled run, memory-mapped.
pub struct Run {
    map: Mmap,
    n_terms: usize,
    postings_end: usize,
    term_ends: usize,
    posting_starts: usize,
    _scratch: Scratch,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

impl Run {
    /// Writes `lists` (sorted by term, each with strictly increasing local documents and frequencies >= 1;
    /// `lens` indexed by local document) to a new run in `dir` and maps it.
    pub fn write<'a>(dir: &Path, lists: impl ExactSizeIterator<Item = (&'a str, &'a [u32], &'a [u32])>, lens: &[u32]) -> Result<Run> {
        let path = scratch_path(dir, "postings");
        let ctx = || format!("spilling pending postings to {}", path.display());
        let n = lists.len();
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(|e| Error::io(ctx(), e))?;
        let mut scratch = Scratch { path: Some(path.clone()) }; // removes the file if writing fails
        let mut out = BufWriter::with_capacity(1 << 20, &file);
        let (mut term_bytes, mut term_ends, mut starts) = (Vec::new(), Vec::with_capacity(n), Vec::with_capacity(n + 1));
        let mut pos = 0u64;
        let mut buf = Vec::new();
        let written: std::io::Result<()> = (|| {
            starts.push(0u64);
            for (term, docs, freqs) in lists {
                buf.clear();
                postings::encode(docs, freqs, lens, &mut buf).map_err(std::io::Error::other)?;
                out.write_all(&buf)?;
                pos += buf.len() as u64;
                starts.push(pos);
                term_bytes.extend_from_slice(term.as_bytes());
                term_ends.push(term_bytes.len() as u64);
            }
            out.write_all(&term_bytes)?;
            for v in term_ends.iter().chain(&starts) {
                out.write_all(&v.to_le_bytes())?;
            }
            out.write_all(&(n as u64).to_le_bytes())?;
            out.write_all(RUN_MAGIC)?;
            out.flush()
        })();
        written.map_err(|e| Error::io(ctx(), e))?;
        drop(out);
        // SAFETY: the file is this writer's own scratch file, written above and never modified again.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(ctx(), e))?;
        let scratch = Scratch::unlink_early(scratch.path.take().unwrap_or_default());
        Run::parse(map, scratch).map_err(|why| Error::corrupt(&path, why))
    }

    fn parse(map: Mmap, scratch: Scratch) -> std::result::Result<Run, String> {
        let b: &[u8] = &map;
        if b.len() < 16 || &b[b.len() - 8..] != RUN_MAGIC {
            return Err("spill file is truncated".into());
        }
        let n_terms = u64_at(b, b.len() - 16) as usize;
        let tables = n_terms.checked_mul(16).and_then(|x| x.checked_add(8 + 16)).ok_or("spill file is malformed")?;
        if tables > b.len() {
            return Err("spill file is malformed".into());
        }
        let term_ends = b.len() - tables;
        let posting_starts = term_ends + 8 * n_terms;
        let last = |at: usize, count: usize| if count == 0 { 0 } else { u64_at(b, at + 8 * (count - 1)) as usize };
        let postings_end = last(posting_starts, n_terms + 1);
        let terms_len = last(term_ends, n_terms);
        if postings_end.checked_add(terms_len) != Some(term_ends) {
            return Err("spill file sections disagree".into());
        }
        // Every range in order and on character boundaries, so that term() and postings() never fail.
        let terms = std::str::from_utf8(&b[postings_end..term_ends]).map_err(|_| "spill file terms are not UTF-8")?;
        let mut prev = (0usize, 0usize);
        for i in 0..n_terms {
            let (te, ps) = (u64_at(b, term_ends + 8 * i) as usize, u64_at(b, posting_starts + 8 * (i + 1)) as usize);
            if te < prev.0 || ps <= prev.1 || !terms.is_char_boundary(te) {
                return Err("spill file ranges are out of order".into());
            }
            prev = (te, ps);
        }
        if u64_at(b, posting_starts) != 0 {
            return Err("spill file ranges are out of order".into());
        }
        Ok(Run { map, n_terms, postings_end, term_ends, posting_starts, _scratch: scratch })
    }

    pub fn n_terms(&self) -> usize {
        self.n_terms
    }

    fn end_at(&self, table: usize, i: usize) -> usize {
        u64_at(&self.map, table + 8 * i) as usize
    }

    /// Term `i` (in byte order; [`Run::parse`] checked every range).
    pub fn term(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.end_at(self.term_ends, i - 1) };
        let end = self.end_at(self.term_ends, i);
        // The term bytes lie between the postings and the term ends table.
        let bytes = &self.map[self.postings_end..self.term_ends][start..end];
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The list of term `i`, or None when its bytes do not parse.
    pub fn postings(&self, i: usize) -> Option<PackedList<'_>> {
        let (a, b) = (self.end_at(self.posting_starts, i), self.end_at(self.posting_starts, i + 1));
        PackedList::parse(self.map.get(a..b.min(self.postings_end))?).ok()
    }

    /// The list of `term`, by binary search over the sorted terms.
    pub fn find(&self, term: &str) -> Option<PackedList<'_>> {
        let (mut lo, mut hi) = (0, self.n_terms);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.term(mid).cmp(term) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.postings(mid),
            }
        }
        None
    }
}

/// Pending documents' texts: the newest in memory, the older ones spilled to a scratch file.
#[derive(Default)]
pub struct PendingTexts {
    spilled: Option<(File, Scratch)>,
    /// End offset in the spill file of each spilled text.
    spilled_ends: Vec<u64>,
    memory: Vec<String>,
    memory_bytes: usize,
}

impl PendingTexts {
    pub fn len(&self) -> usize {
        self.spilled_ends.len() + self.memory.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of text held in memory.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    pub fn push(&mut self, text: String) {
        self.memory_bytes += text.len();
        self.memory.push(text);
    }

    /// Appends the texts held in memory to the spill file (created in `dir` on first use).
    pub fn spill(&mut self, dir: &Path) -> Result<()> {
        if self.memory.is_empty() {
            return Ok(());
        }
        if self.spilled.is_none() {
            let path = scratch_path(dir, "texts");
            let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)
                .map_err(|e| Error::io(format!("spilling pending texts to {}", path.display()), e))?;
            self.spilled = Some((file, Scratch::unlink_early(path)));
        }
        let (file, _) = self.spilled.as_ref().unwrap();
        let mut end = self.spilled_ends.last().copied().unwrap_or(0);
        let mut handle: &File = file;
        let written: std::io::Result<()> = (|| {
            handle.seek(SeekFrom::Start(end))?;
            let mut out = BufWriter::with_capacity(1 << 20, handle);
            for t in &self.memory {
                out.write_all(t.as_bytes())?;
            }
            out.flush()
        })();
        written.map_err(|e| Error::io("spilling pending texts", e))?;
        for t in self.memory.drain(..) {
            end += t.len() as u64;
            self.spilled_ends.push(end);
        }
        self.memory_bytes = 0;
        Ok(())
    }

    fn spilled_range(&self, i: usize) -> (u64, u64) {
        (if i == 0 { 0 } else { self.spilled_ends[i - 1] }, self.spilled_ends[i])
    }

    /// Text `i` (in the order pushed).
    pub fn get(&self, i: usize) -> Result<String> {
        if i >= self.spilled_ends.len() {
            return Ok(self.memory[i - self.spilled_ends.len()].clone());
        }
        let (a, b) = self.spilled_range(i);
        let (file, _) = self.spilled.as_ref().expect("spilled texts have a file");
        let mut bytes = vec![0u8; (b - a) as usize];
        read_exact_at(file, &mut bytes, a).map_err(|e| Error::io("reading a spilled pending text", e))?;
        String::from_utf8(bytes).map_err(|_| Error::InvalidInput("a spilled pending text was damaged on disk".into()))
    }

    /// Every text in order, the spilled ones read sequentially; `keep(i)` says which to return (the
    /// others are skipped without being decoded).
    pub fn iter_kept<'a>(&'a self, keep: impl Fn(usize) -> bool + 'a) -> Result<impl Iterator<Item = Result<std::borrow::Cow<'a, str>>> + 'a> {
        let mut reader = match &self.spilled {
            Some((file, _)) => {
                let mut f = file.try_clone().map_err(|e| Error::io("reading spilled pending texts", e))?;
                f.seek(SeekFrom::Start(0)).map_err(|e| Error::io("reading spilled pending texts", e))?;
                Some(BufReader::with_capacity(1 << 20, f))
            }
            None => None,
        };
        let n_spilled = self.spilled_ends.len();
        Ok((0..self.len()).filter(move |&i| keep(i)).map(move |i| {
            if i >= n_spilled {
                return Ok(std::borrow::Cow::Borrowed(self.memory[i - n_spilled].as_str()));
            }
            let r = reader.as_mut().expect("spilled texts have a file");
            let (a, b) = self.spilled_range(i);
            let at = r.stream_position().map_err(|e| Error::io("reading spilled pending texts", e))?;
            if at != a {
                r.seek_relative(a as i64 - at as i64).map_err(|e| Error::io("reading spilled pending texts", e))?;
            }
            let mut bytes = vec![0u8; (b - a) as usize];
            r.read_exact(&mut bytes).map_err(|e| Error::io("reading spilled pending texts", e))?;
            String::from_utf8(bytes)
                .map(std::borrow::Cow::Owned)
                .map_err(|_| Error::InvalidInput("a spilled pending text was damaged on disk".into()))
        }))
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_find_their_terms_and_leave_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let lens = vec![3u32; 1000];
        let docs: Vec<u32> = (0..600).map(|i| i + 10).collect();
        let freqs = vec![2u32; 600];
        let lists = vec![("alpha", &docs[..1], &freqs[..1]), ("beta", &docs[..], &freqs[..]), ("gamma", &docs[5..9], &freqs[5..9])];
        let run = Run::write(dir.path(), lists.into_iter(), &lens).unwrap();
        assert_eq!(run.n_terms(), 3);
        assert_eq!(run.term(1), "beta");
        assert_eq!(run.find("beta").unwrap().df(), 600);
        assert_eq!(crate::lexical::Postings::Packed(run.find("gamma").unwrap()).to_vecs().0, vec![15, 16, 17, 18]);
        assert!(run.find("delta").is_none() && run.find("").is_none());
        if cfg!(unix) {
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the run is unlinked once mapped");
        }
    }

    #[test]
    fn texts_read_back_from_memory_and_spill() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = PendingTexts::default();
        for i in 0..10 {
            t.push(format!("text {i} ünï"));
            if i % 4 == 3 {
                t.spill(dir.path()).unwrap();
            }
        }
        assert_eq!(t.len(), 10);
        assert_eq!(t.memory_bytes(), "text 8 ünï".len() * 2);
        for i in 0..10 {
            assert_eq!(t.get(i).unwrap(), format!("text {i} ünï"));
        }
        let kept: Vec<String> = t.iter_kept(|i| i % 3 != 1).unwrap().map(|r| r.unwrap().into_owned()).collect();
        let want: Vec<String> = (0..10).filter(|i| i % 3 != 1).map(|i| format!("text {i} ünï")).collect();
        assert_eq!(kept, want);
    }
}
