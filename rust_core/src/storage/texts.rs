//! The compressed document store of a version 2 segment: documents' texts concatenated in order, cut
//! into blocks of about [`TEXT_BLOCK_BYTES`] (a document never straddles two), each block compressed
//! with LZ4 on its own.
//!
//! LZ4 (the `lz4_flex` crate: pure Rust, so no C library to build, with a safe decoder that refuses
//! malformed input rather than reading out of bounds) over zstd: a snippet or `get` decompresses one
//! block, which LZ4 does at several GB/s (a 16 KB block in microseconds), and tantivy's own document store
//! defaults to LZ4 blocks of 16 KB too, so sizes compare like for like. zstd would shrink text by perhaps
//! a further quarter at several times the decode time and a C build.
//!
//! Sections: per document the end offset of its text in the uncompressed concatenation (u64, as in
//! version 1); per block (uncompressed end, compressed end) as two u64s; the compressed blocks.

use std::borrow::Cow;

/// A block is closed once it holds at least this many bytes of text.
pub const TEXT_BLOCK_BYTES: usize = 16 * 1024;
/// LZ4 cannot expand more than 255 to 1; a block claiming more is refused before anything is allocated.
const MAX_RATIO: u64 = 255;

/// Texts compressed in memory (the tests' form; the segment writer streams blocks with [`pack_texts_into`]).
#[cfg(test)]
#[derive(Default)]
pub struct PackedTexts {
    pub doc_ends: Vec<u64>,
    /// Per block: uncompressed end, compressed end.
    pub block_ends: Vec<u64>,
    pub bytes: Vec<u8>,
}

/// Compresses `texts` (in document order) into blocks; stops at the first text that could not be read.
#[cfg(test)]
pub fn pack_texts<'s, E>(texts: impl Iterator<Item = Result<Cow<'s, str>, E>>) -> Result<PackedTexts, E> {
    let mut bytes = Vec::new();
    let (doc_ends, block_ends) = pack_texts_into(texts, |block| {
        bytes.extend_from_slice(block);
        Ok(())
    })?;
    Ok(PackedTexts { doc_ends, block_ends, bytes })
}

/// [`pack_texts`] handing each compressed block to `sink` as it is made (so a writer can stream them to
/// a file); returns the document ends and the block ends.
pub fn pack_texts_into<'s, E>(texts: impl Iterator<Item = Result<Cow<'s, str>, E>>,
                              mut sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(Vec<u64>, Vec<u64>), E> {
    let (mut doc_ends, mut block_ends) = (Vec::new(), Vec::new());
    let mut block: Vec<u8> = Vec::with_capacity(2 * TEXT_BLOCK_BYTES);
    let (mut end, mut compressed_end) = (0u64, 0u64);
    let mut flush = |block: &mut Vec<u8>, end: u64, block_ends: &mut Vec<u64>| -> Result<(), E> {
        let packed = lz4_flex::block::compress(block);
        sink(&packed)?;
        compressed_end += packed.len() as u64;
        block_ends.push(end);
        block_ends.push(compressed_end);
        block.clear();
        Ok(())
    };
    for text in texts {
        let text = text?;
        block.extend_from_slice(text.as_bytes());
        end += text.len() as u64;
        doc_ends.push(end);
        if block.len() >= TEXT_BLOCK_BYTES {
            flush(&mut block, end, &mut block_ends)?;
        }
    }
    if !block.is_empty() {
        flush(&mut block, end, &mut block_ends)?;
    }
    Ok((doc_ends, block_ends))
}

/// The document store read in place from a segment's sections.
#[derive(Clone, Copy)]
pub struct TextStore<'a> {
    pub doc_ends: &'a [u64],
    pub block_ends: &'a [u64],
    pub bytes: &'a [u8],
}

/// Where a document's text lies: block, and byte range within the block's uncompressed text.
struct Place {
    block: usize,
    start: usize,
    end: usize,
}

impl<'a> TextStore<'a> {
    fn n_blocks(&self) -> usize {
        self.block_ends.len() / 2
    }
    fn uncompressed(&self, b: usize) -> (u64, u64) {
        (if b == 0 { 0 } else { self.block_ends[2 * b - 2] }, self.block_ends[2 * b])
    }
    fn compressed(&self, b: usize) -> (u64, u64) {
        (if b == 0 { 0 } else { self.block_ends[2 * b - 1] }, self.block_ends[2 * b + 1])
    }

    /// Structure checks made at open: blocks in order and in bounds, sizes LZ4 can produce, and every
    /// document inside one block.
    pub fn check(&self) -> Result<(), String> {
        if !self.block_ends.len().is_multiple_of(2) {
            return Err("text block table has an odd length".into());
        }
        let n = self.n_blocks();
        let total = self.doc_ends.last().copied().unwrap_or(0);
        let (mut u, mut c) = (0u64, 0u64);
        for b in 0..n {
            let ((u0, u1), (c0, c1)) = (self.uncompressed(b), self.compressed(b));
            if u0 != u || c0 != c || u1 <= u0 || c1 <= c0 || u1 - u0 > (c1 - c0).saturating_mul(MAX_RATIO).saturating_add(64) {
                return Err(format!("text block {b} is inconsistent"));
            }
            (u, c) = (u1, c1);
        }
        if u != total || c != self.bytes.len() as u64 {
            return Err("text blocks do not cover the texts".into());
        }
        let mut b = 0usize;
        let mut start = 0u64;
        for (d, &end) in self.doc_ends.iter().enumerate() {
            if end < start {
                return Err("text offsets are not monotonic".into());
            }
            if end > start {
                while b < n && self.uncompressed(b).1 <= start {
                    b += 1;
                }
                if b == n || end > self.uncompressed(b).1 {
                    return Err(format!("document {d}'s text straddles two blocks"));
                }
            }
            start = end;
        }
        Ok(())
    }

    /// Where document `d`'s text lies; Ok(None) for an empty text, Err when `d` or its offsets are bad.
    fn place(&self, d: usize) -> Result<Option<Place>, ()> {
        let start = if d == 0 { 0 } else { *self.doc_ends.get(d - 1).ok_or(())? };
        let end = *self.doc_ends.get(d).ok_or(())?;
        if end == start {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0usize, self.n_blocks());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.uncompressed(mid).1 <= start {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == self.n_blocks() {
            return Err(());
        }
        let (u0, u1) = self.uncompressed(lo);
        if start < u0 || end > u1 || end < start {
            return Err(());
        }
        Ok(Some(Place { block: lo, start: (start - u0) as usize, end: (end - u0) as usize }))
    }

    /// Decompresses block `b` into `buf`.
    fn decompress(&self, b: usize, buf: &mut Vec<u8>) -> Result<(), String> {
        let ((u0, u1), (c0, c1)) = (self.uncompressed(b), self.compressed(b));
        let input = self.bytes.get(c0 as usize..c1 as usize).ok_or("text block out of bounds")?;
        buf.clear();
        buf.resize((u1 - u0) as usize, 0);
        match lz4_flex::block::decompress_into(input, buf) {
            Ok(n) if n == buf.len() => Ok(()),
            _ => Err(format!("text block {b} does not decompress")),
        }
    }

    /// The text of document `d` (replacement text when its block is damaged, which [`Self::verify`]
    /// reports).
    pub fn text(&self, d: usize) -> Cow<'a, str> {
        let mut reader = TextReader::new(*self);
        Cow::Owned(reader.text(d).to_string())
    }

    /// Every block decompressed and every document's text checked to be UTF-8; the problems found.
    pub fn verify(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut reader = TextReader::new(*self);
        for b in 0..self.n_blocks() {
            if let Err(e) = self.decompress(b, &mut reader.buf) {
                problems.push(e);
            }
        }
        for d in 0..self.doc_ends.len() {
            if reader.try_text(d).is_err() {
                problems.push(format!("document {d}: text is not valid UTF-8"));
                break;
            }
        }
        problems
    }
}

/// Reads texts with the last decompressed block kept, so reading documents in order decompresses
/// each block once (a commit rewrites every text).
pub struct TextReader<'a> {
    store: TextStore<'a>,
    block: Option<usize>,
    buf: Vec<u8>,
}

impl<'a> TextReader<'a> {
    pub fn new(store: TextStore<'a>) -> TextReader<'a> {
        TextReader { store, block: None, buf: Vec::new() }
    }

    fn try_text(&mut self, d: usize) -> Result<&str, ()> {
        let Some(p) = self.store.place(d)? else { return Ok("") };
        if self.block != Some(p.block) {
            self.block = None;
            self.store.decompress(p.block, &mut self.buf).map_err(|_| ())?;
            self.block = Some(p.block);
        }
        std::str::from_utf8(&self.buf[p.start..p.end]).map_err(|_| ())
    }

    /// The text of document `d`; replacement text when it cannot be read.
    pub fn text(&mut self, d: usize) -> &str {
        self.try_text(d).unwrap_or("\u{FFFD}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_of(p: &PackedTexts) -> TextStore<'_> {
        TextStore { doc_ends: &p.doc_ends, block_ends: &p.block_ends, bytes: &p.bytes }
    }

    #[test]
    fn texts_round_trip_across_blocks() {
        let texts: Vec<String> = (0..2000).map(|i| if i % 7 == 0 { String::new() } else { format!("Document {i} über 北京 {}", "x".repeat(i % 50)) }).collect();
        let packed = pack_texts(texts.iter().map(|t| Ok::<_, ()>(Cow::Borrowed(t.as_str())))).unwrap();
        assert!(packed.block_ends.len() > 4, "several blocks");
        let store = store_of(&packed);
        store.check().unwrap();
        assert!(store.verify().is_empty());
        let mut reader = TextReader::new(store);
        for (d, t) in texts.iter().enumerate() {
            assert_eq!(reader.text(d), t);
            assert_eq!(store.text(d), t.as_str());
        }
        let big = "y".repeat(100_000);
        let packed = pack_texts([Cow::Borrowed("a"), Cow::Borrowed(big.as_str()), Cow::Borrowed("b")].into_iter().map(Ok::<_, ()>)).unwrap();
        let store = store_of(&packed);
        store.check().unwrap();
        assert_eq!(store.text(1), big.as_str());
        assert_eq!(store.text(2), "b");
    }

    #[test]
    fn damaged_blocks_read_as_replacement_text() {
        let texts: Vec<String> = (0..100).map(|i| format!("text number {i}")).collect();
        let mut packed = pack_texts(texts.iter().map(|t| Ok::<_, ()>(Cow::Borrowed(t.as_str())))).unwrap();
        for b in packed.bytes.iter_mut() {
            *b = 0xff;
        }
        let store = store_of(&packed);
        store.check().unwrap();
        assert_eq!(store.text(3), "\u{FFFD}");
        assert!(!store.verify().is_empty());
    }
}
