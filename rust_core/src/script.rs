//! Writing systems, named by their ISO 15924 codes: one type for the analyzer (which words a language's
//! rules apply to), language detection and the bindings (which hand Python the same four-letter codes).

/// A script, as ISO 15924 names it. `Jpan` stands for Japanese text (Han with kana), `Kore` for Hangul.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    Latn,
    Grek,
    Cyrl,
    Armn,
    Hebr,
    Arab,
    Thaa,
    Deva,
    Beng,
    Guru,
    Gujr,
    Orya,
    Taml,
    Telu,
    Knda,
    Mlym,
    Sinh,
    Thai,
    Laoo,
    Tibt,
    Mymr,
    Geor,
    Ethi,
    Khmr,
    Jpan,
    Kore,
    Hani,
}

impl Script {
    /// The ISO 15924 code ("Latn", "Cyrl", "Hani", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Script::Latn => "Latn",
            Script::Grek => "Grek",
            Script::Cyrl => "Cyrl",
            Script::Armn => "Armn",
            Script::Hebr => "Hebr",
            Script::Arab => "Arab",
            Script::Thaa => "Thaa",
            Script::Deva => "Deva",
            Script::Beng => "Beng",
            Script::Guru => "Guru",
            Script::Gujr => "Gujr",
            Script::Orya => "Orya",
            Script::Taml => "Taml",
            Script::Telu => "Telu",
            Script::Knda => "Knda",
            Script::Mlym => "Mlym",
            Script::Sinh => "Sinh",
            Script::Thai => "Thai",
            Script::Laoo => "Laoo",
            Script::Tibt => "Tibt",
            Script::Mymr => "Mymr",
            Script::Geor => "Geor",
            Script::Ethi => "Ethi",
            Script::Khmr => "Khmr",
            Script::Jpan => "Jpan",
            Script::Kore => "Kore",
            Script::Hani => "Hani",
        }
    }

    /// The script of a letter, or None for digits, punctuation and scripts not listed.
    pub fn of_char(c: char) -> Option<Script> {
        let u = c as u32;
        Some(match u {
            _ if c.is_ascii_alphabetic() => Script::Latn,
            0xC0..=0x24F | 0x1E00..=0x1EFF => Script::Latn,
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Grek,
            0x400..=0x52F => Script::Cyrl,
            0x530..=0x58F => Script::Armn,
            0x590..=0x5FF => Script::Hebr,
            0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arab,
            0x780..=0x7BF => Script::Thaa,
            0x900..=0x97F => Script::Deva,
            0x980..=0x9FF => Script::Beng,
            0xA00..=0xA7F => Script::Guru,
            0xA80..=0xAFF => Script::Gujr,
            0xB00..=0xB7F => Script::Orya,
            0xB80..=0xBFF => Script::Taml,
            0xC00..=0xC7F => Script::Telu,
            0xC80..=0xCFF => Script::Knda,
            0xD00..=0xD7F => Script::Mlym,
            0xD80..=0xDFF => Script::Sinh,
            0xE00..=0xE7F => Script::Thai,
            0xE80..=0xEFF => Script::Laoo,
            0xF00..=0xFFF => Script::Tibt,
            0x1000..=0x109F => Script::Mymr,
            0x10A0..=0x10FF => Script::Geor,
            0x1200..=0x139F => Script::Ethi,
            0x1780..=0x17FF => Script::Khmr,
            0x3040..=0x30FF | 0x31F0..=0x31FF => Script::Jpan,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Kore,
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F => Script::Hani,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The script most of the letters of `text` are written in (kana anywhere makes Han text Japanese),
/// or None when it has no letters of a known script. Works on a single word, unlike language detection.
pub fn dominant_script(text: &str) -> Option<Script> {
    let mut counts: Vec<(Script, usize)> = Vec::new();
    for c in text.chars().take(4096) {
        if let Some(s) = Script::of_char(c) {
            match counts.iter_mut().find(|(name, _)| *name == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s, 1)),
            }
        }
    }
    let has = |s: Script| counts.iter().any(|(n, _)| *n == s);
    let best = counts.iter().max_by_key(|(_, n)| *n).map(|(s, _)| *s)?;
    Some(if best == Script::Hani && has(Script::Jpan) { Script::Jpan } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_of_text() {
        assert_eq!(dominant_script("Panthers"), Some(Script::Latn));
        assert_eq!(dominant_script("Пантеры 2016"), Some(Script::Cyrl));
        assert_eq!(dominant_script("北京大学"), Some(Script::Hani));
        assert_eq!(dominant_script("東京の大学"), Some(Script::Jpan));
        assert_eq!(dominant_script("123 ?!"), None);
        assert_eq!(Script::Cyrl.as_str(), "Cyrl");
    }
}
