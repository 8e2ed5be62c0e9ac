//! Blocks of `docs/benchmarks.md` that one harness writes and the others keep: each sits
//! between an HTML comment marker pair, so a harness can replace its own block and leave the
//! rest of the report as it is.

/// The partition-scale block, written by `sluice-partitions`.
pub const PARTITIONS: (&str, &str) = ("<!-- partitions:begin -->", "<!-- partitions:end -->");

/// The block between `markers` in `text`, markers included.
pub fn find<'a>(text: &'a str, markers: (&str, &str)) -> Option<&'a str> {
    let (begin, end) = markers;
    let b = text.find(begin)?;
    let e = text[b..].find(end)? + b;
    Some(&text[b..e + end.len()])
}

/// `text` with its block between `markers` replaced by `block`, or with `block` appended.
pub fn replace(text: &str, markers: (&str, &str), block: &str) -> String {
    match find(text, markers) {
        Some(old) => text.replacen(old, block, 1),
        None => format!("{}\n\n{block}\n", text.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_replaced_in_place_or_appended() {
        let m = ("<!-- a -->", "<!-- /a -->");
        let text = "head\n<!-- a -->\nold\n<!-- /a -->\ntail\n";
        assert_eq!(find(text, m), Some("<!-- a -->\nold\n<!-- /a -->"));
        let new = "<!-- a -->\nnew\n<!-- /a -->";
        assert_eq!(
            replace(text, m, new),
            "head\n<!-- a -->\nnew\n<!-- /a -->\ntail\n"
        );
        assert_eq!(replace("head\n", m, new), format!("head\n\n{new}\n"));
    }
}
