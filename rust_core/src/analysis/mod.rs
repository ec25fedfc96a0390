//! Multilingual text analysis: the same pipeline turns documents and queries into index terms.
//!
//! 1. The text is cut into runs by script class: CJK (Han, Kana, Hangul), the South-East Asian scripts written
//!    without spaces (Thai, Lao, Khmer, Myanmar), and everything else.
//! 2. Each run is segmented its own way: UAX #29 word boundaries for the rest, overlapping character bigrams for
//!    CJK (as Lucene's CJK analyzer does), ICU4X dictionary segmentation for Thai and its neighbours.
//! 3. Each word is normalised (NFKC, lower case, script rules for Arabic, Devanagari, Greek), then, when the
//!    language is known, stop words are dropped and the word is stemmed.
//!
//! Offsets refer to the original text, so hits can be highlighted in what the user wrote.

mod hindi;
mod normalize;
mod stopwords;

use std::sync::LazyLock;

use icu_segmenter::{options::WordBreakInvariantOptions, WordSegmenter, WordSegmenterBorrowed};
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use unicode_segmentation::UnicodeSegmentation;

use crate::config::AnalyzerConfig;
use crate::script::Script;

pub use normalize::{normalize_into, normalize_word};

/// Words longer than this (in bytes, before normalisation) are noise such as base64 or hashes: skipped.
const MAX_WORD_BYTES: usize = 128;

// Dictionary rather than LSTM: on the bench's Thai, mono nDCG@10 0.965 vs 0.953 (paragraphs), 0.821 vs 0.796
// (sentences); the LSTM also costs more per character.
static DICTIONARY_SEGMENTER: LazyLock<WordSegmenterBorrowed<'static>> =
    LazyLock::new(|| WordSegmenter::new_dictionary(WordBreakInvariantOptions::default()));

/// Words [`TermMemo`] remembers per language before it starts again (about 1.5 MB each).
const MEMO_WORDS: usize = 1 << 14;

/// What [`Analyzer::for_each_term`] remembers between documents: per language, its rules and what each
/// word (as it stood in the text) became: its term and [`term_hash`], or None for a stop word. Words follow Zipf's law, so a
/// few thousand of them make up most of any text; one thread's memo, bounded, forgotten when full.
#[derive(Default)]
pub struct TermMemo {
    langs: Vec<LanguageMemo>,
    word: String,
}

struct LanguageMemo {
    /// The language whose rules these are ([`Analyzer::rules_language`]).
    lang: Option<String>,
    rules: LanguageRules,
    words: FxHashMap<Box<str>, Option<(Box<str>, u64)>>,
}

/// The hash indexing files a term under (the pending term table's): FxHash of its bytes, fast on short
/// keys; the keys are the index's own terms, and a document's terms are bounded by its length whatever
/// they collide on.
pub fn term_hash(term: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    std::hash::Hasher::write(&mut h, term.as_bytes());
    std::hash::Hasher::finish(&h)
}

/// A term with the byte range of the original text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub term: String,
    pub start: usize,
    pub end: usize,
}

/// How a run of text is cut into words (a segmentation class over several scripts; see [`Script`] for scripts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptClass {
    /// Han, Kana, Hangul: indexed as overlapping bigrams.
    Cjk,
    /// Thai, Lao, Khmer, Myanmar: no spaces between words, dictionary segmentation.
    SouthEastAsian,
    Other,
}

fn script_class(c: char) -> ScriptClass {
    match c as u32 {
        0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x19E0..=0x19FF | 0xA9E0..=0xA9FF
        | 0xAA60..=0xAA7F => ScriptClass::SouthEastAsian,
        0x2E80..=0x2FDF
        | 0x3005
        | 0x3007
        | 0x3021..=0x3029
        | 0x3041..=0x30FA
        | 0x30FC..=0x30FF
        | 0x3105..=0x318F
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0x1100..=0x11FF
        | 0xF900..=0xFAFF
        | 0xFF66..=0xFF9F
        | 0xFFA0..=0xFFDC
        | 0x20000..=0x3134F => ScriptClass::Cjk,
        _ => ScriptClass::Other,
    }
}

/// The language-specific tail of the pipeline: stop words, then stemming.
pub struct LanguageRules {
    stemmer: Option<LanguageStemmer>,
    stopwords: Option<&'static stopwords::StopwordSet>,
    /// The script the language's stemmer and stop words are written for; words of other scripts pass
    /// through untouched (the rules could not change them anyway), which keeps per-language query
    /// analysis cheap and lets languages of other scripts share one analysis.
    script: Option<Script>,
}

fn script_of_language(lang: &str) -> Option<Script> {
    Some(match lang {
        "da" | "nl" | "en" | "fi" | "fr" | "de" | "hu" | "it" | "no" | "nb" | "nn" | "pt" | "ro" | "es" | "sv" | "tr"
        | "az" | "eu" | "id" | "sl" => Script::Latn,
        "ru" | "kk" | "tg" => Script::Cyrl,
        "el" => Script::Grek,
        "ar" => Script::Arab,
        "hi" | "ne" => Script::Deva,
        "ta" => Script::Taml,
        _ => return None,
    })
}

fn starts_in_script(word: &str, script: Script) -> bool {
    word.chars().next().and_then(Script::of_char) == Some(script)
}

impl LanguageRules {
    /// The index term for a normalised word, or None when it is a stop word.
    pub fn apply(&self, word: &str) -> Option<String> {
        let mut term = String::new();
        self.apply_into(word, &mut term).then_some(term)
    }

    /// [`LanguageRules::apply`] appending the term to `out`; returns false (and leaves `out` as it was)
    /// for a stop word or a word that stems to nothing.
    pub fn apply_into(&self, word: &str, out: &mut String) -> bool {
        let before = out.len();
        if self.script.is_some_and(|script| !starts_in_script(word, script)) {
            out.push_str(word);
            return !word.is_empty();
        }
        if self.stopwords.is_some_and(|stop| stop.contains(word)) {
            return false;
        }
        match &self.stemmer {
            Some(_) if word.bytes().all(|b| b.is_ascii_digit()) => out.push_str(word),
            Some(LanguageStemmer::Snowball(s)) => out.push_str(&s.stem(word)),
            Some(LanguageStemmer::Hindi) => out.push_str(hindi::stem(word)),
            None => out.push_str(word),
        }
        out.len() > before
    }
}

enum LanguageStemmer {
    Snowball(Stemmer),
    Hindi,
}

fn snowball_algorithm(lang: &str) -> Option<Algorithm> {
    Some(match lang {
        "ar" => Algorithm::Arabic,
        "da" => Algorithm::Danish,
        "nl" => Algorithm::Dutch,
        "en" => Algorithm::English,
        "fi" => Algorithm::Finnish,
        "fr" => Algorithm::French,
        "de" => Algorithm::German,
        "el" => Algorithm::Greek,
        "hu" => Algorithm::Hungarian,
        "it" => Algorithm::Italian,
        "no" | "nb" | "nn" => Algorithm::Norwegian,
        "pt" => Algorithm::Portuguese,
        "ro" => Algorithm::Romanian,
        "ru" => Algorithm::Russian,
        "es" => Algorithm::Spanish,
        "sv" => Algorithm::Swedish,
        "ta" => Algorithm::Tamil,
        "tr" => Algorithm::Turkish,
        _ => return None,
    })
}

/// Whether the analyzer has a stemmer for this (ISO 639-1) language.
pub fn has_stemmer(lang: &str) -> bool {
    lang == "hi" || snowball_algorithm(lang).is_some()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Analyzer {
    pub config: AnalyzerConfig,
}

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Self {
        Analyzer { config }
    }

    /// Index terms of `text`; `lang` is an ISO 639-1 code (see [`crate::lang::normalize_lang`]) or None.
    pub fn analyze(&self, text: &str, lang: Option<&str>) -> Vec<String> {
        let mut terms = Vec::new();
        self.for_each_token(text, lang, |t| terms.push(t.term));
        terms
    }

    /// Index terms of `text` with their byte ranges in `text`.
    pub fn tokens(&self, text: &str, lang: Option<&str>) -> Vec<Token> {
        let mut tokens = Vec::new();
        self.for_each_token(text, lang, |t| tokens.push(t));
        tokens
    }

    /// Streams tokens to `sink` without collecting them.
    pub fn for_each_token(&self, text: &str, lang: Option<&str>, mut sink: impl FnMut(Token)) {
        let rules = self.language(lang);
        self.for_each_word(text, |mut t| {
            if let Some(term) = rules.apply(&t.term) {
                t.term = term;
                sink(t);
            }
        });
    }

    /// The index terms of `text`, as [`Analyzer::for_each_token`] makes them, lent to `sink` one at a
    /// time with their [`term_hash`]: indexing's form. `memo` (kept by the caller from document to
    /// document) remembers what each word became, so a word seen before costs a lookup, not
    /// normalisation, stemming and hashing again.
    pub fn for_each_term(&self, text: &str, lang: Option<&str>, memo: &mut TermMemo, mut sink: impl FnMut(&str, u64)) {
        let key = self.rules_language(lang);
        let at = match memo.langs.iter().position(|l| l.lang.as_deref() == key) {
            Some(at) => at,
            None => {
                let rules = self.language(key);
                memo.langs.push(LanguageMemo { lang: key.map(str::to_string), rules, words: FxHashMap::default() });
                memo.langs.len() - 1
            }
        };
        let LanguageMemo { rules, words, .. } = &mut memo.langs[at];
        let word = &mut memo.word;
        self.for_each_raw_word(text, |raw, _| {
            if let Some(known) = words.get(raw) {
                if let Some((term, hash)) = known {
                    sink(term, *hash);
                }
                return;
            }
            word.clear();
            normalize_into(raw, word);
            let mut term = String::new();
            let term = (!word.is_empty() && rules.apply_into(word, &mut term)).then(|| {
                let hash = term_hash(&term);
                (term.into_boxed_str(), hash)
            });
            if let Some((term, hash)) = &term {
                sink(term, *hash);
            }
            if words.len() >= MEMO_WORDS {
                words.clear();
            }
            words.insert(raw.into(), term);
        });
    }

    /// Stage one of analysis, the same for every language: segmentation and normalisation. Queries run
    /// it once and then apply each document language's rules ([`LanguageRules::apply`]) to the words.
    pub fn for_each_word(&self, text: &str, mut sink: impl FnMut(Token)) {
        self.for_each_raw_word(text, |raw, start| {
            let word = normalize_word(raw);
            if !word.is_empty() {
                sink(Token { term: word, start, end: start + raw.len() });
            }
        });
    }

    /// Segmentation: each word of `text` as it stands there, with its byte offset (words longer than
    /// [`MAX_WORD_BYTES`] left out).
    fn for_each_raw_word(&self, text: &str, mut sink: impl FnMut(&str, usize)) {
        let mut emit = |raw: &str, start: usize| {
            if raw.len() <= MAX_WORD_BYTES {
                sink(raw, start);
            }
        };
        for (run_start, run, class) in script_runs(text) {
            match class {
                ScriptClass::Other => {
                    for (offset, word) in run.unicode_word_indices() {
                        emit(word, run_start + offset);
                    }
                }
                ScriptClass::Cjk => {
                    let chars: Vec<(usize, char)> = run.char_indices().collect();
                    if chars.len() == 1 {
                        emit(run, run_start);
                    } else {
                        for pair in chars.windows(2) {
                            let (a, _) = pair[0];
                            let (b, cb) = pair[1];
                            emit(&run[a..b + cb.len_utf8()], run_start + a);
                        }
                    }
                }
                ScriptClass::SouthEastAsian => {
                    let mut last = 0;
                    for (boundary, kind) in DICTIONARY_SEGMENTER.segment_str(run).iter_with_word_type() {
                        if boundary > last && kind.is_word_like() {
                            emit(&run[last..boundary], run_start + last);
                        }
                        last = boundary;
                    }
                }
            }
        }
    }

    /// Whether `word` (normalised) is a stop word of `lang` under this analyzer's configuration.
    pub fn is_stopword(&self, lang: &str, word: &str) -> bool {
        self.config.stopwords && stopwords::for_language(lang).is_some_and(|s| s.contains(word))
    }

    /// The language whose rules this analyzer applies for `lang`: None when it has no rules for it (no
    /// stemmer, no stop words), so that all such languages share one analysis.
    pub fn rules_language<'a>(&self, lang: Option<&'a str>) -> Option<&'a str> {
        lang.filter(|l| {
            (self.config.stem && has_stemmer(l)) || (self.config.stopwords && stopwords::for_language(l).is_some())
        })
    }

    /// The language-specific stage of analysis for `lang`.
    pub fn language(&self, lang: Option<&str>) -> LanguageRules {
        let Some(lang) = lang else {
            return LanguageRules { stemmer: None, stopwords: None, script: None };
        };
        let stemmer = if !self.config.stem {
            None
        } else if lang == "hi" {
            Some(LanguageStemmer::Hindi)
        } else {
            snowball_algorithm(lang).map(|a| LanguageStemmer::Snowball(Stemmer::create(a)))
        };
        let stopwords = if self.config.stopwords { stopwords::for_language(lang) } else { None };
        LanguageRules { stemmer, stopwords, script: script_of_language(lang) }
    }
}

/// Splits `text` into maximal runs of one script class: (byte offset, run, class).
fn script_runs(text: &str) -> impl Iterator<Item = (usize, &str, ScriptClass)> {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = chars.next()?;
        let class = script_class(first);
        let mut end = start + first.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if script_class(c) != class {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        Some((start, &text[start..end], class))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<String> {
        Analyzer::new(AnalyzerConfig { stem: false, stopwords: false }).analyze(text, None)
    }

    #[test]
    fn indexing_terms_through_the_memo_are_the_tokens_terms() {
        // One memo across documents, languages and more distinct words than it keeps (so it starts
        // again at least once): every term and hash equals the uncached pipeline's.
        let analyzer = Analyzer::default();
        let mut memo = TermMemo::default();
        let texts = [
            ("The runners were running; the runner ran. İstanbul’s ﬁne café", Some("en")),
            ("Die Läufer liefen, der Läufer läuft", Some("de")),
            ("The runners were running", Some("de")),
            ("北京大学 and ทุกสองสัปดาห์ أَحْمَـــد", None),
            ("The runners were running", Some("en")),
            ("los corredores corrían", Some("xx")),
        ];
        let many: String = (0..MEMO_WORDS + 500).map(|n| format!("w{n} the ")).collect();
        let mut docs: Vec<(&str, Option<&str>)> = texts.to_vec();
        docs.push((&many, Some("en")));
        docs.extend(texts);
        for (text, lang) in docs {
            let mut expected = Vec::new();
            analyzer.for_each_token(text, lang, |t| expected.push((term_hash(&t.term), t.term)));
            let mut got = Vec::new();
            analyzer.for_each_term(text, lang, &mut memo, |t, h| got.push((h, t.to_string())));
            assert_eq!(got, expected, "{lang:?}");
        }
        assert!(memo.langs.iter().all(|l| l.words.len() <= MEMO_WORDS));
        assert!(memo.langs.iter().any(|l| l.lang.as_deref() == Some("en")));
    }

    #[test]
    fn latin_words_are_case_folded_and_nfkc_normalised() {
        assert_eq!(plain("Hello, WORLD! ﬁne Ｆｕｌｌ"), ["hello", "world", "fine", "full"]);
    }

    #[test]
    fn cjk_runs_become_overlapping_bigrams() {
        assert_eq!(plain("北京大学"), ["北京", "京大", "大学"]);
        assert_eq!(plain("猫"), ["猫"]);
        assert_eq!(plain("2015年に東京"), ["2015", "年に", "に東", "東京"]);
    }

    #[test]
    fn thai_is_segmented_with_a_dictionary() {
        // "every two weeks": the ICU4X example splits it into three words.
        assert_eq!(plain("ทุกสองสัปดาห์"), ["ทุก", "สอง", "สัปดาห์"]);
    }

    #[test]
    fn arabic_forms_and_diacritics_are_normalised() {
        // tatweel, fatha/damma and hamza-on-alef fold away; the Snowball stemmer then joins the
        // teh marbuta and heh spellings and strips the article.
        assert_eq!(plain("أَحْمَـــد"), plain("احمد"));
        let a = Analyzer::default();
        assert_eq!(a.analyze("المدرسة", Some("ar")), a.analyze("مدرسه", Some("ar")));
    }

    #[test]
    fn stemming_and_stopwords_apply_when_the_language_is_known() {
        let a = Analyzer::default();
        assert_eq!(a.analyze("The running dogs", Some("en")), ["run", "dog"]);
        assert_eq!(a.analyze("The running dogs", None), ["the", "running", "dogs"]);
        assert_eq!(a.analyze("Die Häuser", Some("de")), ["haus"]);
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "Ａpple 北京大学";
        for t in Analyzer::default().tokens(text, None) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
        }
        let t = &Analyzer::default().tokens(text, None)[0];
        assert_eq!(&text[t.start..t.end], "Ａpple");
    }

    #[test]
    fn odd_input_never_panics() {
        let nasty = "\u{200F}\u{202E}a\u{0301}\u{0301}\u{0000}\u{FEFF}e\u{0301}\u{10FFFF}";
        let _ = Analyzer::default().analyze(nasty, Some("en"));
        let _ = Analyzer::default().analyze(&"ก".repeat(10_000), Some("th"));
        assert!(plain("").is_empty());
        assert!(plain(" \t\n…!?").is_empty());
    }
}
