//! Language codes: the engine speaks ISO 639-1 ("en", "zh"); 639-2/3 codes and BCP-47 tags are folded into it.

use crate::error::{Error, Result};

/// ISO 639-1 codes (all 184 of them).
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi",
    "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de", "dv",
    "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy", "ga", "gd",
    "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia", "id", "ie", "ig",
    "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko",
    "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv", "mg", "mh",
    "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr",
    "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru",
    "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su",
    "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug",
    "uk", "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Three-letter codes seen in practice (bench files, whatlang, ISO 639-2/B and macrolanguage members).
const ALIASES: &[(&str, &str)] = &[
    ("eng", "en"), ("deu", "de"), ("ger", "de"), ("fra", "fr"), ("fre", "fr"), ("spa", "es"), ("rus", "ru"),
    ("ara", "ar"), ("arb", "ar"), ("cmn", "zh"), ("zho", "zh"), ("chi", "zh"), ("jpn", "ja"), ("kor", "ko"),
    ("hin", "hi"), ("tha", "th"), ("tur", "tr"), ("swa", "sw"), ("swh", "sw"), ("por", "pt"), ("ita", "it"),
    ("nld", "nl"), ("dut", "nl"), ("pol", "pl"), ("ukr", "uk"), ("ell", "el"), ("gre", "el"), ("vie", "vi"),
    ("ron", "ro"), ("rum", "ro"), ("ind", "id"), ("ben", "bn"), ("fas", "fa"), ("per", "fa"), ("pes", "fa"),
    ("heb", "he"), ("ces", "cs"), ("cze", "cs"), ("swe", "sv"), ("dan", "da"), ("fin", "fi"), ("hun", "hu"),
    ("nob", "nb"), ("nor", "no"), ("tam", "ta"), ("urd", "ur"), ("mar", "mr"), ("tel", "te"), ("guj", "gu"),
    ("kan", "kn"), ("mal", "ml"), ("pan", "pa"), ("khm", "km"), ("lao", "lo"), ("mya", "my"), ("bur", "my"),
    ("bul", "bg"), ("hrv", "hr"), ("srp", "sr"), ("slk", "sk"), ("slo", "sk"), ("slv", "sl"), ("lit", "lt"),
    ("lav", "lv"), ("est", "et"), ("cat", "ca"), ("kat", "ka"), ("geo", "ka"), ("hye", "hy"), ("arm", "hy"),
    ("aze", "az"), ("azj", "az"), ("kaz", "kk"), ("uzb", "uz"), ("uzn", "uz"), ("tgl", "tl"), ("msa", "ms"),
    ("zsm", "ms"), ("may", "ms"), ("amh", "am"), ("yor", "yo"), ("zul", "zu"), ("xho", "xh"), ("sna", "sn"),
    ("nep", "ne"), ("npi", "ne"), ("sin", "si"), ("epo", "eo"), ("lat", "la"), ("bel", "be"), ("mkd", "mk"),
    ("afr", "af"), ("aka", "ak"), ("ori", "or"), ("ory", "or"), ("pus", "ps"), ("som", "so"), ("kin", "rw"),
    ("jav", "jv"), ("sun", "su"), ("glg", "gl"), ("eus", "eu"), ("baq", "eu"), ("isl", "is"), ("gle", "ga"),
    ("cym", "cy"), ("mlt", "mt"), ("alb", "sq"), ("sqi", "sq"), ("als", "sq"), ("tuk", "tk"), ("tat", "tt"),
    ("kir", "ky"), ("mon", "mn"), ("khk", "mn"), ("tgk", "tg"), ("uig", "ug"), ("yid", "yi"), ("bos", "bs"),
];

/// Folds a user- or file-supplied language tag to the engine's ISO 639-1 code.
///
/// Accepts "en", "EN", "en-US", "zh_CN", "zho-CN", "deu"; rejects anything else with a clear message.
pub fn normalize_lang(tag: &str) -> Result<String> {
    let trimmed = tag.trim();
    let base = trimmed.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    if ISO_639_1.binary_search(&base.as_str()).is_ok() {
        return Ok(base);
    }
    if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == base) {
        return Ok((*code).to_string());
    }
    Err(Error::InvalidInput(format!(
        "unknown language code {trimmed:?}: use an ISO 639-1 code such as \"en\", \"de\" or \"zh\""
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(ISO_639_1.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn folds_tags_to_iso_639_1() {
        assert_eq!(normalize_lang("EN-us").unwrap(), "en");
        assert_eq!(normalize_lang("zho-CN").unwrap(), "zh");
        assert_eq!(normalize_lang("zh_TW").unwrap(), "zh");
        assert_eq!(normalize_lang("swh").unwrap(), "sw");
        assert!(normalize_lang("xx").is_err());
        assert!(normalize_lang("").is_err());
    }
}

/// The ISO 15924 script a language is (mostly) written in, for the languages where one script dominates.
pub fn language_script(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "ru" | "uk" | "be" | "bg" | "mk" | "sr" | "kk" | "ky" | "tg" | "mn" | "tt" | "ba" | "cv" | "os" => "Cyrl",
        "ar" | "fa" | "ur" | "ps" | "sd" | "ug" | "ku" => "Arab",
        "he" | "yi" => "Hebr",
        "el" => "Grek",
        "hi" | "mr" | "ne" | "sa" => "Deva",
        "bn" | "as" => "Beng",
        "pa" => "Guru",
        "gu" => "Gujr",
        "or" => "Orya",
        "ta" => "Taml",
        "te" => "Telu",
        "kn" => "Knda",
        "ml" => "Mlym",
        "si" => "Sinh",
        "th" => "Thai",
        "lo" => "Laoo",
        "km" => "Khmr",
        "my" => "Mymr",
        "ka" => "Geor",
        "hy" => "Armn",
        "am" | "ti" => "Ethi",
        "zh" => "Hani",
        "ja" => "Jpan",
        "ko" => "Kore",
        "dv" => "Thaa",
        "bo" | "dz" => "Tibt",
        _ if ISO_639_1.binary_search(&lang).is_ok() => "Latn",
        _ => return None,
    })
}

fn char_script(c: char) -> Option<&'static str> {
    let u = c as u32;
    Some(match u {
        _ if c.is_ascii_alphabetic() => "Latn",
        0xC0..=0x24F | 0x1E00..=0x1EFF => "Latn",
        0x370..=0x3FF | 0x1F00..=0x1FFF => "Grek",
        0x400..=0x52F => "Cyrl",
        0x530..=0x58F => "Armn",
        0x590..=0x5FF => "Hebr",
        0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => "Arab",
        0x780..=0x7BF => "Thaa",
        0x900..=0x97F => "Deva",
        0x980..=0x9FF => "Beng",
        0xA00..=0xA7F => "Guru",
        0xA80..=0xAFF => "Gujr",
        0xB00..=0xB7F => "Orya",
        0xB80..=0xBFF => "Taml",
        0xC00..=0xC7F => "Telu",
        0xC80..=0xCFF => "Knda",
        0xD00..=0xD7F => "Mlym",
        0xD80..=0xDFF => "Sinh",
        0xE00..=0xE7F => "Thai",
        0xE80..=0xEFF => "Laoo",
        0xF00..=0xFFF => "Tibt",
        0x1000..=0x109F => "Mymr",
        0x10A0..=0x10FF => "Geor",
        0x1200..=0x139F => "Ethi",
        0x1780..=0x17FF => "Khmr",
        0x3040..=0x30FF | 0x31F0..=0x31FF => "Jpan",
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => "Kore",
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F => "Hani",
        _ => return None,
    })
}

/// The script most of the letters of `text` are written in (kana anywhere makes Han text Japanese),
/// or None when it has no letters of a known script. Works on a single word, unlike language detection.
pub fn dominant_script(text: &str) -> Option<&'static str> {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for c in text.chars().take(4096) {
        if let Some(s) = char_script(c) {
            match counts.iter_mut().find(|(name, _)| *name == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s, 1)),
            }
        }
    }
    let has = |s: &str| counts.iter().any(|(n, _)| *n == s);
    let best = counts.iter().max_by_key(|(_, n)| *n).map(|(s, _)| *s)?;
    Some(if best == "Hani" && has("Jpan") { "Jpan" } else { best })
}

#[cfg(test)]
mod script_tests {
    use super::*;

    #[test]
    fn scripts_of_text_and_languages() {
        assert_eq!(dominant_script("Panthers"), Some("Latn"));
        assert_eq!(dominant_script("Пантеры 2016"), Some("Cyrl"));
        assert_eq!(dominant_script("北京大学"), Some("Hani"));
        assert_eq!(dominant_script("東京の大学"), Some("Jpan"));
        assert_eq!(dominant_script("123 ?!"), None);
        assert_eq!(language_script("de"), Some("Latn"));
        assert_eq!(language_script("hi"), Some("Deva"));
        assert_eq!(language_script("zh"), Some("Hani"));
    }
}
