//! The pending term table: each distinct term held in memory, numbered in order of arrival.
//!
//! Indexing looks a term up once per distinct term of every document, on the one thread that inserts
//! documents in order, so the table is built for that: terms arrive with their hash already computed (by
//! the analysis threads, [`term_hash`]), their bytes live one after another in one buffer (no allocation
//! per term), and a lookup compares bytes only when the hashes match.

use hashbrown::HashTable;

use crate::analysis::term_hash;

#[derive(Default)]
pub(super) struct TermTable {
    /// Term numbers, filed by hash.
    table: HashTable<u32>,
    /// Every term's bytes, in number order; term `i` ends at `ends[i]`.
    text: String,
    ends: Vec<usize>,
    /// Term `i`'s hash, for growing the table without hashing again.
    hashes: Vec<u64>,
}

impl TermTable {
    pub(super) fn term(&self, i: u32) -> &str {
        let (start, end) = bounds(&self.ends, i);
        // Every end is where `intern` finished pushing a whole term: a char boundary.
        self.text.get(start..end).expect("term bounds are char boundaries")
    }

    /// The number of `term`, if it is held.
    pub(super) fn get(&self, term: &str) -> Option<u32> {
        self.table.find(term_hash(term), |&i| self.term(i) == term).copied()
    }

    /// The number of `term` (whose [`term_hash`] is `hash`), numbering it next if it is new; and whether
    /// it was new.
    pub(super) fn intern(&mut self, hash: u64, term: &str) -> (u32, bool) {
        let TermTable { table, text, ends, hashes } = self;
        let bytes = term.as_bytes();
        let held = |i: u32| {
            let (start, end) = bounds(ends, i);
            &text.as_bytes()[start..end]
        };
        match table.entry(hash, |&i| held(i) == bytes, |&i| hashes[i as usize]) {
            hashbrown::hash_table::Entry::Occupied(e) => (*e.get(), false),
            hashbrown::hash_table::Entry::Vacant(e) => {
                let i = u32::try_from(ends.len()).expect("fewer than 2^32 pending terms (the budget spills long before)");
                text.push_str(term);
                ends.push(text.len());
                hashes.push(hash);
                e.insert(i);
                (i, true)
            }
        }
    }

    /// Every term with its number, in number order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        (0..self.ends.len() as u32).map(|i| (self.term(i), i))
    }
}

fn bounds(ends: &[usize], i: u32) -> (usize, usize) {
    let i = i as usize;
    (if i == 0 { 0 } else { ends[i - 1] }, ends[i])
}

#[cfg(test)]
mod tests {
    use super::{term_hash, TermTable};

    #[test]
    fn numbers_terms_in_arrival_order_and_finds_them_again() {
        let mut table = TermTable::default();
        let words = ["wald", "straße", "wald", "", "森林", "straße", "forest"];
        let numbers: Vec<(u32, bool)> = words.iter().map(|w| table.intern(term_hash(w), w)).collect();
        assert_eq!(numbers, [(0, true), (1, true), (0, false), (2, true), (3, true), (1, false), (4, true)]);
        assert_eq!(table.iter().count(), 5);
        assert_eq!(table.get("森林"), Some(3));
        assert_eq!(table.get(""), Some(2));
        assert_eq!(table.get("fores"), None);
        let listed: Vec<(&str, u32)> = table.iter().collect();
        assert_eq!(listed, [("wald", 0), ("straße", 1), ("", 2), ("森林", 3), ("forest", 4)]);
    }

    #[test]
    fn equal_hashes_still_keep_terms_apart() {
        // Two different terms filed under one hash (as a collision would) stay two terms.
        let mut table = TermTable::default();
        assert_eq!(table.intern(7, "a"), (0, true));
        assert_eq!(table.intern(7, "b"), (1, true));
        assert_eq!(table.intern(7, "a"), (0, false));
        assert_eq!(table.term(1), "b");
    }

    #[test]
    fn grows_past_many_terms() {
        let mut table = TermTable::default();
        for n in 0..100_000u32 {
            let w = format!("t{n}");
            assert_eq!(table.intern(term_hash(&w), &w), (n, true));
        }
        for n in (0..100_000u32).step_by(997) {
            assert_eq!(table.get(&format!("t{n}")), Some(n));
        }
    }
}
