//! The segment file: one committed generation of the index in a compact, memory-mappable binary form.
//!
//! Layout (little endian; every section starts on an 8-byte boundary):
//!
//! ```text
//! header   magic "XLQESEG\0" | format version u32 | section count u32 | n_docs u64 | n_terms u64
//! table    per section: kind u32 | reserved u32 | offset u64 | length u64
//! sections term strings, postings offsets, postings doc numbers, postings term frequencies,
//!          document lengths, languages, stable keys, ids, texts, metadata, id order, language table
//! footer   crc32 of everything before it u32 | magic "XLQEEND\0"
//! ```
//!
//! String tables are two sections: u64 end offsets (one per string) and the concatenated UTF-8 bytes.
//! Nothing is parsed at open beyond the header and offset checks; postings are read in place.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Error, Result};

pub const SEGMENT_MAGIC: &[u8; 8] = b"XLQESEG\0";
pub const FOOTER_MAGIC: &[u8; 8] = b"XLQEEND\0";
pub const SEGMENT_FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 32;
const TABLE_ENTRY_BYTES: usize = 24;
const FOOTER_BYTES: usize = 12;
/// A language slot meaning "language unknown".
pub const NO_LANG: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Section {
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
}
const SECTIONS: [Section; 17] = [
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

/// Everything a segment holds, in the order the writer needs it. Terms must be sorted bytewise and
/// postings sorted by document number.
pub struct SegmentData<'a> {
    pub terms: Vec<&'a str>,
    /// For each term, (document numbers, term frequencies).
    pub postings: Vec<(&'a [u32], &'a [u32])>,
    pub doc_lens: &'a [u32],
    pub doc_langs: &'a [u16],
    pub doc_keys: &'a [u64],
    pub ids: Vec<&'a str>,
    pub texts: Vec<&'a str>,
    pub metas: Vec<&'a str>,
    pub langs: &'a [String],
}

/// Writes sections one after another while feeding the checksum, so a segment is never held twice in memory.
struct SectionWriter<W: Write> {
    out: W,
    crc: crc32fast::Hasher,
    pos: u64,
}

impl<W: Write> SectionWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.crc.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(())
    }
    fn pad8(&mut self) -> std::io::Result<()> {
        let pad = (8 - (self.pos % 8) as usize) % 8;
        self.write(&[0u8; 8][..pad])
    }
}

fn u32s(values: &[u32]) -> &[u8] {
    // SAFETY: u32 has no padding or invalid bit patterns; the file is little endian like every target we build for.
    unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) }
}
fn u64s(values: &[u64]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) }
}
fn u16s(values: &[u16]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, std::mem::size_of_val(values)) }
}

fn string_ends<'s>(strings: impl Iterator<Item = &'s str>) -> Vec<u64> {
    let mut end = 0u64;
    strings.map(|s| {
        end += s.len() as u64;
        end
    })
    .collect()
}

/// Writes a segment to `path` and fsyncs it; returns (bytes, crc32 of the body).
pub fn write_segment(path: &Path, data: &SegmentData) -> Result<(u64, u32)> {
    #[cfg(not(target_endian = "little"))]
    compile_error!("the segment format is little endian");
    let ctx = || format!("writing {}", path.display());
    let n_docs = data.doc_lens.len();
    let mut posting_starts = Vec::with_capacity(data.postings.len() + 1);
    let mut total = 0u64;
    posting_starts.push(0u64);
    for (docs, _) in &data.postings {
        total += docs.len() as u64;
        posting_starts.push(total);
    }
    let mut id_order: Vec<u32> = (0..n_docs as u32).collect();
    id_order.sort_unstable_by(|&a, &b| data.ids[a as usize].cmp(data.ids[b as usize]));

    let term_ends = string_ends(data.terms.iter().copied());
    let id_ends = string_ends(data.ids.iter().copied());
    let text_ends = string_ends(data.texts.iter().copied());
    let meta_ends = string_ends(data.metas.iter().copied());
    let lang_ends = string_ends(data.langs.iter().map(|s| s.as_str()));

    // Section lengths are known up front, so the table is written before the data in one pass.
    let bytes_of = |s: Section| -> u64 {
        match s {
            Section::TermEnds => 8 * term_ends.len() as u64,
            Section::TermBytes => data.terms.iter().map(|t| t.len() as u64).sum(),
            Section::PostingStarts => 8 * posting_starts.len() as u64,
            Section::PostingDocs | Section::PostingFreqs => 4 * total,
            Section::DocLens => 4 * n_docs as u64,
            Section::DocLangs => 2 * n_docs as u64,
            Section::DocKeys => 8 * n_docs as u64,
            Section::IdEnds | Section::TextEnds | Section::MetaEnds => 8 * n_docs as u64,
            Section::IdBytes => id_ends.last().copied().unwrap_or(0),
            Section::TextBytes => text_ends.last().copied().unwrap_or(0),
            Section::MetaBytes => meta_ends.last().copied().unwrap_or(0),
            Section::IdOrder => 4 * n_docs as u64,
            Section::LangEnds => 8 * lang_ends.len() as u64,
            Section::LangBytes => lang_ends.last().copied().unwrap_or(0),
        }
    };
    let mut offset = (HEADER_BYTES + TABLE_ENTRY_BYTES * SECTIONS.len()) as u64;
    let mut table = Vec::new();
    for s in SECTIONS {
        offset = offset.div_ceil(8) * 8;
        let len = bytes_of(s);
        table.extend_from_slice(&(s as u32).to_le_bytes());
        table.extend_from_slice(&0u32.to_le_bytes());
        table.extend_from_slice(&offset.to_le_bytes());
        table.extend_from_slice(&len.to_le_bytes());
        offset += len;
    }

    let file = File::create(path).map_err(|e| Error::io(ctx(), e))?;
    let mut w = SectionWriter { out: BufWriter::with_capacity(1 << 20, file), crc: crc32fast::Hasher::new(), pos: 0 };
    let result: std::io::Result<u32> = (|| {
        w.write(SEGMENT_MAGIC)?;
        w.write(&SEGMENT_FORMAT_VERSION.to_le_bytes())?;
        w.write(&(SECTIONS.len() as u32).to_le_bytes())?;
        w.write(&(n_docs as u64).to_le_bytes())?;
        w.write(&(data.terms.len() as u64).to_le_bytes())?;
        w.write(&table)?;
        for s in SECTIONS {
            w.pad8()?;
            match s {
                Section::TermEnds => w.write(u64s(&term_ends))?,
                Section::TermBytes => {
                    for t in &data.terms {
                        w.write(t.as_bytes())?;
                    }
                }
                Section::PostingStarts => w.write(u64s(&posting_starts))?,
                Section::PostingDocs => {
                    for (docs, _) in &data.postings {
                        w.write(u32s(docs))?;
                    }
                }
                Section::PostingFreqs => {
                    for (_, freqs) in &data.postings {
                        w.write(u32s(freqs))?;
                    }
                }
                Section::DocLens => w.write(u32s(data.doc_lens))?,
                Section::DocLangs => w.write(u16s(data.doc_langs))?,
                Section::DocKeys => w.write(u64s(data.doc_keys))?,
                Section::IdEnds => w.write(u64s(&id_ends))?,
                Section::IdBytes => {
                    for s in &data.ids {
                        w.write(s.as_bytes())?;
                    }
                }
                Section::TextEnds => w.write(u64s(&text_ends))?,
                Section::TextBytes => {
                    for s in &data.texts {
                        w.write(s.as_bytes())?;
                    }
                }
                Section::MetaEnds => w.write(u64s(&meta_ends))?,
                Section::MetaBytes => {
                    for s in &data.metas {
                        w.write(s.as_bytes())?;
                    }
                }
                Section::IdOrder => w.write(u32s(&id_order))?,
                Section::LangEnds => w.write(u64s(&lang_ends))?,
                Section::LangBytes => {
                    for s in data.langs {
                        w.write(s.as_bytes())?;
                    }
                }
            }
        }
        let crc = w.crc.clone().finalize();
        w.out.write_all(&crc.to_le_bytes())?;
        w.out.write_all(FOOTER_MAGIC)?;
        w.pos += FOOTER_BYTES as u64;
        w.out.flush()?;
        w.out.get_ref().sync_all()?;
        Ok(crc)
    })();
    let crc = result.map_err(|e| Error::io(ctx(), e))?;
    Ok((w.pos, crc))
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
    ranges: [Range; SECTIONS.len()],
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
        if version != SEGMENT_FORMAT_VERSION {
            return Err(Error::FormatVersion { path: path.into(), found: version, supported: SEGMENT_FORMAT_VERSION });
        }
        let body = &bytes[..bytes.len() - FOOTER_BYTES];
        let stored_crc = u32::from_le_bytes(bytes[body.len()..body.len() + 4].try_into().unwrap());
        if stored_crc != expected_crc || crc32fast::hash(body) != stored_crc {
            return Err(corrupt("checksum mismatch: the segment file is damaged".into()));
        }
        let n_sections = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let n_docs = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
        let n_terms = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
        if n_sections != SECTIONS.len() || HEADER_BYTES + n_sections * TABLE_ENTRY_BYTES > body.len() {
            return Err(corrupt(format!("unexpected section count {n_sections}")));
        }
        let mut ranges = [Range::default(); SECTIONS.len()];
        for (i, expected) in SECTIONS.iter().enumerate() {
            let e = &bytes[HEADER_BYTES + i * TABLE_ENTRY_BYTES..][..TABLE_ENTRY_BYTES];
            let kind = u32::from_le_bytes(e[0..4].try_into().unwrap());
            let start = u64::from_le_bytes(e[8..16].try_into().unwrap());
            let len = u64::from_le_bytes(e[16..24].try_into().unwrap());
            if kind != *expected as u32 || start % 8 != 0 || start.checked_add(len).is_none_or(|end| end > body.len() as u64) {
                return Err(corrupt(format!("section {i} is out of bounds")));
            }
            ranges[i] = Range { start: start as usize, len: len as usize };
        }
        let seg = Segment { path: path.into(), map: Some(map), n_docs, n_terms, ranges };
        seg.check_shape().map_err(corrupt)?;
        Ok(seg)
    }

    /// An empty segment for a new index.
    pub fn empty() -> Segment {
        Segment { path: PathBuf::new(), map: None, n_docs: 0, n_terms: 0, ranges: [Range::default(); SECTIONS.len()] }
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
    /// later accessors cannot index out of range.
    fn check_shape(&self) -> std::result::Result<(), String> {
        let (n, t) = (self.n_docs, self.n_terms);
        let postings = self.u64_at(Section::PostingStarts);
        if postings.len() != t + 1 || postings[0] != 0 {
            return Err("postings table has the wrong size".into());
        }
        let total = *postings.last().unwrap() as usize;
        let want = [
            (Section::TermEnds, 8 * t),
            (Section::PostingDocs, 4 * total),
            (Section::PostingFreqs, 4 * total),
            (Section::DocLens, 4 * n),
            (Section::DocLangs, 2 * n),
            (Section::DocKeys, 8 * n),
            (Section::IdEnds, 8 * n),
            (Section::TextEnds, 8 * n),
            (Section::MetaEnds, 8 * n),
            (Section::IdOrder, 4 * n),
        ];
        for (s, len) in want {
            if self.bytes(s).len() != len {
                return Err(format!("section {s:?} has {} bytes, expected {len}", self.bytes(s).len()));
            }
        }
        if !postings.windows(2).all(|w| w[0] <= w[1]) {
            return Err("postings offsets are not monotonic".into());
        }
        for (ends, bytes) in [
            (Section::TermEnds, Section::TermBytes),
            (Section::IdEnds, Section::IdBytes),
            (Section::TextEnds, Section::TextBytes),
            (Section::MetaEnds, Section::MetaBytes),
            (Section::LangEnds, Section::LangBytes),
        ] {
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
        if self.u32_at(Section::PostingDocs).iter().any(|&d| d as usize >= n) {
            return Err("postings name a document that does not exist".into());
        }
        Ok(())
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

    fn string(&self, ends: Section, bytes: Section, i: usize) -> &str {
        let e = self.u64_at(ends);
        let start = if i == 0 { 0 } else { e[i - 1] as usize };
        let b = &self.bytes(bytes)[start..e[i] as usize];
        // Written from &str and covered by the checksum; a crafted file yields replacement-free lossy text.
        std::str::from_utf8(b).unwrap_or("\u{FFFD}")
    }

    pub fn term(&self, t: usize) -> &str {
        self.string(Section::TermEnds, Section::TermBytes, t)
    }

    /// Binary search over the sorted term table.
    pub fn find_term(&self, term: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.n_terms);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.term(mid).as_bytes().cmp(term.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// (document numbers, term frequencies) of term number `t`.
    pub fn postings(&self, t: usize) -> (&[u32], &[u32]) {
        let starts = self.u64_at(Section::PostingStarts);
        let (a, b) = (starts[t] as usize, starts[t + 1] as usize);
        (&self.u32_at(Section::PostingDocs)[a..b], &self.u32_at(Section::PostingFreqs)[a..b])
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
    pub fn text(&self, d: usize) -> &str {
        self.string(Section::TextEnds, Section::TextBytes, d)
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
            let (docs, freqs) = self.postings(t);
            if !docs.windows(2).all(|w| w[0] < w[1]) {
                problems.push(format!("postings of term {term:?} are not strictly increasing"));
            }
            for (&d, &f) in docs.iter().zip(freqs) {
                if f == 0 {
                    problems.push(format!("zero frequency in postings of {term:?}"));
                }
                len_from_postings[d as usize] += f as u64;
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
        for (ends, bytes, what) in [
            (Section::IdEnds, Section::IdBytes, "id"),
            (Section::TextEnds, Section::TextBytes, "text"),
            (Section::MetaEnds, Section::MetaBytes, "metadata"),
        ] {
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
