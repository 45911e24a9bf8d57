//! Person and organisation names, in Latin, Cyrillic or Arabic script, to at most three keys:
//!
//! 1. **exact** (`KeyStrength::Exact`): lower-cased; Cyrillic transliterated by this crate's
//!    table (a simplified BGN/PCGN: `х`→`kh`, `ц`→`ts`, `й`/`ы`→`y`, `ё`/`э`→`e`, `ъ`/`ь`
//!    dropped), every other script and all diacritics through `any_ascii`; apostrophes
//!    dropped, other punctuation splits tokens; Arabic articles (`al`, `el`, a leading `ال`)
//!    (`abdel`/`abdul`→`abd`, as in `عبد الناصر`) and, for organisations, legal forms (`llc`, `ooo`, …) dropped; tokens sorted and joined
//!    by one space.
//! 2. **phonetic** (`Weak(1)`), per token, in this order: a few whole-token variants
//!    (`alexander`→`aleksandr`); `shch`/`sch`→`sh`, `tsch`/`tch`→`ch`, `dzh`/`dj`/`zh`→`j`,
//!    `kh`→`h`, `gh`→`g`, `ph`→`f`, `th`→`t`, `ck`/`q`→`k`, `x`→`ks`, `w`→`v`, `tz`→`ts`;
//!    a leading `ye`→`e`; `y` between a vowel and `e` dropped; `yo` after a consonant →`e`;
//!    every other `y`→`i`; a final `ij`→`i`; doubled letters collapsed; a final `-of`/`-ef`
//!    →`-ov`/`-ev` and `-chov`/`-shov`/`-jov` →`-chev`/`-shev`/`-jev` (the endings themselves
//!    are kept, so Petrov and Petrova stay apart). Tokens sorted.
//! 3. **consonant skeleton** (`Weak(2)`), so that unvowelled Arabic meets its Latin forms
//!    (محمد / Mohammed / Muhammad): from the exact tokens, `kh`→`h`, `gh`→`g`, `ph`→`f`,
//!    `th`→`t`, `q`→`k`, `x`→`ks`, `dzh`/`dj`/`zh`/`j`→`g` (Egyptian `ج`); then the vowels `aeiou` and `y`, `w`
//!    dropped, doubled letters collapsed, a final `h` dropped; tokens joined in written order
//!    with no space; only when the result has at least [`MIN_SKELETON`] letters.
//!
//! Each key is given even when its text equals another's (the strength is in its bytes). Changing any rule here changes `NORMALISER_VERSION`.

use crate::{KeyStrength, SelectorError};

/// The shortest consonant skeleton emitted: shorter ones (`Ali` → `l`) meet too many people.
const MIN_SKELETON: usize = 4;

/// Arabic articles written as separate tokens in Latin script.
const ARTICLES: &[&str] = &["al", "el", "ul"];

/// Legal-form tokens dropped from organisation names.
const LEGAL_FORMS: &[&str] = &[
    "ooo", "zao", "oao", "pao", "ao", "llc", "ltd", "limited", "inc", "gmbh", "co", "corp", "plc",
    "jsc", "sa", "ag", "bv", "srl", "company",
];

/// Whole-token variants that the letter rules do not bring together.
const TOKEN_VARIANTS: &[(&str, &str)] = &[
    ("alexander", "aleksandr"),
    ("aleksander", "aleksandr"),
    ("alexandr", "aleksandr"),
    ("alexandre", "aleksandr"),
    ("jurij", "yuri"),
    ("juri", "yuri"),
    ("iouri", "yuri"),
    ("evgenij", "evgeni"),
    ("jevgeni", "evgeni"),
    ("pyotr", "petr"),
    ("piotr", "petr"),
    ("mikhael", "mikhail"),
    ("mihail", "mikhail"),
    ("michail", "mikhail"),
];

pub(crate) fn normalise(
    raw: &str,
    organisation: bool,
) -> Result<Vec<(KeyStrength, String)>, SelectorError> {
    let mut tokens = tokens(raw);
    if organisation && tokens.iter().any(|t| !LEGAL_FORMS.contains(&t.as_str())) {
        tokens.retain(|t| !LEGAL_FORMS.contains(&t.as_str()));
    }
    if tokens.is_empty() {
        return Err(SelectorError::Empty {
            input: raw.to_owned(),
        });
    }
    let mut keys = Vec::with_capacity(3);
    // Each key is given even when its text equals another's: the strength is part of the
    // key's bytes, so `sergei` (exact) must also be given as `sergei` (phonetic) to meet
    // `Sergey`'s phonetic key.
    keys.push((KeyStrength::Exact, sorted(tokens.clone(), " ")));
    keys.push((
        KeyStrength::Weak(1),
        sorted(tokens.iter().map(|t| phonetic(t)).collect(), " "),
    ));
    // In written order, not sorted: an Arabic name splits into tokens where its Latin form
    // may not (`نصر الله` / `Nasrallah`), and both are usually written given name first.
    let skeleton: String = tokens.iter().map(|t| consonants(t)).collect();
    if skeleton.len() >= MIN_SKELETON {
        keys.push((KeyStrength::Weak(2), skeleton));
    }
    Ok(keys)
}

fn sorted(mut tokens: Vec<String>, separator: &str) -> String {
    tokens.retain(|t| !t.is_empty());
    tokens.sort();
    tokens.join(separator)
}

/// Lower-cased ASCII tokens, transliterated, punctuation dropped, articles removed.
fn tokens(raw: &str) -> Vec<String> {
    let mut latin = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        // The Arabic definite article is written joined to its noun.
        let word = word.strip_prefix("\u{0627}\u{0644}").unwrap_or(word);
        for c in word.chars().flat_map(char::to_lowercase) {
            match cyrillic(c) {
                Some(latin_letters) => latin.push_str(latin_letters),
                None => latin.push_str(&any_ascii::any_ascii_char(c).to_ascii_lowercase()),
            }
        }
        latin.push(' ');
    }
    latin
        .replace(['\'', '`', '\u{2019}'], "")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty() && !ARTICLES.contains(t))
        // `Abdel Nasser` is `عبد الناصر`: the article contracted into `abd`.
        .map(|t| match t {
            "abdel" | "abdul" | "abdal" | "abdol" => "abd".to_owned(),
            _ => t.to_owned(),
        })
        .collect()
}

/// This crate's Cyrillic table (Russian, with the Ukrainian and Belarusian extra letters).
fn cyrillic(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'є' => "ye",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' => "i",
        'ї' => "yi",
        'й' | 'ы' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        _ => return None,
    })
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

fn phonetic(token: &str) -> String {
    let token = TOKEN_VARIANTS
        .iter()
        .find(|(variant, _)| *variant == token)
        .map_or(token, |(_, canonical)| canonical);
    let mut t = token.to_owned();
    for (from, to) in [
        ("shch", "sh"),
        ("tsch", "ch"),
        ("sch", "sh"),
        ("tch", "ch"),
        ("dzh", "j"),
        ("dj", "j"),
        ("zh", "j"),
        ("kh", "h"),
        ("gh", "g"),
        ("ph", "f"),
        ("th", "t"),
        ("ck", "k"),
        ("q", "k"),
        ("x", "ks"),
        ("w", "v"),
        ("tz", "ts"),
    ] {
        t = t.replace(from, to);
    }
    if let Some(rest) = t.strip_prefix("ye") {
        t = format!("e{rest}");
    }
    let bytes = t.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        let prev = out.last().copied();
        let next = bytes.get(i + 1).copied();
        if c == b'y' {
            match (prev, next) {
                (Some(p), Some(b'e')) if is_vowel(p) => {}
                (Some(p), Some(b'o')) if !is_vowel(p) => {
                    out.push(b'e');
                    i += 1;
                }
                _ => out.push(b'i'),
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    let mut t = String::from_utf8_lossy(&out).into_owned();
    if let Some(rest) = t.strip_suffix("ij") {
        t = format!("{rest}i");
    }
    let mut t = collapse_doubles(&t);
    for (from, to) in [
        ("of", "ov"),
        ("ef", "ev"),
        ("chov", "chev"),
        ("shov", "shev"),
        ("jov", "jev"),
    ] {
        if let Some(rest) = t.strip_suffix(from) {
            t = format!("{rest}{to}");
        }
    }
    t
}

fn consonants(token: &str) -> String {
    let mut t = token.to_owned();
    for (from, to) in [
        ("dzh", "g"),
        ("dj", "g"),
        ("zh", "g"),
        ("j", "g"),
        ("kh", "h"),
        ("gh", "g"),
        ("ph", "f"),
        ("th", "t"),
        ("q", "k"),
        ("x", "ks"),
    ] {
        t = t.replace(from, to);
    }
    t.retain(|c| !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'w'));
    let t = collapse_doubles(&t);
    t.strip_suffix('h').map_or(t.clone(), str::to_owned)
}

fn collapse_doubles(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(raw: &str) -> Vec<String> {
        normalise(raw, false)
            .unwrap()
            .into_iter()
            .map(|(_, k)| k)
            .collect()
    }

    #[test]
    fn cyrillic_and_latin_spellings_share_the_phonetic_key() {
        let phonetic = |raw| sorted(tokens(raw).iter().map(|t| phonetic(t)).collect(), " ");
        assert_eq!(keys("Сергей")[..2], ["sergey", "sergei"]);
        assert_eq!(phonetic("Sergei"), "sergei");
        assert_eq!(phonetic("Царнаев Джохар"), phonetic("Dzhokhar TSARNAYEV"));
        assert_eq!(phonetic("Горбачёв"), phonetic("Gorbachov"));
        assert_eq!(phonetic("Fyodor"), phonetic("Фёдор"));
    }

    #[test]
    fn unvowelled_arabic_meets_latin_through_the_consonant_skeleton() {
        assert_eq!(keys("محمد").last(), keys("Muhammad").last());
        assert_eq!(keys("Mohammed").last().unwrap(), "mhmd");
        assert_eq!(
            keys("أبو بكر البغدادي").last(),
            keys("Abu Bakr al-Baghdadi").last()
        );
    }

    #[test]
    fn diacritics_punctuation_and_order_are_folded() {
        assert_eq!(keys("Müller, Zoë")[0], "muller zoe");
        assert_eq!(keys("O'Brien  Seán")[0], "obrien sean");
    }

    #[test]
    fn organisation_legal_forms_are_dropped_but_never_to_nothing() {
        let org = |raw| normalise(raw, true).unwrap().remove(0).1;
        assert_eq!(org("ООО «Рога и копыта»"), org("Roga i Kopyta LLC"));
        assert_eq!(org("LLC"), "llc");
    }

    #[test]
    fn empty_names_are_refused() {
        assert!(matches!(
            normalise(" -- ", false),
            Err(SelectorError::Empty { .. })
        ));
    }

    #[test]
    fn at_most_four_keys() {
        for raw in ["Abd al-Rahman ibn Muhammad", "Екатерина Щербакова", "Ли"] {
            assert!(keys(raw).len() <= 4);
        }
    }
}
