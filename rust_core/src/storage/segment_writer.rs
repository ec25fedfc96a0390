//! Writes a segment file in the current format (version 2; see [`super::segment`] for the layout).

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::segment::{Section, FOOTER_BYTES, FOOTER_MAGIC, HEADER_BYTES, SECTIONS_V2, SEGMENT_FORMAT_VERSION, SEGMENT_MAGIC, TABLE_ENTRY_BYTES};
use super::texts::pack_texts;
use crate::error::{Error, Result};
use crate::lexical::postings::{self, Postings};

/// Everything a segment holds, in the order the writer needs it. Terms must be sorted bytewise and
/// postings sorted by document number.
pub struct SegmentData<'a> {
    pub terms: Vec<&'a str>,
    /// For each term, its postings: plain arrays are compressed, a compressed list (of a segment whose
    /// document numbers and lengths are unchanged) is copied as it is.
    pub postings: Vec<Postings<'a>>,
    pub doc_lens: &'a [u32],
    pub doc_langs: &'a [u16],
    pub doc_keys: &'a [u64],
    pub ids: Vec<&'a str>,
    /// Every document's text in order, read once as the blocks are compressed.
    pub texts: Box<dyn Iterator<Item = Cow<'a, str>> + 'a>,
    pub metas: Vec<&'a str>,
    pub langs: &'a [String],
}

/// Writes sections one after another while feeding the checksum.
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
    strings
        .map(|s| {
            end += s.len() as u64;
            end
        })
        .collect()
}

/// Writes a segment to `path` and fsyncs it; returns (bytes, crc32 of the body). Postings and texts are
/// compressed in memory first (so section lengths are known for the table), each a fraction of its
/// plain size.
pub fn write_segment(path: &Path, data: SegmentData) -> Result<(u64, u32)> {
    #[cfg(not(target_endian = "little"))]
    compile_error!("the segment format is little endian");
    let ctx = || format!("writing {}", path.display());
    let n_docs = data.doc_lens.len();
    let mut posting_starts = Vec::with_capacity(data.postings.len() + 1);
    let mut posting_data = Vec::new();
    posting_starts.push(0u64);
    for p in &data.postings {
        match p {
            Postings::Raw { docs, freqs } => postings::encode(docs, freqs, data.doc_lens, &mut posting_data)
                .map_err(|e| Error::InvalidInput(format!("{e} ({})", ctx())))?,
            Postings::Packed(list) => posting_data.extend_from_slice(list.bytes()),
        }
        posting_starts.push(posting_data.len() as u64);
    }
    let texts = pack_texts(data.texts);
    let mut id_order: Vec<u32> = (0..n_docs as u32).collect();
    id_order.sort_unstable_by(|&a, &b| data.ids[a as usize].cmp(data.ids[b as usize]));

    let term_ends = string_ends(data.terms.iter().copied());
    let id_ends = string_ends(data.ids.iter().copied());
    let meta_ends = string_ends(data.metas.iter().copied());
    let lang_ends = string_ends(data.langs.iter().map(|s| s.as_str()));

    let fixed: [(Section, &[u8]); 13] = [
        (Section::TermEnds, u64s(&term_ends)),
        (Section::PostingStarts, u64s(&posting_starts)),
        (Section::PostingData, &posting_data),
        (Section::DocLens, u32s(data.doc_lens)),
        (Section::DocLangs, u16s(data.doc_langs)),
        (Section::DocKeys, u64s(data.doc_keys)),
        (Section::IdEnds, u64s(&id_ends)),
        (Section::TextEnds, u64s(&texts.doc_ends)),
        (Section::TextBlocks, u64s(&texts.block_ends)),
        (Section::TextBytes, &texts.bytes),
        (Section::MetaEnds, u64s(&meta_ends)),
        (Section::IdOrder, u32s(&id_order)),
        (Section::LangEnds, u64s(&lang_ends)),
    ];
    let section_bytes = |s: Section| fixed.iter().find(|(k, _)| *k == s).map_or(&[][..], |(_, b)| *b);
    // String bytes are written piece by piece; their lengths are the last end offsets.
    let bytes_of = |s: Section| -> u64 {
        match s {
            Section::TermBytes => term_ends.last().copied().unwrap_or(0),
            Section::IdBytes => id_ends.last().copied().unwrap_or(0),
            Section::MetaBytes => meta_ends.last().copied().unwrap_or(0),
            Section::LangBytes => lang_ends.last().copied().unwrap_or(0),
            _ => section_bytes(s).len() as u64,
        }
    };
    let mut offset = (HEADER_BYTES + TABLE_ENTRY_BYTES * SECTIONS_V2.len()) as u64;
    let mut table = Vec::new();
    for s in SECTIONS_V2 {
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
        w.write(&(SECTIONS_V2.len() as u32).to_le_bytes())?;
        w.write(&(n_docs as u64).to_le_bytes())?;
        w.write(&(data.terms.len() as u64).to_le_bytes())?;
        w.write(&table)?;
        for s in SECTIONS_V2 {
            w.pad8()?;
            let strings: Option<Box<dyn Iterator<Item = &str>>> = match s {
                Section::TermBytes => Some(Box::new(data.terms.iter().copied())),
                Section::IdBytes => Some(Box::new(data.ids.iter().copied())),
                Section::MetaBytes => Some(Box::new(data.metas.iter().copied())),
                Section::LangBytes => Some(Box::new(data.langs.iter().map(|s| s.as_str()))),
                _ => None,
            };
            match strings {
                Some(strings) => {
                    for s in strings {
                        w.write(s.as_bytes())?;
                    }
                }
                None => w.write(section_bytes(s))?,
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
