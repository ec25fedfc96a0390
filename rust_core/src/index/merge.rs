//! The commit's merge of postings: the committed segment's lists, the spilled runs' and the in-memory
//! ones, term by term in byte order (a k-way merge of sorted term lists), each list renumbered to the
//! new segment's documents. One term's merged list exists at a time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::pending::MemoryList;
use crate::error::{Error, Result};
use crate::lexical::Postings;
use crate::storage::run::Run;
use crate::storage::segment::Segment;
use crate::storage::segment_writer::ListSource;

/// Where a term's list comes from: the segment, a run (by number), or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Base,
    Run(usize),
    Memory,
}

pub(super) struct MergedLists<'a> {
    base: &'a Segment,
    runs: &'a [Run],
    memory: Vec<(&'a str, &'a MemoryList)>,
    /// Old document number (segment first, then pending) -> new one, u32::MAX for the deleted.
    remap: &'a [u32],
    /// When no committed document was deleted, a segment list no pending document adds to is copied as
    /// it is.
    base_unchanged: bool,
    heap: BinaryHeap<Reverse<(&'a str, Source, usize)>>,
}

impl<'a> MergedLists<'a> {
    pub(super) fn new(base: &'a Segment, runs: &'a [Run], memory: Vec<(&'a str, &'a MemoryList)>,
                      remap: &'a [u32], base_unchanged: bool) -> MergedLists<'a> {
        let mut m = MergedLists { base, runs, memory, remap, base_unchanged, heap: BinaryHeap::new() };
        m.memory.sort_unstable_by(|a, b| a.0.cmp(b.0));
        m.push(Source::Base, 0);
        for r in 0..runs.len() {
            m.push(Source::Run(r), 0);
        }
        m.push(Source::Memory, 0);
        m
    }

    fn push(&mut self, src: Source, i: usize) {
        let term = match src {
            Source::Base => (i < self.base.n_terms()).then(|| self.base.term(i)),
            Source::Run(r) => (i < self.runs[r].n_terms()).then(|| self.runs[r].term(i)),
            Source::Memory => self.memory.get(i).map(|m| m.0),
        };
        if let Some(t) = term {
            self.heap.push(Reverse((t, src, i)));
        }
    }

    /// Appends the list of `src`'s term `i` to `docs`/`freqs`, renumbered, the deleted left out.
    fn append(&self, src: Source, i: usize, docs: &mut Vec<u32>, freqs: &mut Vec<u32>) -> Result<()> {
        let nb = self.base.n_docs();
        let mut add = |old: usize, f: u32| {
            if let Some(&new) = self.remap.get(old).filter(|&&n| n != u32::MAX) {
                docs.push(new);
                freqs.push(f);
            }
        };
        match src {
            Source::Base => self.base.postings(i).for_each(|d, f| add(d as usize, f)),
            Source::Run(r) => {
                let list = self.runs[r].postings(i).ok_or_else(|| {
                    Error::io("reading a spilled postings run", std::io::Error::other("a list was damaged on disk"))
                })?;
                Postings::Packed(list).for_each(|d, f| add(nb + d as usize, f));
            }
            Source::Memory => {
                let (d, f) = self.memory[i].1;
                d.iter().zip(f).for_each(|(&d, &f)| add(nb + d as usize, f));
            }
        }
        Ok(())
    }
}

impl<'a> Iterator for MergedLists<'a> {
    type Item = Result<(&'a str, ListSource<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Reverse((term, src, i)) = self.heap.pop()?;
            // The heap orders equal terms by source, so the segment's list comes first, then the runs'
            // in order, then memory's: concatenated they stay sorted by new document number.
            let mut parts = vec![(src, i)];
            while let Some(&Reverse((t, s, j))) = self.heap.peek() {
                if t != term {
                    break;
                }
                self.heap.pop();
                parts.push((s, j));
            }
            for &(s, j) in &parts {
                self.push(s, j + 1);
            }
            if self.base_unchanged && parts == [(Source::Base, i)] {
                return Some(Ok((term, ListSource::Borrowed(self.base.postings(i)))));
            }
            let (mut docs, mut freqs) = (Vec::new(), Vec::new());
            for &(s, j) in &parts {
                if let Err(e) = self.append(s, j, &mut docs, &mut freqs) {
                    return Some(Err(e));
                }
            }
            if !docs.is_empty() {
                return Some(Ok((term, ListSource::Owned(docs, freqs))));
            }
        }
    }
}
