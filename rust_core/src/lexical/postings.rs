//! Compressed postings (segment format version 2) and the cursors that walk them.
//!
//! One term's list, as bytes:
//!
//! ```text
//! header   varint df | varint max tf | varint min document length      (bounds of the whole list)
//! skips    when the list has more than one block, per block: last doc u32 | max tf u32 |
//!          min document length u32 | block offset u32 (from the first block)        (16 bytes each)
//! blocks   full block (128 postings): doc bits u8 | tf bits u8 | doc numbers, strictly-sorted delta
//!          coded and bit-packed | tf - 1 bit-packed;  the last block, when shorter: per posting
//!          varint doc delta | varint tf - 1
//! ```
//!
//! Doc deltas follow `bitpacking`'s strictly sorted codec: the list's first doc as it is, every later
//! one as `doc - previous - 1`. Blocks are BitPacker4x, the codec tantivy itself uses (the `bitpacking`
//! crate, kept by tantivy's authors): SIMD (SSE3/AVX2 chosen at run time) with a scalar fallback,
//! decoding 128 integers in tens of nanoseconds, safe to call with any byte slice of the right length.
//!
//! The bounds (max tf, min document length) bound a block's BM25 contribution for any k1, b, avgdl and
//! collection statistics: `tf / (tf + a + c·dl)` with `a, c >= 0` grows with tf and falls with dl, so
//! `w·max_tf / (max_tf + a + c·min_dl)` is at least every posting's `w·tf / (tf + a + c·dl)`.

use bitpacking::{BitPacker, BitPacker4x};

/// Postings per block.
pub const BLOCK: usize = BitPacker4x::BLOCK_LEN;
const SKIP_BYTES: usize = 16;

/// What bounds the BM25 contributions of a block or a list of postings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub max_tf: u32,
    pub min_dl: u32,
}

impl Bound {
    /// At least `w · tf / (tf + a + c · dl)` as f32 arithmetic computes it, for every posting the bound
    /// covers (w >= 0, a >= 0, c >= 0). Computed in f64 and raised by a relative 1e-6, far more than the
    /// few f32 roundings of the real formula can add.
    pub fn score(&self, w: f32, a: f32, c: f32) -> f64 {
        let tf = self.max_tf as f64;
        let den = tf + a as f64 + c as f64 * self.min_dl as f64;
        let ratio = if den > 0.0 { (tf / den).min(1.0) } else { 1.0 };
        w as f64 * ratio * (1.0 + 1e-6)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The varint at `*pos`, moving past it; None when it runs off the end or past 32 bits.
#[inline]
fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v = 0u32;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        if shift == 28 && b > 0x0f {
            return None;
        }
        v |= ((b & 0x7f) as u32) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Appends the encoding of one list (`docs` strictly increasing, `freqs` >= 1, `lens` indexed by doc).
/// Fails only when the list's blocks pass 4 GiB, which u32 block offsets cannot address.
pub fn encode(docs: &[u32], freqs: &[u32], lens: &[u32], out: &mut Vec<u8>) -> Result<(), String> {
    debug_assert!(!docs.is_empty() && docs.len() == freqs.len());
    let bound_of = |a: usize, b: usize| Bound {
        max_tf: freqs[a..b].iter().copied().max().unwrap_or(0),
        min_dl: docs[a..b].iter().map(|&d| lens[d as usize]).min().unwrap_or(0),
    };
    let df = docs.len();
    let whole = bound_of(0, df);
    put_varint(out, df as u32);
    put_varint(out, whole.max_tf);
    put_varint(out, whole.min_dl);
    let n_blocks = df.div_ceil(BLOCK);
    let skips_at = out.len();
    if n_blocks > 1 {
        out.resize(skips_at + SKIP_BYTES * n_blocks, 0);
    }
    let area = out.len();
    let packer = BitPacker4x::new();
    let mut buf = [0u8; 4 * BLOCK];
    for i in 0..n_blocks {
        let (a, b) = (i * BLOCK, ((i + 1) * BLOCK).min(df));
        let offset = u32::try_from(out.len() - area).map_err(|_| "a postings list passes 4 GiB".to_string())?;
        let prev = (i > 0).then(|| docs[a - 1]);
        if b - a == BLOCK {
            let tfs: Vec<u32> = freqs[a..b].iter().map(|f| f - 1).collect();
            let doc_bits = packer.num_bits_strictly_sorted(prev, &docs[a..b]);
            let tf_bits = packer.num_bits(&tfs);
            out.push(doc_bits);
            out.push(tf_bits);
            let n = packer.compress_strictly_sorted(prev, &docs[a..b], &mut buf, doc_bits);
            out.extend_from_slice(&buf[..n]);
            let n = packer.compress(&tfs, &mut buf, tf_bits);
            out.extend_from_slice(&buf[..n]);
        } else {
            let mut last = prev;
            for (&d, &f) in docs[a..b].iter().zip(&freqs[a..b]) {
                put_varint(out, last.map_or(d, |p| d - p - 1));
                put_varint(out, f - 1);
                last = Some(d);
            }
        }
        if n_blocks > 1 {
            let bound = bound_of(a, b);
            let at = skips_at + SKIP_BYTES * i;
            out[at..at + 4].copy_from_slice(&docs[b - 1].to_le_bytes());
            out[at + 4..at + 8].copy_from_slice(&bound.max_tf.to_le_bytes());
            out[at + 8..at + 12].copy_from_slice(&bound.min_dl.to_le_bytes());
            out[at + 12..at + 16].copy_from_slice(&offset.to_le_bytes());
        }
    }
    u32::try_from(out.len() - area).map_err(|_| "a postings list passes 4 GiB".to_string())?;
    Ok(())
}

/// One term's encoded list, parsed as far as its header and skip table.
#[derive(Debug, Clone, Copy)]
pub struct PackedList<'a> {
    bytes: &'a [u8],
    df: u32,
    bound: Bound,
    n_blocks: usize,
    skips: &'a [u8],
    area: &'a [u8],
}

impl<'a> PackedList<'a> {
    /// Reads the header and checks that the skip table fits (a query parses each of its terms' lists;
    /// [`PackedList::validate`], at open, checks the rest).
    pub fn parse(bytes: &'a [u8]) -> Result<PackedList<'a>, String> {
        let mut pos = 0;
        let mut next = || get_varint(bytes, &mut pos).ok_or_else(|| "postings header is truncated".to_string());
        let (df, max_tf, min_dl) = (next()?, next()?, next()?);
        if df == 0 || max_tf == 0 {
            return Err("a postings list is empty or has a zero frequency bound".into());
        }
        let n_blocks = (df as usize).div_ceil(BLOCK);
        let skip_len = if n_blocks > 1 { SKIP_BYTES * n_blocks } else { 0 };
        if bytes.len() - pos < skip_len {
            return Err("postings skip table is truncated".into());
        }
        let (skips, area) = bytes[pos..].split_at(skip_len);
        Ok(PackedList { bytes, df, bound: Bound { max_tf, min_dl }, n_blocks, skips, area })
    }

    pub fn df(&self) -> u32 {
        self.df
    }
    /// The list's whole encoding (a commit copies a list nothing changed under as it is).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn bound(&self) -> Bound {
        self.bound
    }
    pub fn n_blocks(&self) -> usize {
        self.n_blocks
    }

    /// Bytes of a full block's packed data, from its two bit widths at `at` (0 when they are invalid,
    /// which the offset check then refuses).
    fn packed_bytes(&self, at: usize) -> usize {
        match (self.area.get(at), self.area.get(at + 1)) {
            (Some(&d), Some(&t)) if d <= 32 && t <= 32 => BitPacker4x::compressed_block_size(d) + BitPacker4x::compressed_block_size(t),
            _ => usize::MAX - 2,
        }
    }

    fn block_offset(&self, i: usize) -> usize {
        if self.n_blocks == 1 {
            return 0;
        }
        le_u32(self.skips, SKIP_BYTES * i + 12) as usize
    }

    fn block_range(&self, i: usize) -> (usize, usize) {
        let end = if i + 1 < self.n_blocks { self.block_offset(i + 1) } else { self.area.len() };
        (self.block_offset(i), end)
    }

    /// Postings in block `i`.
    pub fn block_len(&self, i: usize) -> usize {
        if i + 1 < self.n_blocks {
            BLOCK
        } else {
            self.df as usize - (self.n_blocks - 1) * BLOCK
        }
    }

    /// The last document of block `i` (only known without decoding when there is a skip table).
    pub fn block_last(&self, i: usize) -> Option<u32> {
        (self.n_blocks > 1).then(|| le_u32(self.skips, SKIP_BYTES * i))
    }

    /// The bound of block `i`: its own when there is a skip table, else the list's.
    pub fn block_bound(&self, i: usize) -> Bound {
        if self.n_blocks == 1 {
            return self.bound;
        }
        let at = SKIP_BYTES * i;
        Bound { max_tf: le_u32(self.skips, at + 4), min_dl: le_u32(self.skips, at + 8) }
    }

    /// Decodes block `i` into `docs` and `tfs`; returns its length, or None when its bytes are malformed
    /// (never for a list [`PackedList::validate`] accepted).
    pub fn decode_block(&self, i: usize, docs: &mut [u32; BLOCK], tfs: &mut [u32; BLOCK]) -> Option<usize> {
        let (a, b) = self.block_range(i);
        let bytes = self.area.get(a..b)?;
        let prev = if i == 0 { None } else { Some(self.block_last(i - 1)?) };
        let len = self.block_len(i);
        if len == BLOCK {
            let (&doc_bits, &tf_bits) = (bytes.first()?, bytes.get(1)?);
            if doc_bits > 32 || tf_bits > 32 {
                return None;
            }
            let (nd, nt) = (BitPacker4x::compressed_block_size(doc_bits), BitPacker4x::compressed_block_size(tf_bits));
            if bytes.len() != 2 + nd + nt {
                return None;
            }
            let packer = BitPacker4x::new();
            packer.decompress_strictly_sorted(prev, &bytes[2..2 + nd], docs, doc_bits);
            packer.decompress(&bytes[2 + nd..], tfs, tf_bits);
            for t in tfs.iter_mut() {
                *t = t.wrapping_add(1);
            }
        } else {
            let mut pos = 0;
            let mut last = prev;
            for (doc, tf) in docs.iter_mut().zip(tfs.iter_mut()).take(len) {
                let delta = get_varint(bytes, &mut pos)?;
                let d = match last {
                    None => delta,
                    Some(p) => p.checked_add(delta)?.checked_add(1)?,
                };
                *doc = d;
                *tf = get_varint(bytes, &mut pos)?.checked_add(1)?;
                last = Some(d);
            }
            if pos != bytes.len() {
                return None;
            }
        }
        Some(len)
    }

    /// Decodes the whole list and checks it: documents strictly increasing and below `lens.len()`,
    /// frequencies >= 1, every block's last document as its skip entry says, every posting within its
    /// block's and the list's bounds.
    pub fn validate(&self, lens: &[u32]) -> Result<(), String> {
        for i in 0..self.n_blocks {
            let (a, b) = self.block_range(i);
            if a > b || b > self.area.len() || (i + 1 < self.n_blocks && b - a != 2 + self.packed_bytes(a)) {
                return Err("postings block offsets are inconsistent".into());
            }
        }
        let (mut docs, mut tfs) = ([0u32; BLOCK], [0u32; BLOCK]);
        let mut last: Option<u32> = None;
        for i in 0..self.n_blocks {
            let n = self.decode_block(i, &mut docs, &mut tfs).ok_or("a postings block is malformed")?;
            let bound = self.block_bound(i);
            if bound.max_tf > self.bound.max_tf || bound.min_dl < self.bound.min_dl {
                return Err("a postings block's bounds exceed its list's".into());
            }
            for (&d, &tf) in docs[..n].iter().zip(&tfs[..n]) {
                if last.is_some_and(|l| d <= l) {
                    return Err("postings are not strictly increasing".into());
                }
                let Some(&dl) = lens.get(d as usize) else { return Err("postings name a document that does not exist".into()) };
                if tf == 0 || tf > bound.max_tf || dl < bound.min_dl {
                    return Err("a posting lies outside its block's bounds".into());
                }
                last = Some(d);
            }
            if self.block_last(i).is_some_and(|l| Some(l) != last) {
                return Err("a postings skip entry names the wrong last document".into());
            }
        }
        Ok(())
    }

    /// Calls `f(doc, tf)` for every posting, in order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u32, u32)) {
        let (mut docs, mut tfs) = ([0u32; BLOCK], [0u32; BLOCK]);
        for i in 0..self.n_blocks {
            let n = self.decode_block(i, &mut docs, &mut tfs).unwrap_or(0);
            for (&d, &t) in docs[..n].iter().zip(&tfs[..n]) {
                f(d, t);
            }
        }
    }
}

/// A postings list as a segment or the pending documents hold it.
#[derive(Debug, Clone, Copy)]
pub enum Postings<'a> {
    /// Version 1 segments and pending documents: plain arrays.
    Raw { docs: &'a [u32], freqs: &'a [u32] },
    Packed(PackedList<'a>),
}

impl<'a> Postings<'a> {
    pub fn df(&self) -> usize {
        match self {
            Postings::Raw { docs, .. } => docs.len(),
            Postings::Packed(p) => p.df as usize,
        }
    }

    /// Calls `f(doc, tf)` for every posting, in order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(u32, u32)) {
        match self {
            Postings::Raw { docs, freqs } => docs.iter().zip(*freqs).for_each(|(&d, &t)| f(d, t)),
            Postings::Packed(p) => p.for_each(f),
        }
    }

    /// The documents and frequencies as arrays.
    pub fn to_vecs(&self) -> (Vec<u32>, Vec<u32>) {
        let (mut docs, mut freqs) = (Vec::with_capacity(self.df()), Vec::with_capacity(self.df()));
        self.for_each(|d, t| {
            docs.push(d);
            freqs.push(t);
        });
        (docs, freqs)
    }
}

/// Sentinel document number of an exhausted cursor.
pub const END: u32 = u32::MAX;

/// Walks a list block by block in document order, with document numbers offset by `base`; skips whole
/// blocks by their last document without decoding them.
pub struct Cursor<'a> {
    src: Postings<'a>,
    base: u32,
    n_blocks: usize,
    block: usize,
    docs: [u32; BLOCK],
    tfs: [u32; BLOCK],
    len: usize,
    pos: usize,
    /// The block [`Cursor::block_at`] last found (never behind `block`'s start): every block before it
    /// ends before a target already asked for, so later lookups, whose targets only grow, start there
    /// instead of walking the skip table again from the decoded block.
    shallow: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(src: Postings<'a>, base: u32) -> Cursor<'a> {
        let n_blocks = src.df().div_ceil(BLOCK);
        let mut c = Cursor { src, base, n_blocks, block: 0, docs: [END; BLOCK], tfs: [0; BLOCK], len: 0, pos: 0, shallow: 0 };
        c.load(0);
        c
    }

    /// Loads block `i` (or ends the cursor past the last block). Only a malformed block (which a
    /// validated segment does not have) decodes empty; the cursor then moves on to the next one.
    fn load(&mut self, mut i: usize) {
        self.pos = 0;
        self.len = 0;
        while self.len == 0 && i < self.n_blocks {
            match self.src {
                Postings::Raw { docs, freqs } => {
                    let (a, b) = (i * BLOCK, ((i + 1) * BLOCK).min(docs.len()));
                    self.len = b - a;
                    self.docs[..self.len].copy_from_slice(&docs[a..b]);
                    self.tfs[..self.len].copy_from_slice(&freqs[a..b]);
                }
                Postings::Packed(p) => self.len = p.decode_block(i, &mut self.docs, &mut self.tfs).unwrap_or(0),
            }
            if self.len == 0 {
                i += 1;
            }
        }
        self.block = i.min(self.n_blocks);
        if self.base != 0 {
            for d in &mut self.docs[..self.len] {
                *d = d.saturating_add(self.base);
            }
        }
    }

    /// The current document ([`END`] when exhausted).
    #[inline]
    pub fn doc(&self) -> u32 {
        if self.pos < self.len {
            self.docs[self.pos]
        } else {
            END
        }
    }

    #[inline]
    pub fn tf(&self) -> u32 {
        self.tfs[self.pos]
    }

    /// Moves to the next posting.
    #[inline]
    pub fn step(&mut self) {
        self.pos += 1;
        if self.pos >= self.len && self.block < self.n_blocks {
            self.load(self.block + 1);
        }
    }

    /// The last document of block `i`, offset by base, without decoding it (None when unknown).
    fn block_last(&self, i: usize) -> Option<u32> {
        match self.src {
            Postings::Raw { docs, .. } => docs.get(((i + 1) * BLOCK).min(docs.len()).checked_sub(1)?).map(|d| d.saturating_add(self.base)),
            Postings::Packed(p) => p.block_last(i).map(|d| d.saturating_add(self.base)),
        }
    }

    /// The first block at or after `from` whose last document is >= `target` (or the last block).
    #[inline]
    fn block_reaching(&self, from: usize, target: u32) -> usize {
        let mut b = from;
        while b + 1 < self.n_blocks && self.block_last(b).is_some_and(|l| l < target) {
            b += 1;
        }
        b
    }

    /// Where a lookup for `target` may start: the shallow block when the block before it ends before
    /// `target` (always, when targets only grow), else the decoded one.
    #[inline]
    fn lookup_start(&self, target: u32) -> usize {
        if self.shallow > self.block && self.block_last(self.shallow - 1).is_some_and(|l| l < target) {
            self.shallow
        } else {
            self.block
        }
    }

    /// Moves to the first document >= `target`.
    #[inline]
    pub fn advance(&mut self, target: u32) {
        if self.doc() >= target {
            return;
        }
        let b = self.block_reaching(self.lookup_start(target), target);
        if b != self.block {
            self.load(b);
        }
        loop {
            while self.pos < self.len && self.docs[self.pos] < target {
                self.pos += 1;
            }
            if self.pos < self.len || self.block >= self.n_blocks {
                return;
            }
            self.load(self.block + 1);
        }
    }

    /// The bound of the block that holds the first document >= `target`, and that block's last document
    /// (None for the last block of a one-block list), found from the skip table without decoding (and
    /// remembered, so that a walk asking for growing targets reads each skip entry about once). None for
    /// plain arrays, whose blocks carry no bounds, and past the end.
    pub fn block_at(&mut self, target: u32) -> Option<(Bound, Option<u32>)> {
        let Postings::Packed(p) = self.src else { return None };
        let b = self.block_reaching(self.lookup_start(target), target);
        self.shallow = b;
        (b < self.n_blocks).then(|| (p.block_bound(b), self.block_last(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(docs: &[u32], freqs: &[u32], lens: &[u32]) {
        let mut bytes = Vec::new();
        encode(docs, freqs, lens, &mut bytes).unwrap();
        let list = PackedList::parse(&bytes).unwrap();
        list.validate(lens).unwrap();
        assert_eq!(list.df() as usize, docs.len());
        let (d, f) = Postings::Packed(list).to_vecs();
        assert_eq!((d.as_slice(), f.as_slice()), (docs, freqs));
        // Every prefix of the bytes but the whole is refused, at parse or by validate.
        for cut in 0..bytes.len() {
            if let Ok(l) = PackedList::parse(&bytes[..cut]) {
                assert!(l.validate(lens).is_err(), "cut at {cut} accepted");
            }
        }
    }

    #[test]
    fn lists_of_every_shape_round_trip() {
        let lens: Vec<u32> = (0..100_000u32).map(|i| 1 + i % 37).collect();
        roundtrip(&[0], &[1], &lens);
        roundtrip(&[99_999], &[70_000], &lens);
        for n in [127usize, 128, 129, 256, 300, 1000] {
            let docs: Vec<u32> = (0..n as u32).map(|i| i * 7 + (i % 3)).collect();
            let freqs: Vec<u32> = (0..n as u32).map(|i| 1 + (i * i) % 11).collect();
            roundtrip(&docs, &freqs, &lens);
            let dense: Vec<u32> = (0..n as u32).collect();
            roundtrip(&dense, &vec![1; n], &lens);
        }
    }

    #[test]
    fn cursors_advance_across_blocks() {
        let lens = vec![5u32; 10_000];
        let docs: Vec<u32> = (0..1000u32).map(|i| i * 9).collect();
        let freqs = vec![2u32; docs.len()];
        let mut bytes = Vec::new();
        encode(&docs, &freqs, &lens, &mut bytes).unwrap();
        let packed = Postings::Packed(PackedList::parse(&bytes).unwrap());
        let raw = Postings::Raw { docs: &docs, freqs: &freqs };
        for src in [packed, raw] {
            let mut c = Cursor::new(src, 100);
            assert_eq!(c.doc(), 100);
            c.advance(100 + 9 * 500 + 1);
            assert_eq!(c.doc(), 100 + 9 * 501);
            c.advance(100 + 9 * 999);
            assert_eq!(c.doc(), 100 + 9 * 999);
            c.step();
            assert_eq!(c.doc(), END);
            c.advance(u32::MAX);
            assert_eq!(c.doc(), END);
        }
    }

    #[test]
    fn varints_refuse_overlong_input() {
        let mut pos = 0;
        assert_eq!(get_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f], &mut pos), Some(u32::MAX));
        pos = 0;
        assert_eq!(get_varint(&[0xff, 0xff, 0xff, 0xff, 0x10], &mut pos), None);
        pos = 0;
        assert_eq!(get_varint(&[0x80], &mut pos), None);
    }
}
