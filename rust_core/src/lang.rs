//! Language codes: the engine speaks ISO 639-1 ("en", "zh"); 639-2/3 codes and BCP-47 tags are folded into it.

use crate::error::{Error, Result};
use crate::script::Script;

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
pub fn language_script(lang: &str) -> Option<Script> {
    Some(match lang {
        "ru" | "uk" | "be" | "bg" | "mk" | "sr" | "kk" | "ky" | "tg" | "mn" | "tt" | "ba" | "cv" | "os" => Script::Cyrl,
        "ar" | "fa" | "ur" | "ps" | "sd" | "ug" | "ku" => Script::Arab,
        "he" | "yi" => Script::Hebr,
        "el" => Script::Grek,
        "hi" | "mr" | "ne" | "sa" => Script::Deva,
        "bn" | "as" => Script::Beng,
        "pa" => Script::Guru,
        "gu" => Script::Gujr,
        "or" => Script::Orya,
        "ta" => Script::Taml,
        "te" => Script::Telu,
        "kn" => Script::Knda,
        "ml" => Script::Mlym,
        "si" => Script::Sinh,
        "th" => Script::Thai,
        "lo" => Script::Laoo,
        "km" => Script::Khmr,
        "my" => Script::Mymr,
        "ka" => Script::Geor,
        "hy" => Script::Armn,
        "am" | "ti" => Script::Ethi,
        "zh" => Script::Hani,
        "ja" => Script::Jpan,
        "ko" => Script::Kore,
        "dv" => Script::Thaa,
        "bo" | "dz" => Script::Tibt,
        _ if ISO_639_1.binary_search(&lang).is_ok() => Script::Latn,
        _ => return None,
    })
}

#[cfg(test)]
mod script_tests {
    use super::*;

    #[test]
    fn scripts_of_languages() {
        assert_eq!(language_script("de"), Some(Script::Latn));
        assert_eq!(language_script("hi"), Some(Script::Deva));
        assert_eq!(language_script("zh"), Some(Script::Hani));
        assert_eq!(language_script("ja"), Some(Script::Jpan));
        assert_eq!(language_script("xx"), None);
    }
}
