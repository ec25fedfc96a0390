//! A query's whole retrieval in one call: the lexical list of the query (each hit weighed by how its
//! document's language relates to the query's), the lexical lists of the expansions into each target
//! language, the dense list with passages, their fusion on document keys, the per-language calibrated
//! merge of a mixed index, explanation data and snippets.
//!
//! This is the arithmetic of `python/xlqe_lite/search/engine.py` (which keeps it for a sharded index,
//! whose lists need the shards' global statistics, and for searches with a `where=` filter), moved here so
//! that a search crosses from Python once: Python builds the [`Plan`] and receives the hits.
//!
//! - this file: the plan, the lists, fusion and the two merges (one shared list, or per language);
//! - [`calibrate`]: the per-language calibrated merge;
//! - [`snippets`]: snippets and the passage-window snippet rule.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::fusion::{fuse_weighted, Fused, FusionMethod};
use crate::index::{DocFilter, DocSet, Hit, Index};
use crate::lang::{language_script, normalize_lang};
use crate::script::dominant_script;

pub mod calibrate;
pub mod snippets;

use calibrate::calibrated_merge;
use snippets::{char_ranges, passage_snippet, snippet_of, Place};

/// The names of the lists in explanations (as in `search/explanation.py`).
pub const LEXICAL: &str = "bm25";
pub const DENSE: &str = "dense";

/// The fusion settings of a search engine (`FusionConfig` in Python), fixed for many queries.
#[derive(Debug, Clone)]
pub struct FusionSettings {
    pub method: FusionMethod,
    /// Lexical hit weights: a document in the query's language, in its script only, in another script.
    pub same_language: f64,
    pub same_script: f64,
    pub other_script: f64,
    /// The dense list's weight, and the share of a document's best passage in its dense score.
    pub dense: f64,
    pub passage_weight: f32,
    /// The weight of an expansion's lexical list (times the mean trust of its texts), and how much its
    /// terms together may weigh against the query's.
    pub expansion_lexical: f64,
    pub expansion_term_mass: f64,
    /// How deep each list is read.
    pub depth: usize,
    /// One shared list instead of one list per language.
    pub pooled: bool,
    pub calibration_heads: Vec<usize>,
    /// Calibrate each language on its dense scores (given in its fused order) rather than its fused ones.
    pub calibrate_on_dense: bool,
    pub min_calibration: usize,
    /// How far the query vector is moved toward each other language's documents before that language's
    /// dense search (`Index::query_toward`; 0: not moved). Only with a known query language.
    pub centroid_shift: f64,
    /// The fewest documents with vectors each of the two languages needs for the move.
    pub centroid_min_documents: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Hybrid,
    Bm25,
    Dense,
}

/// An expansion: its target language (None: the query's) and its texts with their trust (0..1).
#[derive(Debug, Clone)]
pub struct Expansion {
    pub lang: Option<String>,
    pub texts: Vec<(String, f64)>,
}

/// One query, as Python prepared it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub query: String,
    /// The query's language (normalised), when known.
    pub query_lang: Option<String>,
    pub k: usize,
    pub mode: Mode,
    /// Only documents of these languages (None: all).
    pub langs: Option<Vec<String>>,
    /// The query's embedding (moved toward its expansions'); needed unless the mode is bm25.
    pub vector: Option<Vec<f32>>,
    /// The expansions that passed the similarity screen.
    pub expansions: Vec<Expansion>,
    pub explain: bool,
    /// Snippets of about this many characters, when asked.
    pub snippet_chars: Option<usize>,
    pub fusion: FusionSettings,
    /// Only the documents this metadata filter allows (None: all).
    pub filter: Option<DocFilter>,
}

/// Where a hit stood in one list: rank from 1, the list's raw score, the weight the fusion gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub rank: usize,
    pub score: f32,
    pub weight: f64,
}

/// The data of a hit's explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    pub query_script: Option<&'static str>,
    /// Per list in fusion order: its name and the hit's entry.
    pub lists: Vec<(String, Option<Entry>)>,
    /// (the hit's calibration group, its fused score there, its calibrated score).
    pub calibration: Option<(Option<String>, f64, f64)>,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    pub id: String,
    pub score: f64,
    pub lang: Option<String>,
    pub key: u64,
    pub snippet: Option<String>,
    /// Highlight ranges in the snippet, in characters.
    pub highlights: Vec<(usize, usize)>,
    pub place: Option<Place>,
    pub explain: Option<Explain>,
}

impl Retrieved {
    fn plain(h: Hit) -> Retrieved {
        Retrieved { id: h.id, score: h.score as f64, lang: h.lang, key: h.key, snippet: None, highlights: Vec::new(), place: None, explain: None }
    }
}

/// A ranked list to fuse: its name, hits, weight and per-hit weights.
struct List {
    name: String,
    hits: Vec<Hit>,
    weight: f64,
    item_weights: Option<Vec<f64>>,
}

/// Runs `plan` on `index`.
pub fn retrieve(index: &Index, plan: &Plan) -> Result<Vec<Retrieved>> {
    let q = Query::new(index, plan)?;
    let mut hits = if plan.mode == Mode::Bm25 && plan.expansions.is_empty() {
        index.search_in(&plan.query, plan.query_lang.as_deref(), plan.k, q.langs(), q.only())?.into_iter().map(Retrieved::plain).collect()
    } else if plan.mode == Mode::Dense && plan.expansions.is_empty() && (plan.fusion.pooled || q.groups.len() <= 1) {
        let moved = q.toward_the_one_group()?;
        let vector = moved.as_deref().or(q.vector).unwrap_or_default();
        index.search_vector_in(vector, plan.k, q.langs(), plan.fusion.passage_weight, q.only())?.into_iter().map(Retrieved::plain).collect()
    } else {
        q.fused()?
    };
    if let Some(chars) = plan.snippet_chars {
        let passages = q.vector.filter(|_| index.passage_count() > 0);
        for hit in &mut hits {
            let Some(doc) = index.get(&hit.id)? else { continue };
            let (snippet, place) = match passages {
                Some(vector) => passage_snippet(index, &doc, &plan.query, vector, chars)?,
                None => (snippet_of(index, &doc, &plan.query, chars, None), None),
            };
            hit.highlights = char_ranges(&snippet);
            hit.snippet = Some(snippet.text);
            hit.place = place;
        }
    }
    Ok(hits)
}

/// A plan with what it needs worked out once: the query's script, the language groups, the vector.
struct Query<'a> {
    index: &'a Index,
    plan: &'a Plan,
    script: Option<&'static str>,
    /// The held languages searched, and the calibration groups (those, and None for the documents of no
    /// language when no language filter is given).
    held: Vec<String>,
    groups: Vec<Option<String>>,
    vector: Option<&'a [f32]>,
    /// The documents the plan's metadata filter allows, worked out once for all lists.
    only: Option<DocSet>,
}

impl<'a> Query<'a> {
    fn new(index: &'a Index, plan: &'a Plan) -> Result<Query<'a>> {
        let script = match &plan.query_lang {
            Some(l) => script_of(l),
            None => dominant_script(&plan.query).map(|s| s.as_str()),
        };
        let counts = index.languages();
        let mut held: Vec<String> = counts.iter().map(|(l, _)| l.clone()).collect();
        if let Some(langs) = &plan.langs {
            let wanted = langs.iter().map(|l| normalize_lang(l)).collect::<Result<HashSet<String>>>()?;
            held.retain(|l| wanted.contains(l));
        }
        let unknown = plan.langs.is_none() && index.len() > counts.iter().map(|(_, n)| n).sum::<usize>();
        let mut groups: Vec<Option<String>> = held.iter().cloned().map(Some).collect();
        if unknown {
            groups.push(None);
        }
        let vector = plan.vector.as_deref().filter(|_| plan.mode != Mode::Bm25);
        let only = index.allowed_docs(plan.filter.as_ref());
        Ok(Query { index, plan, script, held, groups, vector, only })
    }

    fn langs(&self) -> Option<&[String]> {
        self.plan.langs.as_deref()
    }

    fn only(&self) -> Option<&DocSet> {
        self.only.as_ref()
    }

    fn lexical_weight(&self, doc_lang: Option<&str>) -> f64 {
        let f = &self.plan.fusion;
        if self.plan.query_lang.is_some() && self.plan.query_lang.as_deref() == doc_lang {
            return f.same_language;
        }
        match (self.script, doc_lang.and_then(script_of)) {
            (Some(q), Some(d)) if q != d => f.other_script,
            _ => f.same_script, // the same script, or unknown: neither trusted nor dismissed
        }
    }

    /// The lists one fusion reads: BM25 of the query, BM25 of the expansions into each of `held` (when
    /// `expanded`), the dense list.
    fn lists(&self, depth: usize, langs: Option<&[String]>, held: &[String], expanded: bool, vector: Option<&[f32]>)
             -> Result<Vec<List>> {
        let (ix, plan) = (self.index, self.plan);
        let mut lists = Vec::new();
        if plan.mode != Mode::Dense {
            let lexical = ix.search_in(&plan.query, plan.query_lang.as_deref(), depth, langs, self.only())?;
            let weights = lexical.iter().map(|h| self.lexical_weight(h.lang.as_deref())).collect();
            lists.push(List { name: LEXICAL.into(), hits: lexical, weight: 1.0, item_weights: Some(weights) });
            if expanded {
                for (target, texts) in self.expansions_by_lang(held) {
                    let terms = self.expansion_terms(&texts, &target);
                    if terms.is_empty() {
                        continue;
                    }
                    let hits = ix.search_terms_in(&terms, depth, Some(std::slice::from_ref(&target)), self.only())?;
                    let confidence = texts.iter().fold(0.0, |s, (_, t)| s + t) / texts.len() as f64;
                    lists.push(List { name: format!("{LEXICAL}[{target}]"), hits, weight: plan.fusion.expansion_lexical * confidence, item_weights: None });
                }
            }
        }
        if let Some(vector) = vector {
            let hits = ix.search_vector_in(vector, depth, langs, plan.fusion.passage_weight, self.only())?;
            lists.push(List { name: DENSE.into(), hits, weight: plan.fusion.dense, item_weights: None });
        }
        Ok(lists)
    }

    /// The expansion texts (with their trust) by target language, in the order the targets first appear;
    /// only targets among `held`.
    fn expansions_by_lang(&self, held: &[String]) -> Vec<(String, Vec<(&'a str, f64)>)> {
        let mut out: Vec<(String, Vec<(&str, f64)>)> = Vec::new();
        for e in &self.plan.expansions {
            let target = e.lang.as_deref().filter(|l| !l.is_empty()).or(self.plan.query_lang.as_deref());
            let Some(target) = target.filter(|t| held.iter().any(|h| h == t)) else { continue };
            let at = match out.iter().position(|(l, _)| l == target) {
                Some(i) => i,
                None => {
                    out.push((target.to_string(), Vec::new()));
                    out.len() - 1
                }
            };
            out[at].1.extend(e.texts.iter().map(|(t, w)| (t.as_str(), *w)));
        }
        out
    }

    /// The query's terms at full weight plus the expansions' terms, all analysed as `lang`; the expansions
    /// together weigh at most `expansion_term_mass` times the query (f64, as Python computes it).
    fn expansion_terms(&self, texts: &[(&str, f64)], lang: &str) -> Vec<(String, f32)> {
        let terms = |text: &str, query_lang: Option<&str>| self.index.analyze_query(text, Some(lang), query_lang).unwrap_or_default();
        let original = terms(&self.plan.query, None);
        let added: Vec<(String, f32)> = texts.iter().flat_map(|(t, _)| terms(t, Some(lang))).collect();
        let mass = |ts: &[(String, f32)]| ts.iter().fold(0.0f64, |s, (_, w)| s + *w as f64);
        let (mass_q, mass_e) = (mass(&original), mass(&added));
        let scale = if mass_e != 0.0 { (self.plan.fusion.expansion_term_mass * mass_q.max(1.0) / mass_e).min(1.0) } else { 0.0 };
        original.into_iter().chain(added.into_iter().map(|(t, w)| (t, (w as f64 * scale) as f32))).collect()
    }

    fn fuse(&self, lists: &[List], k: usize) -> Result<Vec<Fused<u64>>> {
        let ranked: Vec<Vec<(u64, f32)>> = lists.iter().map(|l| l.hits.iter().map(|h| (h.key, h.score)).collect()).collect();
        let weights: Vec<f32> = lists.iter().map(|l| l.weight as f32).collect();
        let item_weights: Vec<Option<Vec<f32>>> =
            lists.iter().map(|l| l.item_weights.as_ref().map(|w| w.iter().map(|&x| x as f32).collect())).collect();
        fuse_weighted(&ranked, &weights, Some(&item_weights), self.plan.fusion.method, k)
    }

    /// A fused item as a hit: its id and language from the lists, its explanation when asked.
    fn hit(&self, f: &Fused<u64>, score: f64, lists: &[List], known: &HashMap<u64, &Hit>) -> Retrieved {
        let h = known[&f.key];
        let explain = self.plan.explain.then(|| Explain {
            query_script: self.script,
            lists: lists
                .iter()
                .zip(&f.sources)
                .map(|(l, src)| {
                    let entry = src.map(|(rank, score)| Entry {
                        rank,
                        score,
                        weight: l.item_weights.as_ref().map_or(l.weight, |w| w[rank - 1]),
                    });
                    (l.name.clone(), entry)
                })
                .collect(),
            calibration: None,
        });
        Retrieved { id: h.id.clone(), score, lang: h.lang.clone(), key: h.key, snippet: None, highlights: Vec::new(), place: None, explain }
    }

    /// The query vector for the dense search of language `lang`'s documents: moved toward them from the
    /// query language's (`FusionSettings::centroid_shift`), or None to search with the query's own.
    fn toward(&self, lang: &str) -> Result<Option<Vec<f32>>> {
        match (self.vector, self.plan.query_lang.as_deref()) {
            (Some(vector), Some(from)) => {
                let f = &self.plan.fusion;
                self.index.query_toward(vector, from, lang, f.centroid_shift, f.centroid_min_documents)
            }
            _ => Ok(None),
        }
    }

    /// Searching one language (a filter to it, or an index holding only it): the query moved toward it.
    fn toward_the_one_group(&self) -> Result<Option<Vec<f32>>> {
        match self.groups.as_slice() {
            [Some(lang)] => self.toward(lang),
            _ => Ok(None),
        }
    }

    fn shared_list(&self, depth: usize) -> Result<Vec<Retrieved>> {
        let moved = self.toward_the_one_group()?;
        let lists = self.lists(depth, self.langs(), &self.held, true, moved.as_deref().or(self.vector))?;
        let known = known(&lists);
        Ok(self.fuse(&lists, self.plan.k)?.iter().map(|f| self.hit(f, f.score as f64, &lists, &known)).collect())
    }

    fn fused(&self) -> Result<Vec<Retrieved>> {
        let fusion = &self.plan.fusion;
        let depth = self.plan.k.max(fusion.depth);
        if fusion.pooled || self.groups.len() <= 1 {
            return self.shared_list(depth);
        }
        let mut per_lang: Vec<(Vec<List>, Vec<Fused<u64>>)> = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let lists = match group {
                // The documents of no language: read deeper without a language filter, keep theirs.
                None => {
                    let wide = (depth * self.groups.len()).min(1000);
                    let mut lists = self.lists(wide, None, &[], false, self.vector)?;
                    for l in &mut lists {
                        let keep: Vec<usize> = (0..l.hits.len()).filter(|&i| l.hits[i].lang.is_none()).take(depth).collect();
                        l.item_weights = l.item_weights.take().map(|w| keep.iter().map(|&i| w[i]).collect());
                        let mut hits: Vec<Option<Hit>> = std::mem::take(&mut l.hits).into_iter().map(Some).collect();
                        l.hits = keep.iter().map(|&i| hits[i].take().expect("each hit once")).collect();
                    }
                    lists
                }
                Some(lang) => {
                    let one = std::slice::from_ref(lang);
                    let moved = self.toward(lang)?;
                    self.lists(depth, Some(one), one, true, moved.as_deref().or(self.vector))?
                }
            };
            let fused = self.fuse(&lists, 2 * depth)?;
            per_lang.push((lists, fused));
        }
        // Each language's dense scores in rank order (None without a dense list): what calibration measures
        // where a language's fused scores cannot be (calibrate_on_dense, or a language with few candidates).
        let dense: Vec<Option<Vec<f64>>> = per_lang
            .iter()
            .map(|(lists, _)| {
                let hits = lists.iter().find(|l| l.name == DENSE).map(|l| &l.hits).filter(|h| !h.is_empty())?;
                Some(hits.iter().map(|h| h.score as f64).collect())
            })
            .collect();
        let on_dense = fusion.calibrate_on_dense && self.vector.is_some();
        let short = |f: &Vec<Fused<u64>>, d: &Option<Vec<f64>>| !f.is_empty() && f.len() < fusion.min_calibration && d.is_none();
        if !on_dense && per_lang.iter().zip(&dense).any(|((_, f), d)| short(f, d)) {
            // A language with a handful of candidates and no dense scores has no distribution of its own, and
            // its fused scores (min-max within the language) are on no common scale either: one shared list.
            return self.shared_list(depth);
        }
        let knowns: Vec<HashMap<u64, &Hit>> = per_lang.iter().map(|(lists, _)| known(lists)).collect();
        let scales: Vec<Vec<(&str, f64)>> = per_lang
            .iter()
            .zip(&knowns)
            .zip(&dense)
            .map(|(((_, fused), known), dense)| {
                fused
                    .iter()
                    .enumerate()
                    .map(|(r, f)| {
                        let score = match dense {
                            Some(d) if on_dense => d[r.min(d.len() - 1)],
                            _ => f.score as f64,
                        };
                        (known[&f.key].id.as_str(), score)
                    })
                    .collect()
            })
            .collect();
        let merged = calibrated_merge(&scales, &dense, self.plan.k, &fusion.calibration_heads, fusion.min_calibration);
        Ok(merged
            .into_iter()
            .map(|c| {
                let (lists, fused) = &per_lang[c.group];
                let mut hit = self.hit(&fused[c.position], c.z, lists, &knowns[c.group]);
                if let Some(e) = hit.explain.as_mut() {
                    e.calibration = Some((self.groups[c.group].clone(), c.raw, c.z));
                }
                hit
            })
            .collect())
    }
}

/// Each document's hit (the same in every list that has it).
fn known(lists: &[List]) -> HashMap<u64, &Hit> {
    let mut out = HashMap::new();
    for l in lists.iter().rev() {
        out.extend(l.hits.iter().map(|h| (h.key, h)));
    }
    out
}

/// The script a language tag is written in (as Python's `language_script`).
fn script_of(lang: &str) -> Option<&'static str> {
    normalize_lang(lang).ok().and_then(|l| language_script(&l)).map(|s| s.as_str())
}
