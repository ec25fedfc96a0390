//! The segment file: one committed generation of the index in a compact, memory-mappable binary form.
//!
//! Layout (little endian; every section starts on an 8-byte boundary):
//!
//! ```text
//! header   magic "XLQESEG\0" | format version u32 | section count u32 | n_docs u64 | n_terms u64
//! table    per section: kind u32 | reserved u32 | offset u64 | length u64
//! sections (version 2) term strings, postings offsets, compressed postings, document lengths,
//!          languages, stable keys, ids, text offsets, text blocks, compressed texts, metadata, id order,
//!          language table
//! footer   crc32 of everything before it u32 | magic "XLQEEND\0"
//! ```
//!
//! String tables are two sections: u64 end offsets (one per string) and the concatenated UTF-8 bytes.
//! Version 2 (written since the lexical core was compressed) keeps each term's postings as
//! [`crate::lexical::postings`] encodes them (blocks of 128, delta and bit-packed, with skip entries
//! carrying score bounds) and texts as [`super::texts`] does (LZ4 blocks of 16 KB); version 1 kept raw
//! u32 arrays of document numbers and frequencies and raw texts, and is still read. Opening checks the
//! structure (every postings list is decoded and checked once, as version 1's were scanned); nothing is
//! copied: postings and ids are read in place, a text by decompressing its block.

use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::texts::{TextReader, TextStore};
use crate::error::{Error, Result};
use crate::lexical::postings::{PackedList, Postings};

pub const SEGMENT_MAGIC: &[u8; 8] = b"XLQESEG\0";
pub const FOOTER_MAGIC: &[u8; 8] = b"XLQEEND\0";
/// The version this build writes; it reads this one and version 1.
pub const SEGMENT_FORMAT_VERSION: u32 = 2;
/// The oldest version this build reads: version 1's raw postings and texts.
pub const OLDEST_SEGMENT_FORMAT_VERSION: u32 = 1;
pub(super) const HEADER_BYTES: usize = 32;
pub(super) const TABLE_ENTRY_BYTES: usize = 24;
pub(super) const FOOTER_BYTES: usize = 12;
/// A language slot meaning "language unknown".
pub const NO_LANG: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(super) enum Section {
    TermEnds = 1,
    TermBytes,
    PostingStarts,
    PostingDocs,
    PostingFreqs,
    DocLens,
    DocLangs,
    DocKeys,
    IdEnds,
    IdBytes,
    TextEnds,
    TextBytes,
    MetaEnds,
    MetaBytes,
    IdOrder,
    LangEnds,
    LangBytes,
    /// Version 2: every term's compressed postings, at the byte offsets of `PostingStarts`.
    PostingData,
    /// Version 2: per text block, (uncompressed end, compressed end).
    TextBlocks,
}
const N_KINDS: usize = 19;
/// Version 1's sections, in file order.
const SECTIONS_V1: [Section; 17] = [
    Section::TermEnds,
    Section::TermBytes,
    Section::PostingStarts,
    Section::PostingDocs,
    Section::PostingFreqs,
    Section::DocLens,
    Section::DocLangs,
    Section::DocKeys,
    Section::IdEnds,
    Section::IdBytes,
    Section::TextEnds,
    Section::TextBytes,
    Section::MetaEnds,
    Section::MetaBytes,
    Section::IdOrder,
    Section::LangEnds,
    Section::LangBytes,
];
/// Version 2's sections, in file order (`TextBytes` holds the compressed blocks).
pub(super) const SECTIONS_V2: [Section; 17] = [
    Section::TermEnds,
    Section::TermBytes,
    Section::PostingStarts,
    Section::PostingData,
    Section::DocLens,
    Section::DocLangs,
    Section::DocKeys,
    Section::IdEnds,
    Section::IdBytes,
    Section::TextEnds,
    Section::TextBlocks,
    Section::TextBytes,
    Section::MetaEnds,
    Section::MetaBytes,
    Section::IdOrder,
    Section::LangEnds,
    Section::LangBytes,
];

/// CRC32 of the first `len` bytes of `file`, read through a small buffer rather than the mapping, so
/// that checking a segment does not make the whole file resident in this process.
fn crc_of_prefix(file: &File, len: u64) -> std::io::Result<u32> {
    use std::io::Read;
    let mut crc = crc32fast::Hasher::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file).take(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
    }
    Ok(crc.finalize())
}

/// A byte range inside the mapped file.
#[derive(Debug, Clone, Copy, Default)]
struct Range {
    start: usize,
    len: usize,
}

/// A committed segment, memory-mapped and checked.
pub struct Segment {
    path: PathBuf,
    map: Option<Mmap>,
    n_docs: usize,
    n_terms: usize,
    version: u32,
    /// By section kind - 1.
    ranges: [Range; N_KINDS],
}

impl Segment {
    /// Maps `path` and checks magic, version, section bounds, alignment, offset monotonicity and the
    /// checksum (`expected_crc` from the manifest). Any failure is a [`Error::Corrupt`] naming the file.
    pub fn open(path: &Path, expected_len: u64, expected_crc: u32) -> Result<Segment> {
        let corrupt = |why: String| Error::corrupt(path, why);
        let file = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                corrupt("segment file named by the manifest is missing".into())
            } else {
                Error::io(format!("opening {}", path.display()), e)
            }
        })?;
        let len = file.metadata().map_err(|e| Error::io(format!("reading {}", path.display()), e))?.len();
        if len != expected_len {
            return Err(corrupt(format!("segment is {len} bytes, the manifest says {expected_len}")));
        }
        if (len as usize) < HEADER_BYTES + FOOTER_BYTES {
            return Err(corrupt("segment file is truncated".into()));
        }
        // SAFETY: segment files are written once and never modified in place; a writer only ever
        // creates new generations, so the mapping stays valid while we hold it.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(format!("mapping {}", path.display()), e))?;
        let bytes: &[u8] = &map;
        if &bytes[..8] != SEGMENT_MAGIC || &bytes[bytes.len() - 8..] != FOOTER_MAGIC {
            return Err(corrupt("not an xlqe segment (bad magic)".into()));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if !(OLDEST_SEGMENT_FORMAT_VERSION..=SEGMENT_FORMAT_VERSION).contains(&version) {
            let supported = if version < OLDEST_SEGMENT_FORMAT_VERSION { OLDEST_SEGMENT_FORMAT_VERSION } else { SEGMENT_FORMAT_VERSION };
            return Err(Error::FormatVersion { path: path.into(), found: version, supported });
        }
        let body = &bytes[..bytes.len() - FOOTER_BYTES];
        let stored_crc = u32::from_le_bytes(bytes[body.len()..body.len() + 4].try_into().unwrap());
        if stored_crc != expected_crc || crc_of_prefix(&file, body.len() as u64).map_err(|e| Error::io(format!("reading {}", path.display()), e))? != stored_crc {
            return Err(corrupt("checksum mismatch: the segment file is damaged".into()));
        }
        let n_sections = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let n_docs = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
        let n_terms = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
        if n_docs > body.len() || n_terms > body.len() {
            return Err(corrupt(format!("{n_docs} documents and {n_terms} terms cannot fit in the file")));
        }
        let sections: &[Section] = if version == 1 { &SECTIONS_V1 } else { &SECTIONS_V2 };
        if n_sections != sections.len() || HEADER_BYTES + n_sections * TABLE_ENTRY_BYTES > body.len() {
            return Err(corrupt(format!("unexpected section count {n_sections}")));
        }
        let mut ranges = [Range::default(); N_KINDS];
        for (i, expected) in sections.iter().enumerate() {
            let e = &bytes[HEADER_BYTES + i * TABLE_ENTRY_BYTES..][..TABLE_ENTRY_BYTES];
            let kind = u32::from_le_bytes(e[0..4].try_into().unwrap());
            let start = u64::from_le_bytes(e[8..16].try_into().unwrap());
            let len = u64::from_le_bytes(e[16..24].try_into().unwrap());
            if kind != *expected as u32 || start % 8 != 0 || start.checked_add(len).is_none_or(|end| end > body.len() as u64) {
                return Err(corrupt(format!("section {i} is out of bounds")));
            }
            ranges[kind as usize - 1] = Range { start: start as usize, len: len as usize };
        }
        let seg = Segment { path: path.into(), map: Some(map), n_docs, n_terms, version, ranges };
        seg.check_shape().map_err(corrupt)?;
        seg.release_pages();
        Ok(seg)
    }

    /// Drops the file's pages from this process's resident set. Checking a segment reads all of it,
    /// which would otherwise leave the whole file counted in the process's memory (as page-cache pages
    /// mapped into it) until the kernel needs them back; queries fault in only the pages they touch.
    fn release_pages(&self) {
        #[cfg(unix)]
        if let Some(map) = &self.map {
            // SAFETY: a read-only shared mapping of a file nobody modifies: MADV_DONTNEED only unmaps the
            // pages, and the next access reads the same bytes back from the page cache or the file.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// An empty segment for a new index.
    pub fn empty() -> Segment {
        Segment { path: PathBuf::new(), map: None, n_docs: 0, n_terms: 0, version: SEGMENT_FORMAT_VERSION, ranges: [Range::default(); N_KINDS] }
    }

    fn bytes(&self, s: Section) -> &[u8] {
        match &self.map {
            Some(m) => {
                let r = self.ranges[s as usize - 1];
                &m[r.start..r.start + r.len]
            }
            None => &[],
        }
    }
    fn u64_at(&self, s: Section) -> &[u64] {
        let b = self.bytes(s);
        if b.is_empty() {
            return &[];
        }
        // SAFETY: sections are 8-aligned in a page-aligned map and their lengths were checked.
        unsafe { std::slice::from_raw_parts(b.as_ptr() as *const u64, b.len() / 8) }
    }
    fn u32_at(&self, s: Section) -> &[u32] {
        let b = self.bytes(s);
        if b.is_empty() {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(b.as_ptr() as *const u32, b.len() / 4) }
    }
    fn u16_at(&self, s: Section) -> &[u16] {
        let b = self.bytes(s);
        if b.is_empty() {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(b.as_ptr() as *const u16, b.len() / 2) }
    }

    /// Section sizes agree with the counts and every offset table is monotonic and in bounds, so that
    /// later accessors cannot index out of range; version 2's postings are decoded and checked, its text
    /// blocks' table checked (their contents are checked by [`Segment::verify`]).
    fn check_shape(&self) -> std::result::Result<(), String> {
        let (n, t) = (self.n_docs, self.n_terms);
        let postings = self.u64_at(Section::PostingStarts);
        if postings.len() != t + 1 || postings[0] != 0 {
            return Err("postings table has the wrong size".into());
        }
        if !postings.windows(2).all(|w| w[0] <= w[1]) {
            return Err("postings offsets are not monotonic".into());
        }
        let total = *postings.last().unwrap() as usize;
        if total > self.map.as_ref().map_or(0, |m| m.len()) {
            return Err("postings offsets pass the end of the file".into());
        }
        let mut want = vec![
            (Section::TermEnds, 8 * t),
            (Section::DocLens, 4 * n),
            (Section::DocLangs, 2 * n),
            (Section::DocKeys, 8 * n),
            (Section::IdEnds, 8 * n),
            (Section::TextEnds, 8 * n),
            (Section::MetaEnds, 8 * n),
            (Section::IdOrder, 4 * n),
        ];
        if self.version == 1 {
            want.extend([(Section::PostingDocs, 4 * total), (Section::PostingFreqs, 4 * total)]);
        } else {
            want.push((Section::PostingData, total));
        }
        for (s, len) in want {
            if self.bytes(s).len() != len {
                return Err(format!("section {s:?} has {} bytes, expected {len}", self.bytes(s).len()));
            }
        }
        let mut tables = vec![
            (Section::TermEnds, Section::TermBytes),
            (Section::IdEnds, Section::IdBytes),
            (Section::MetaEnds, Section::MetaBytes),
            (Section::LangEnds, Section::LangBytes),
        ];
        if self.version == 1 {
            tables.push((Section::TextEnds, Section::TextBytes));
        }
        for (ends, bytes) in tables {
            let e = self.u64_at(ends);
            let limit = self.bytes(bytes).len() as u64;
            if !e.windows(2).all(|w| w[0] <= w[1]) || e.last().is_some_and(|&l| l != limit) {
                return Err(format!("string table {ends:?} is inconsistent"));
            }
            if e.is_empty() && limit != 0 {
                return Err(format!("string table {bytes:?} has bytes but no entries"));
            }
        }
        if self.u32_at(Section::IdOrder).iter().any(|&d| d as usize >= n) {
            return Err("id order names a document that does not exist".into());
        }
        let n_langs = self.u64_at(Section::LangEnds).len();
        if self.u16_at(Section::DocLangs).iter().any(|&l| l != NO_LANG && l as usize >= n_langs) {
            return Err("a document names a language that is not in the table".into());
        }
        if self.version == 1 {
            if self.u32_at(Section::PostingDocs).iter().any(|&d| d as usize >= n) {
                return Err("postings name a document that does not exist".into());
            }
        } else {
            let data = self.bytes(Section::PostingData);
            for w in postings.windows(2) {
                let list = PackedList::parse(&data[w[0] as usize..w[1] as usize]).map_err(|e| format!("{e} (term list at byte {})", w[0]))?;
                list.validate(self.doc_lens()).map_err(|e| format!("{e} (term list at byte {})", w[0]))?;
            }
            let store = self.text_store();
            if !self.bytes(Section::TextBlocks).len().is_multiple_of(16) {
                return Err("text block table has the wrong size".into());
            }
            store.check()?;
        }
        Ok(())
    }

    fn text_store(&self) -> TextStore<'_> {
        TextStore {
            doc_ends: self.u64_at(Section::TextEnds),
            block_ends: self.u64_at(Section::TextBlocks),
            bytes: self.bytes(Section::TextBytes),
        }
    }

    /// The segment format version of this file (1 or 2).
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn n_docs(&self) -> usize {
        self.n_docs
    }
    pub fn n_terms(&self) -> usize {
        self.n_terms
    }

    fn string_bytes(&self, ends: Section, bytes: Section, i: usize) -> &[u8] {
        let e = self.u64_at(ends);
        let start = if i == 0 { 0 } else { e[i - 1] as usize };
        &self.bytes(bytes)[start..e[i] as usize]
    }

    fn string(&self, ends: Section, bytes: Section, i: usize) -> &str {
        // Written from &str and covered by the checksum; a crafted file yields replacement-free lossy text.
        std::str::from_utf8(self.string_bytes(ends, bytes, i)).unwrap_or("\u{FFFD}")
    }

    pub fn term(&self, t: usize) -> &str {
        self.string(Section::TermEnds, Section::TermBytes, t)
    }

    /// Binary search over the sorted term table.
    pub fn find_term(&self, term: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.n_terms);
        while lo < hi {
            let mid = (lo + hi) / 2;
            // Bytes, not &str: no UTF-8 check per probe (bytewise order is the table's order).
            match self.string_bytes(Section::TermEnds, Section::TermBytes, mid).cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The postings of term number `t`: plain arrays (version 1) or compressed blocks (version 2).
    pub fn postings(&self, t: usize) -> Postings<'_> {
        let starts = self.u64_at(Section::PostingStarts);
        let (a, b) = (starts[t] as usize, starts[t + 1] as usize);
        if self.version == 1 {
            return Postings::Raw { docs: &self.u32_at(Section::PostingDocs)[a..b], freqs: &self.u32_at(Section::PostingFreqs)[a..b] };
        }
        // Every list was parsed and checked at open.
        PackedList::parse(&self.bytes(Section::PostingData)[a..b]).map_or(Postings::Raw { docs: &[], freqs: &[] }, Postings::Packed)
    }

    pub fn doc_lens(&self) -> &[u32] {
        self.u32_at(Section::DocLens)
    }
    pub fn doc_langs(&self) -> &[u16] {
        self.u16_at(Section::DocLangs)
    }
    pub fn doc_keys(&self) -> &[u64] {
        self.u64_at(Section::DocKeys)
    }
    pub fn id(&self, d: usize) -> &str {
        self.string(Section::IdEnds, Section::IdBytes, d)
    }
    /// The text of document `d` (version 2 decompresses its block: use [`Segment::texts`] for many).
    pub fn text(&self, d: usize) -> Cow<'_, str> {
        if self.version == 1 {
            Cow::Borrowed(self.string(Section::TextEnds, Section::TextBytes, d))
        } else {
            self.text_store().text(d)
        }
    }
    /// A reader of texts that decompresses each block once when documents are read in order.
    pub fn texts(&self) -> Texts<'_> {
        if self.version == 1 {
            Texts::Plain(self)
        } else {
            Texts::Blocks(TextReader::new(self.text_store()))
        }
    }
    pub fn meta(&self, d: usize) -> &str {
        self.string(Section::MetaEnds, Section::MetaBytes, d)
    }
    pub fn langs(&self) -> Vec<String> {
        (0..self.u64_at(Section::LangEnds).len()).map(|i| self.string(Section::LangEnds, Section::LangBytes, i).to_string()).collect()
    }

    /// The document number with external id `id`, by binary search over the id order.
    pub fn find_id(&self, id: &str) -> Option<usize> {
        let order = self.u32_at(Section::IdOrder);
        order
            .binary_search_by(|&d| self.id(d as usize).as_bytes().cmp(id.as_bytes()))
            .ok()
            .map(|i| order[i] as usize)
    }

    /// Deep checks beyond what open does: postings sorted and consistent with document lengths,
    /// ids unique, UTF-8 valid. Returns the problems found.
    pub fn verify(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut len_from_postings = vec![0u64; self.n_docs];
        let mut prev_term: Option<&str> = None;
        for t in 0..self.n_terms {
            let term = self.term(t);
            if prev_term.is_some_and(|p| p >= term) {
                problems.push(format!("terms out of order at {t}"));
                break;
            }
            prev_term = Some(term);
            let (mut last, mut increasing, mut zero) = (None, true, false);
            self.postings(t).for_each(|d, f| {
                increasing &= last.is_none_or(|l| l < d);
                last = Some(d);
                zero |= f == 0;
                if let Some(len) = len_from_postings.get_mut(d as usize) {
                    *len += f as u64;
                }
            });
            if !increasing {
                problems.push(format!("postings of term {term:?} are not strictly increasing"));
            }
            if zero {
                problems.push(format!("zero frequency in postings of {term:?}"));
            }
        }
        for (d, (&want, got)) in self.doc_lens().iter().zip(&len_from_postings).enumerate() {
            if want as u64 != *got {
                problems.push(format!("document {d}: length {want} but postings sum to {got}"));
                break;
            }
        }
        let order = self.u32_at(Section::IdOrder);
        if !order.windows(2).all(|w| self.id(w[0] as usize) < self.id(w[1] as usize)) {
            problems.push("document ids are not unique or not sorted in the id order".into());
        }
        let mut tables = vec![(Section::IdEnds, Section::IdBytes, "id"), (Section::MetaEnds, Section::MetaBytes, "metadata")];
        if self.version == 1 {
            tables.push((Section::TextEnds, Section::TextBytes, "text"));
        } else {
            problems.extend(self.text_store().verify());
        }
        for (ends, bytes, what) in tables {
            let e = self.u64_at(ends);
            let b = self.bytes(bytes);
            let mut start = 0usize;
            for (i, &end) in e.iter().enumerate() {
                if std::str::from_utf8(&b[start..end as usize]).is_err() {
                    problems.push(format!("document {i}: {what} is not valid UTF-8"));
                    break;
                }
                start = end as usize;
            }
        }
        problems
    }
}

/// Texts read one after another (see [`Segment::texts`]).
pub enum Texts<'a> {
    Plain(&'a Segment),
    Blocks(TextReader<'a>),
}

impl Texts<'_> {
    /// The text of document `d`.
    pub fn text(&mut self, d: usize) -> &str {
        match self {
            Texts::Plain(seg) => seg.string(Section::TextEnds, Section::TextBytes, d),
            Texts::Blocks(reader) => reader.text(d),
        }
    }
}
