//! E-mail addresses: trimmed and lower-cased (the exact key). Provider rules give a second,
//! weaker key: `+tags` dropped everywhere, and for Gmail dots in the local part dropped and
//! `googlemail.com` read as `gmail.com`. A match on the weak key alone is a lead only.

use crate::{KeyStrength, SelectorError};

/// Domains whose mail service ignores dots in the local part.
const DOTLESS_DOMAINS: &[&str] = &["gmail.com", "googlemail.com"];

pub(crate) fn normalise(raw: &str) -> Result<Vec<(KeyStrength, String)>, SelectorError> {
    let error = |reason: &str| SelectorError::Email {
        input: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let address = raw
        .trim()
        .trim_start_matches("mailto:")
        .trim_matches(|c| c == '<' || c == '>')
        .to_lowercase();
    let (local, domain) = address
        .rsplit_once('@')
        .ok_or_else(|| error("it has no `@`"))?;
    let domain = domain.trim_end_matches('.');
    if local.is_empty() {
        return Err(error("the part before `@` is empty"));
    }
    if local.contains('@') && !(local.starts_with('"') && local.ends_with('"')) {
        return Err(error("it has more than one `@`"));
    }
    if domain.is_empty() || !domain.contains('.') || domain.starts_with('.') {
        return Err(error("the domain is not a dotted name"));
    }
    if address.chars().any(char::is_whitespace) {
        return Err(error("it holds whitespace"));
    }
    let exact = format!("{local}@{domain}");
    let mut keys = vec![(KeyStrength::Exact, exact.clone())];

    let untagged = local.split_once('+').map_or(local, |(base, _)| base);
    let (local, domain) = if DOTLESS_DOMAINS.contains(&domain) {
        (untagged.replace('.', ""), "gmail.com")
    } else {
        (untagged.to_owned(), domain)
    };
    let weak = format!("{local}@{domain}");
    if !local.is_empty() && weak != exact {
        keys.push((KeyStrength::Weak(1), weak));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(raw: &str) -> Vec<String> {
        normalise(raw)
            .unwrap()
            .into_iter()
            .map(|(_, k)| k)
            .collect()
    }

    #[test]
    fn case_and_space_are_folded() {
        assert_eq!(
            keys("  Ivan.Petrov@Example.RU "),
            ["ivan.petrov@example.ru"]
        );
    }

    #[test]
    fn gmail_dots_and_tags_give_a_weak_second_key() {
        assert_eq!(
            keys("Ivan.Petrov+spam@googlemail.com"),
            ["ivan.petrov+spam@googlemail.com", "ivanpetrov@gmail.com"]
        );
        assert_eq!(keys("ivanpetrov@gmail.com"), ["ivanpetrov@gmail.com"]);
        assert_eq!(keys("a.b+x@mail.ru"), ["a.b+x@mail.ru", "a.b@mail.ru"]);
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "no-at.example",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
        ] {
            let err = normalise(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }
}
