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
    // Trigram statistics converge long before this; bounding the input bounds the cost.
    let head = &text[..floor_boundary(text, 4096)];
    let info = whatlang::detect(head)?;
    let lang = normalize_lang(info.lang().code()).ok()?;
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
}
