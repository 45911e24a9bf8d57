//! Which selectors a STIX object holds, for the holder's side of private matching. Read from
//! the copy as the policy cut it for the asker, so a match never reveals a property the cut
//! removed. The table (also in the README):
//!
//! | where | selector |
//! |---|---|
//! | indicator pattern `email-addr:value`, `email-message:*_ref(s).value` | e-mail |
//! | indicator pattern on a type named `*phone*` | phone |
//! | indicator pattern on a type named `*wallet*` / `*cryptocurrency*` | wallet |
//! | `email-addr` observable `value` | e-mail |
//! | observable of a type named `*phone*` (`value`, `number`) | phone |
//! | observable of a type named `*wallet*` / `*cryptocurrency*` (`address`, `value`) | wallet |
//! | `identity` `name` | person (`individual`), organisation (`organization`, `group`, `class`), both when unsaid |
//! | `identity` `contact_information` | each e-mail address and `+`-prefixed phone number in it |
//! | `threat-actor` `name`, `aliases` | person and organisation (a threat actor may be either) |
//! | `intrusion-set` `name`, `aliases` | organisation |
//!
//! STIX 2.1 has no phone, wallet or document observable; custom types that carry them are
//! read by name. Document numbers have no home in STIX, so a holder matches them only where a
//! custom `*document*`/`*passport*` observable gives `STATE:TYPE:NUMBER` in `value`.

use liaison_selectors::SelectorKind;
use serde_json::Value;

/// A raw selector found in an object, before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) kind: SelectorKind,
    pub(crate) raw: String,
}

fn push(out: &mut Vec<Candidate>, kind: SelectorKind, raw: &str) {
    let raw = raw.trim();
    if !raw.is_empty() {
        out.push(Candidate {
            kind,
            raw: raw.to_owned(),
        });
    }
}

/// The kind a custom observable type carries, by its name.
fn custom_kind(object_type: &str) -> Option<SelectorKind> {
    if object_type.contains("phone") {
        Some(SelectorKind::Phone)
    } else if object_type.contains("wallet") || object_type.contains("cryptocurrency") {
        Some(SelectorKind::Wallet)
    } else if object_type.contains("document") || object_type.contains("passport") {
        Some(SelectorKind::Document)
    } else {
        None
    }
}

/// The selector kind a pattern's object path compares, if any.
fn path_kind(path: &str) -> Option<SelectorKind> {
    let (object_type, property) = path.split_once(':')?;
    match object_type {
        "email-addr" if property == "value" => Some(SelectorKind::Email),
        "email-message" if property.ends_with(".value") => Some(SelectorKind::Email),
        _ => custom_kind(object_type),
    }
}

/// Every selector `object` holds (see the table above).
pub(crate) fn selectors_in(object: &Value) -> Vec<Candidate> {
    let mut out = Vec::new();
    let Some(object_type) = object.get("type").and_then(Value::as_str) else {
        return out;
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let names = |out: &mut Vec<Candidate>, kinds: &[SelectorKind]| {
        let aliases = object
            .get("aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        for name in text("name").into_iter().chain(aliases) {
            for &kind in kinds {
                push(out, kind, name);
            }
        }
    };
    use SelectorKind::{Email, OrganisationName, PersonName};
    match object_type {
        "indicator" => {
            if text("pattern_type") == Some("stix") {
                if let Some(pattern) = text("pattern") {
                    for (path, literal) in comparisons(pattern) {
                        if let Some(kind) = path_kind(&path) {
                            push(&mut out, kind, &literal);
                        }
                    }
                }
            }
        }
        "email-addr" => {
            if let Some(v) = text("value") {
                push(&mut out, Email, v);
            }
        }
        "identity" => {
            let kinds: &[SelectorKind] = match text("identity_class") {
                Some("individual") => &[PersonName],
                Some("organization" | "group" | "class") => &[OrganisationName],
                _ => &[PersonName, OrganisationName],
            };
            names(&mut out, kinds);
            if let Some(contact) = text("contact_information") {
                contacts(&mut out, contact);
            }
        }
        "threat-actor" => names(&mut out, &[PersonName, OrganisationName]),
        "intrusion-set" => names(&mut out, &[OrganisationName]),
        other => {
            if let Some(kind) = custom_kind(other) {
                for key in ["value", "number", "address"] {
                    if let Some(v) = text(key) {
                        push(&mut out, kind, v);
                    }
                }
            }
        }
    }
    out
}

/// E-mail addresses and `+`-prefixed phone numbers in free contact text.
fn contacts(out: &mut Vec<Candidate>, contact: &str) {
    for part in contact.split([',', ';', '\n', '|']) {
        let part = part.trim();
        let part = part
            .rsplit_once(": ")
            .map_or(part, |(_, value)| value.trim());
        if part.contains('@') && !part.contains(' ') {
            push(out, SelectorKind::Email, part);
        } else if part.starts_with('+') && part.chars().filter(char::is_ascii_digit).count() >= 7 {
            push(out, SelectorKind::Phone, part);
        }
    }
}

/// The (object path, string literal) pairs a STIX pattern compares with `=` or `IN`. A small
/// scanner, not a full pattern parser: it reads quoted literals (with `\'` and `\\`
/// escapes) and the path token before the operator; anything it does not recognise it skips.
pub(crate) fn comparisons(pattern: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    let mut path = String::new();
    let mut token = String::new();
    // Whether the last operator lets the next literals compare with `path`.
    let mut open = false;
    let mut in_list = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                literal.push(escaped);
                            }
                        }
                        '\'' => break,
                        other => literal.push(other),
                    }
                }
                if open && !path.is_empty() {
                    out.push((path.clone(), literal));
                }
                if !in_list {
                    open = false;
                }
            }
            // `[` opens an observation expression unless it is inside a path (`to_refs[*]`).
            c if c.is_ascii_alphanumeric()
                || "-_:.*]".contains(c)
                || (c == '[' && !token.is_empty()) =>
            {
                token.push(c)
            }
            _ => {
                end_token(&mut token, &mut path, &mut open, &mut in_list);
                match c {
                    '=' if chars.peek() != Some(&'=') => open = true,
                    '(' if open => in_list = true,
                    ')' => {
                        in_list = false;
                        open = false;
                    }
                    '!' | '<' | '>' => {
                        if chars.peek() == Some(&'=') {
                            chars.next();
                        }
                        open = false;
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

fn end_token(token: &mut String, path: &mut String, open: &mut bool, in_list: &mut bool) {
    if token.is_empty() {
        return;
    }
    if token.contains(':') {
        *path = std::mem::take(token);
        *open = false;
        *in_list = false;
    } else if token == "IN" {
        *open = true;
    } else if !*in_list {
        // NOT, LIKE, MATCHES, AND, OR...: a literal after them is no equality.
        *open = false;
    }
    token.clear();
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn patterns_give_the_literals_compared_for_equality() {
        let got = comparisons(
            "[email-addr:value = 'a@example.org' OR email-message:from_ref.value = 'b\\'c@x.org'] \
             AND [x-phone-number:value IN ('+44 20 7946 0000', '+7 495 123 45 67')] \
             AND [domain-name:value != 'skip.example'] AND [file:name LIKE 'skip%']",
        );
        assert_eq!(
            got,
            vec![
                ("email-addr:value".into(), "a@example.org".into()),
                ("email-message:from_ref.value".into(), "b'c@x.org".into()),
                ("x-phone-number:value".into(), "+44 20 7946 0000".into()),
                ("x-phone-number:value".into(), "+7 495 123 45 67".into()),
            ]
        );
    }

    proptest::proptest! {
        /// Whatever the literal holds (quotes and backslashes escaped as STIX patterns
        /// escape them), an equality in any observation gives it back exactly; and no input
        /// makes the scanner panic.
        #[test]
        fn an_escaped_literal_comes_back_exactly(
            literal in "[ -~]{0,40}",
            other in "[ -~]{0,40}",
            noise in "\\PC{0,80}",
        ) {
            let escaped = literal.replace('\\', "\\\\").replace('\'', "\\'");
            let pattern = format!(
                "[file:name = 'x'] AND [email-addr:value = '{escaped}' AND email-addr:display_name != '{}']",
                other.replace('\\', "\\\\").replace('\'', "\\'"),
            );
            let got = comparisons(&pattern);
            proptest::prop_assert_eq!(
                got,
                vec![
                    ("file:name".to_owned(), "x".to_owned()),
                    ("email-addr:value".to_owned(), literal),
                ]
            );
            let _ = comparisons(&noise);
        }
    }

    #[test]
    fn objects_give_their_selectors_by_the_table() {
        let kinds = |o: Value| -> Vec<(SelectorKind, String)> {
            selectors_in(&o)
                .into_iter()
                .map(|c| (c.kind, c.raw))
                .collect()
        };
        use SelectorKind::*;
        assert_eq!(
            kinds(json!({"type": "threat-actor", "name": "Джохар", "aliases": ["Jokhar"]})),
            vec![
                (PersonName, "Джохар".into()),
                (OrganisationName, "Джохар".into()),
                (PersonName, "Jokhar".into()),
                (OrganisationName, "Jokhar".into()),
            ]
        );
        assert_eq!(
            kinds(
                json!({"type": "identity", "name": "A B", "identity_class": "individual",
                "contact_information": "e-mail: a.b@example.org; phone: +44 20 7946 0000, office 12"})
            ),
            vec![
                (PersonName, "A B".into()),
                (Email, "a.b@example.org".into()),
                (Phone, "+44 20 7946 0000".into()),
            ]
        );
        assert_eq!(
            kinds(json!({"type": "indicator", "pattern_type": "stix",
                "pattern": "[email-addr:value = 'x@example.org']"})),
            vec![(Email, "x@example.org".into())]
        );
        // A Sigma rule is not read as a STIX pattern.
        assert!(kinds(json!({"type": "indicator", "pattern_type": "sigma",
            "pattern": "[email-addr:value = 'x@example.org']"}))
        .is_empty());
        assert_eq!(
            kinds(
                json!({"type": "x-cryptocurrency-wallet", "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"})
            ),
            vec![(Wallet, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT".into())]
        );
        assert!(kinds(json!({"type": "report", "name": "Someone"})).is_empty());
    }
}
