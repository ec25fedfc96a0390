//! Writes a segment file in the current format (version 2; see [`super::segment`] for the layout).

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use super::segment::{Section, FOOTER_BYTES, FOOTER_MAGIC, HEADER_BYTES, SECTIONS_V2, SEGMENT_FORMAT_VERSION, SEGMENT_MAGIC, TABLE_ENTRY_BYTES};
use super::texts::pack_texts_into;
use crate::error::{Error, Result};
use crate::lexical::postings::{self, Postings};

/// One term's postings as the writer receives them.
pub enum ListSource<'a> {
    /// Plain arrays are compressed, a compressed list (of a segment whose document numbers and lengths
    /// are unchanged) is copied as it is.
    Borrowed(Postings<'a>),
    /// A list merged for this segment (dropped once compressed).
    Owned(Vec<u32>, Vec<u32>),
}

/// Everything a segment holds, in the order the writer needs it.
pub struct SegmentData<'a> {
    /// Every term with its postings, terms sorted bytewise, postings by document number, none empty;
    /// produced one at a time and written to the file as they come, so no two are held together.
    pub lists: Box<dyn Iterator<Item = Result<(&'a str, ListSource<'a>)>> + 'a>,
    pub doc_lens: &'a [u32],
    pub doc_langs: &'a [u16],
    pub doc_keys: &'a [u64],
    pub ids: Vec<&'a str>,
    /// Every document's text in order, read once as the blocks are compressed.
    pub texts: Box<dyn Iterator<Item = Result<Cow<'a, str>>> + 'a>,
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

/// Writes a segment to `path` and fsyncs it; returns (bytes, crc32 of the body).
///
/// The two large sections are streamed to the file as they are made: the compressed postings, one
/// term's list at a time, and the compressed text blocks. The small ones (term, id and metadata tables,
/// per-document arrays) follow them; the header and section table, whose offsets are known only then,
/// are written last into the space left for them at the start, and the checksum of the whole is put
/// together from the header's and the rest's (CRC32 combines). So a commit holds the new segment's
/// tables in memory, never its postings or texts.
pub fn write_segment(path: &Path, data: SegmentData) -> Result<(u64, u32)> {
    #[cfg(not(target_endian = "little"))]
    compile_error!("the segment format is little endian");
    let ctx = || format!("writing {}", path.display());
    let file = File::create(path).map_err(|e| Error::io(ctx(), e))?;
    let table_end = (HEADER_BYTES + TABLE_ENTRY_BYTES * SECTIONS_V2.len()) as u64;
    let mut w = SectionWriter { out: BufWriter::with_capacity(1 << 20, file), crc: crc32fast::Hasher::new(), pos: 0 };
    let io = |e: std::io::Error| Error::io(ctx(), e);
    // Room for the header and table; not part of the running checksum, which starts after them.
    w.out.write_all(&vec![0u8; table_end as usize]).map_err(io)?;
    w.pos = table_end;
    let mut placed: Vec<(Section, u64, u64)> = Vec::with_capacity(SECTIONS_V2.len());

    let n_docs = data.doc_lens.len();
    w.pad8().map_err(io)?;
    let postings_at = w.pos;
    let mut posting_starts = vec![0u64];
    let (mut term_bytes, mut term_ends) = (Vec::new(), Vec::new());
    let mut buf = Vec::new();
    for item in data.lists {
        let (term, list) = item?;
        buf.clear();
        let encoded = match list {
            ListSource::Borrowed(Postings::Raw { docs, freqs }) => postings::encode(docs, freqs, data.doc_lens, &mut buf),
            ListSource::Owned(docs, freqs) => postings::encode(&docs, &freqs, data.doc_lens, &mut buf),
            ListSource::Borrowed(Postings::Packed(list)) => {
                buf.extend_from_slice(list.bytes());
                Ok(())
            }
        };
        encoded.map_err(|e| Error::InvalidInput(format!("{e} ({})", ctx())))?;
        w.write(&buf).map_err(io)?;
        posting_starts.push(w.pos - postings_at);
        term_bytes.extend_from_slice(term.as_bytes());
        term_ends.push(term_bytes.len() as u64);
    }
    placed.push((Section::PostingData, postings_at, w.pos - postings_at));
    let n_terms = term_ends.len();

    w.pad8().map_err(io)?;
    let texts_at = w.pos;
    let (text_ends, block_ends) = pack_texts_into(data.texts, |block| w.write(block).map_err(io))?;
    placed.push((Section::TextBytes, texts_at, w.pos - texts_at));

    let mut id_order: Vec<u32> = (0..n_docs as u32).collect();
    id_order.sort_unstable_by(|&a, &b| data.ids[a as usize].cmp(data.ids[b as usize]));
    let id_ends = string_ends(data.ids.iter().copied());
    let meta_ends = string_ends(data.metas.iter().copied());
    let lang_ends = string_ends(data.langs.iter().map(|s| s.as_str()));
    let small: [(Section, &[u8]); 12] = [
        (Section::TermEnds, u64s(&term_ends)),
        (Section::TermBytes, &term_bytes),
        (Section::PostingStarts, u64s(&posting_starts)),
        (Section::DocLens, u32s(data.doc_lens)),
        (Section::DocLangs, u16s(data.doc_langs)),
        (Section::DocKeys, u64s(data.doc_keys)),
        (Section::IdEnds, u64s(&id_ends)),
        (Section::TextEnds, u64s(&text_ends)),
        (Section::TextBlocks, u64s(&block_ends)),
        (Section::MetaEnds, u64s(&meta_ends)),
        (Section::IdOrder, u32s(&id_order)),
        (Section::LangEnds, u64s(&lang_ends)),
    ];
    let strings: [(Section, &[&str]); 2] = [(Section::IdBytes, &data.ids), (Section::MetaBytes, &data.metas)];
    let written: std::io::Result<()> = (|| {
        for (s, bytes) in small {
            w.pad8()?;
            placed.push((s, w.pos, bytes.len() as u64));
            w.write(bytes)?;
        }
        for (s, parts) in strings {
            w.pad8()?;
            let at = w.pos;
            for p in parts {
                w.write(p.as_bytes())?;
            }
            placed.push((s, at, w.pos - at));
        }
        w.pad8()?;
        let at = w.pos;
        for l in data.langs {
            w.write(l.as_bytes())?;
        }
        placed.push((Section::LangBytes, at, w.pos - at));
        Ok(())
    })();
    written.map_err(io)?;

    let mut head = Vec::with_capacity(table_end as usize);
    head.extend_from_slice(SEGMENT_MAGIC);
    head.extend_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&(SECTIONS_V2.len() as u32).to_le_bytes());
    head.extend_from_slice(&(n_docs as u64).to_le_bytes());
    head.extend_from_slice(&(n_terms as u64).to_le_bytes());
    for s in SECTIONS_V2 {
        let &(_, offset, len) = placed.iter().find(|p| p.0 == s).expect("every section is written");
        head.extend_from_slice(&(s as u32).to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        head.extend_from_slice(&offset.to_le_bytes());
        head.extend_from_slice(&len.to_le_bytes());
    }
    debug_assert_eq!(head.len() as u64, table_end);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&head);
    crc.combine(&w.crc);
    let crc = crc.finalize();
    let finished: std::io::Result<()> = (|| {
        w.out.write_all(&crc.to_le_bytes())?;
        w.out.write_all(FOOTER_MAGIC)?;
        w.pos += FOOTER_BYTES as u64;
        let mut file = w.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&head)?;
        file.sync_all()
    })();
    finished.map_err(io)?;
    Ok((w.pos, crc))
}
