//! Language identification (whatlang: trigram profiles and script rules for 69 languages, its model
//! compiled in). Short or mixed texts are unreliable; callers decide what confidence they accept.

use crate::lang::normalize_lang;

#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// ISO 639-1 code.
    pub lang: String,
    pub confidence: f64,
    /// whatlang's own judgement of whether the guess can be trusted.
    pub reliable: bool,
}

/// Identifies the language of `text`, or None when nothing can be said (no letters, unknown script).
pub fn detect_language(text: &str) -> Option<Detection> {
    detect_language_among(text, None)
}

/// As [`detect_language`], choosing only among `candidates` (ISO 639-1 codes; None: all 69). A short
/// query's trigrams fit rare neighbours about as well as its real language ("Wie viele Punkte?" scores
/// as Afrikaans, many Russian questions as Ukrainian); ruling out the languages the caller does not
/// expect makes the guess both likelier right and surer. None also when no candidate is written in the
/// text's script (or there are no candidates).
pub fn detect_language_among(text: &str, candidates: Option<&[String]>) -> Option<Detection> {
    // Trigram statistics converge long before this; bounding the input bounds the cost.
    let head = &text[..floor_boundary(text, 4096)];
    let info = match candidates {
        None => whatlang::detect(head)?,
        Some(candidates) => {
            let allowed: Vec<whatlang::Lang> = whatlang::Lang::all()
                .iter()
                .copied()
                .filter(|l| normalize_lang(l.code()).is_ok_and(|code| candidates.contains(&code)))
                .collect();
            if allowed.is_empty() {
                return None;
            }
            whatlang::Detector::with_allowlist(allowed).detect(head)?
        }
    };
    let lang = normalize_lang(info.lang().code()).ok()?;
    // whatlang answers Han text with Chinese or Japanese whatever the allowlist says.
    if candidates.is_some_and(|c| !c.contains(&lang)) {
        return None;
    }
    Some(Detection { lang, confidence: info.confidence(), reliable: info.is_reliable() })
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_common_languages() {
        let cases = [
            ("en", "The quick brown fox jumps over the lazy dog and runs into the forest."),
            ("de", "Der schnelle braune Fuchs springt über den faulen Hund und läuft in den Wald."),
            ("ru", "Быстрая коричневая лиса прыгает через ленивую собаку и убегает в лес."),
            ("zh", "敏捷的棕色狐狸跳过了懒狗，跑进了森林。"),
            ("th", "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ"),
            ("hi", "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है और जंगल में भाग जाती है।"),
            ("ar", "الثعلب البني السريع يقفز فوق الكلب الكسول ويركض إلى الغابة."),
        ];
        for (want, text) in cases {
            assert_eq!(detect_language(text).map(|d| d.lang).as_deref(), Some(want), "{text}");
        }
        assert!(detect_language("12345 !!!").is_none());
    }

    #[test]
    fn candidates_rule_out_rare_neighbours() {
        let among = |text: &str, langs: &[&str]| {
            let langs: Vec<String> = langs.iter().map(|l| l.to_string()).collect();
            detect_language_among(text, Some(&langs)).map(|d| d.lang)
        };
        // Unrestricted, whatlang calls these Afrikaans and Ukrainian.
        assert_eq!(detect_language("Wie viele Punkte?").map(|d| d.lang).as_deref(), Some("af"));
        assert_eq!(detect_language("Сколько перехватов сделала защита?").map(|d| d.lang).as_deref(), Some("uk"));
        assert_eq!(among("Wie viele Punkte?", &["en", "de", "ru"]).as_deref(), Some("de"));
        assert_eq!(among("Сколько перехватов сделала защита?", &["en", "de", "ru"]).as_deref(), Some("ru"));
        // No candidate in the text's script, or no known candidate at all: nothing to say.
        assert_eq!(among("敏捷的棕色狐狸跳过了懒狗", &["en", "de"]), None);
        assert_eq!(among("Wie viele Punkte?", &["xx"]), None);
        assert_eq!(among("Wie viele Punkte?", &[]), None);
    }
}
