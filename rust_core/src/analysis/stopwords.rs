//! Stop words: NLTK's lists (via the `stop-words` crate) where they exist, and a short Hindi list of
//! postpositions, auxiliaries and pronouns, which NLTK lacks.

use std::collections::HashMap;
use std::sync::LazyLock;

use rustc_hash::FxHashSet;

use super::normalize::normalize_word;

/// FxHash: every word of a text is looked up here, and the keys are fixed lists, not input.
pub type StopwordSet = FxHashSet<String>;

const HINDI: &[&str] = &[
    "का", "की", "के", "को", "में", "से", "पर", "ने", "है", "हैं", "था", "थी", "थे", "हो", "होता", "होती", "होते", "और",
    "या", "भी", "तो", "ही", "यह", "वह", "ये", "वे", "इस", "उस", "इन", "उन", "इसके", "उसके", "इसका", "उसका", "जो",
    "कि", "एक", "लिए", "तक", "द्वारा", "साथ", "गया", "गई", "गए", "कर", "रहा", "रही", "रहे",
];

/// NLTK's English list carries fragments of contractions ("won" of "won't", "don" of "don't") that are
/// real words elsewhere; UAX #29 keeps contractions whole, so those fragments only ever remove real words.
const ENGLISH_FRAGMENTS: &[&str] = &["won", "don", "ma", "shan", "ain", "y", "o", "d", "m", "ll", "re", "ve"];

static SETS: LazyLock<HashMap<&'static str, StopwordSet>> = LazyLock::new(|| {
    let mut sets = HashMap::new();
    let nltk = [
        "ar", "az", "da", "de", "el", "en", "es", "eu", "fi", "fr", "hu", "id", "it", "kk", "ne", "nl", "no", "pt",
        "ro", "ru", "sl", "sv", "tg", "tr",
    ];
    for lang in nltk {
        if let Some(words) = stop_words::lookup(lang) {
            let keep = |w: &&&str| !(lang == "en" && ENGLISH_FRAGMENTS.contains(*w));
            sets.insert(lang, words.iter().filter(keep).map(|w| normalize_word(w)).collect());
        }
    }
    sets.insert("hi", HINDI.iter().map(|w| normalize_word(w)).collect());
    sets
});

pub fn for_language(lang: &str) -> Option<&'static StopwordSet> {
    SETS.get(lang)
}
