//! A light stemmer for Hindi: strips the inflectional suffixes listed by Ramanathan & Rao (2003),
//! "A Lightweight Stemmer for Hindi", longest first, keeping a stem of at least two characters.

/// Suffixes grouped by length in characters, longest group first.
const SUFFIXES: &[&[&str]] = &[
    &["ाएंगी", "ाएंगे", "ाऊंगी", "ाऊंगा", "ाइयाँ", "ाइयों", "ाइयां"],
    &[
        "ाएगी", "ाएगा", "ाओगी", "ाओगे", "एंगी", "ेंगी", "एंगे", "ेंगे", "ूंगी", "ूंगा", "ातीं", "नाओं", "नाएं", "ताओं",
        "ताएं", "ियाँ", "ियों", "ियां",
    ],
    &[
        "ाकर", "ाइए", "ाईं", "ाया", "ेगी", "ेगा", "ोगी", "ोगे", "ाने", "ाना", "ाते", "ाती", "ाता", "तीं", "ाओं", "ाएं",
        "ुओं", "ुएं", "ुआं",
    ],
    &["कर", "ाओ", "िए", "ाई", "ाए", "ने", "नी", "ना", "ते", "ीं", "ती", "ता", "ाँ", "ां", "ों", "ें"],
    &["ो", "े", "ू", "ु", "ी", "ि", "ा"],
];

const MIN_STEM_CHARS: usize = 2;

pub fn stem(word: &str) -> &str {
    let chars = word.chars().count();
    for group in SUFFIXES {
        for suffix in *group {
            if let Some(stem) = word.strip_suffix(suffix) {
                if chars - suffix.chars().count() >= MIN_STEM_CHARS {
                    return stem;
                }
            }
        }
    }
    word
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn strips_inflections_to_a_shared_stem() {
        assert_eq!(stem("लड़कियों"), stem("लड़की"));
        assert_eq!(stem("किताबें"), "किताब");
        assert_eq!(stem("खाएंगे"), "खा");
        assert_eq!(stem("का"), "का");
    }
}
