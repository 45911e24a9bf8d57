//! The texts liaison signs as C2SP notes (consents, agreements): a header line, then one
//! `<name> <value>` line per field, in a fixed order, each line ending in a newline.

/// The values of `text`'s fields, in the order of `names`, if `text` is exactly `header`
/// then those fields. The error says what is wrong, for the caller to wrap.
pub(crate) fn fields<'t>(
    text: &'t str,
    header: &str,
    names: &[&str],
) -> Result<Vec<&'t str>, String> {
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| "the text does not end with a newline".to_owned())?;
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.first() != Some(&header) {
        return Err(format!("the first line is not `{header}`"));
    }
    if lines.len() != names.len() + 1 {
        return Err(format!(
            "expected {} lines (header, {}), found {}",
            names.len() + 1,
            names.join(", "),
            lines.len()
        ));
    }
    names
        .iter()
        .zip(&lines[1..])
        .enumerate()
        .map(|(i, (name, line))| {
            line.strip_prefix(name)
                .and_then(|r| r.strip_prefix(' '))
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("line {} is not `{name} <value>`", i + 2))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::fields;

    #[test]
    fn fields_are_read_in_order_and_anything_else_is_refused() {
        let names = ["a", "b"];
        assert_eq!(
            fields("h\na 1\nb 2 3\n", "h", &names).unwrap(),
            ["1", "2 3"]
        );
        for (bad, why) in [
            ("h\na 1\nb 2", "newline"),
            ("x\na 1\nb 2\n", "first line"),
            ("h\na 1\n", "expected 3 lines"),
            ("h\nb 1\na 2\n", "line 2 is not `a <value>`"),
            ("h\na 1\nb \n", "line 3"),
            ("h\na 1\nb2\n", "line 3"),
        ] {
            let e = fields(bad, "h", &names).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
