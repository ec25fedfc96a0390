//! A writer with a tiny pending budget spills its postings to sorted runs and its texts to a spill file
//! many times over; everything it answers (searches before and after the commit, stored texts, the
//! committed segment itself) must equal what a writer holding everything in memory answers.

use xlqe_core::index::PendingBudget;
use xlqe_core::{Document, Index, IndexConfig};

const LANGS: [&str; 3] = ["en", "de", "fr"];
const WORDS: [&str; 12] = ["river", "bridge", "stone", "market", "winter", "garden", "Fluss", "Brücke", "marché", "pierre", "hiver", "jardin"];

/// Deterministic documents: id, text, language. Ids repeat, so later ones replace earlier ones.
fn corpus(n: usize, seed: u64) -> Vec<(String, String, &'static str)> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let len = 1 + (next() % 9) as usize;
            let text: Vec<&str> = (0..len).map(|_| WORDS[(next() % WORDS.len() as u64) as usize]).collect();
            let id = if i % 7 == 6 { format!("d{}", i / 3) } else { format!("d{i}") };
            (id, format!("{} {i}", text.join(" ")), LANGS[i % 3])
        })
        .collect()
}

fn fill(ix: &mut Index, docs: &[(String, String, &'static str)], delete_every: usize) {
    for (i, (id, text, lang)) in docs.iter().enumerate() {
        ix.add(Document { id: id.clone(), text: text.clone(), lang: Some(lang.to_string()), metadata: format!("{{\"n\":{i}}}") })
            .unwrap();
        if i % delete_every == delete_every - 1 {
            ix.delete(&format!("d{}", i / 2)).unwrap();
        }
    }
}

fn answers(ix: &Index) -> Vec<Vec<xlqe_core::Hit>> {
    let queries = ["river bridge", "stone", "Fluss Brücke", "marché d'hiver", "garden 17", "winter market jardin"];
    queries.iter().flat_map(|q| LANGS.iter().map(move |l| ix.search(q, Some(l), 20, None).unwrap())).collect()
}

fn texts(ix: &Index) -> Vec<(String, String, String)> {
    let mut ids = ix.ids();
    ids.sort();
    ids.into_iter()
        .map(|id| {
            let d = ix.get(&id).unwrap().unwrap();
            (id, d.text, d.metadata)
        })
        .collect()
}

#[test]
fn spilled_pending_documents_answer_as_in_memory_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(3000, 7);
    let mut plain = Index::create(&tmp.path().join("plain"), IndexConfig::default()).unwrap();
    let mut spilled = Index::create(&tmp.path().join("spilled"), IndexConfig::default()).unwrap();
    spilled.set_pending_budget(PendingBudget { postings: 97, text_bytes: 300 }).unwrap();
    assert!(spilled.set_pending_budget(PendingBudget { postings: 0, text_bytes: 1 }).is_err());

    // A first commit, then a second batch over it with deletions of committed and pending documents.
    for (ix, part) in [(&mut plain, &docs[..1200]), (&mut spilled, &docs[..1200])] {
        fill(ix, part, 11);
    }
    assert_eq!(answers(&plain), answers(&spilled), "pending, before the first commit");
    assert_eq!(texts(&plain), texts(&spilled));
    plain.commit().unwrap();
    spilled.commit().unwrap();
    for (ix, part) in [(&mut plain, &docs[1200..]), (&mut spilled, &docs[1200..])] {
        fill(ix, part, 5);
    }
    assert_eq!(plain.len(), spilled.len());
    assert_eq!(answers(&plain), answers(&spilled), "pending over a committed segment");
    assert_eq!(texts(&plain), texts(&spilled));
    if cfg!(unix) {
        let scratch: Vec<_> = std::fs::read_dir(tmp.path().join("spilled")).unwrap().flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("run-")).collect();
        assert!(scratch.is_empty(), "spill files are unlinked once open: {scratch:?}");
    }
    plain.commit().unwrap();
    spilled.commit().unwrap();
    let committed = answers(&plain);
    assert_eq!(committed, answers(&spilled), "committed");
    assert!(committed.iter().any(|hits| hits.len() == 20), "the queries match documents");
    drop((plain, spilled));

    // The two segments hold the same documents, terms and postings: reopened, they answer alike.
    let (a, b) = (Index::open(&tmp.path().join("plain"), false).unwrap(), Index::open(&tmp.path().join("spilled"), false).unwrap());
    assert!(b.verify().is_empty(), "{:?}", b.verify());
    assert_eq!(answers(&a), answers(&b));
    assert_eq!(texts(&a), texts(&b));
}

#[test]
fn rollback_drops_spilled_documents() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ix");
    let mut ix = Index::create(&dir, IndexConfig::default()).unwrap();
    ix.set_pending_budget(PendingBudget { postings: 10, text_bytes: 50 }).unwrap();
    let docs = corpus(400, 3);
    fill(&mut ix, &docs[..200], 1000);
    ix.commit().unwrap();
    let before = (answers(&ix), texts(&ix));
    fill(&mut ix, &docs[200..], 1000);
    assert_ne!(texts(&ix), before.1);
    ix.rollback().unwrap();
    assert_eq!((answers(&ix), texts(&ix)), before);
    // The budget outlives the rollback: the writer spills again, and its commit is whole.
    fill(&mut ix, &docs[200..], 1000);
    ix.commit().unwrap();
    let n = ix.len();
    drop(ix);
    assert_eq!(Index::open(&dir, false).unwrap().len(), n);
}

#[test]
fn a_batch_analysed_on_threads_enters_in_order_and_stops_at_the_first_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = corpus(2000, 11);
    let as_doc = |(id, text, lang): &(String, String, &str)| Document { id: id.clone(), text: text.clone(), lang: Some(lang.to_string()), metadata: String::new() };
    let mut one = Index::create(&tmp.path().join("one"), IndexConfig::default()).unwrap();
    for d in &docs {
        one.add(as_doc(d)).unwrap();
    }
    let mut batched = Index::create(&tmp.path().join("batched"), IndexConfig::default()).unwrap();
    let keys = batched.add_batch(docs.iter().map(|d| (as_doc(d), None, &[][..])).collect(), 4).unwrap();
    assert_eq!(keys, (0..2000).collect::<Vec<u64>>(), "keys in document order");
    assert_eq!(answers(&one), answers(&batched));
    assert_eq!(texts(&one), texts(&batched));

    // Document 1,300 has an empty id: the 1,300 before it are in, none after it.
    let mut refused = Index::create(&tmp.path().join("refused"), IndexConfig::default()).unwrap();
    let mut batch: Vec<Document> = docs.iter().map(as_doc).collect();
    batch[1300].id.clear();
    let err = refused.add_batch(batch.into_iter().map(|d| (d, None, &[][..])).collect(), 3).unwrap_err();
    assert!(err.to_string().contains("id"), "{err}");
    let first: std::collections::HashSet<&str> = docs[..1300].iter().map(|d| d.0.as_str()).collect();
    assert_eq!(refused.len(), first.len());
    assert!(refused.ids().iter().all(|id| first.contains(id.as_str())));
}
