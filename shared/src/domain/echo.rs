//! The client's own text in an error message: quoted, but never more than [`MAX_ECHO_CHARS`]
//! characters of it, so a 10 kB value is not sent back (or logged) whole.

use std::borrow::Cow;

/// The most characters of a client's value an error message quotes; a longer one is cut there
/// and ends in `…`.
pub const MAX_ECHO_CHARS: usize = 64;

/// `text` as an error message may quote it: whole up to [`MAX_ECHO_CHARS`] characters, else its
/// first [`MAX_ECHO_CHARS`] followed by `…`. Cutting twice changes nothing.
pub fn echo(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

/// A message written by a parser (serde's) with each piece of the client's text in it cut by
/// [`echo`]: the name in ``unknown field `…` `` and ``unknown variant `…` `` (written raw, so it
/// ends at the last `` `, expected `` or `` `, there are no ``), and every string in double
/// quotes, escaped as Rust's `{:?}` writes it (an escape counts as one character).
pub fn echo_within(message: &str) -> String {
    for prefix in ["unknown field `", "unknown variant `"] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let end = ["`, expected ", "`, there are no "]
            .iter()
            .filter_map(|separator| rest.rfind(separator))
            .max();
        if let Some(end) = end {
            let tail = echo_strings(&rest[end..]);
            return format!("{prefix}{}{tail}", echo(&rest[..end]));
        }
    }
    echo_strings(message)
}

/// `message` with the inside of every `"…"` cut to [`MAX_ECHO_CHARS`] characters (an escape such
/// as `\"` or `\u{1f600}` is one), then `…`.
fn echo_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(512));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        let mut kept = 0;
        let mut cut = false;
        while let Some(c) = chars.next() {
            if c == '"' {
                out.push(c);
                break;
            }
            let mut unit = String::from(c);
            if c == '\\' {
                unit.extend(chars.next());
                if unit.ends_with('u') {
                    for c in chars.by_ref() {
                        unit.push(c);
                        if c == '}' {
                            break;
                        }
                    }
                }
            }
            if kept < MAX_ECHO_CHARS {
                out.push_str(&unit);
                kept += 1;
            } else if !cut {
                out.push('…');
                cut = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn longest_run(text: &str, c: char) -> usize {
        text.split(|x| x != c).map(str::len).max().unwrap_or(0)
    }

    #[test]
    fn a_short_value_is_quoted_whole_and_a_long_one_cut_at_64_characters() {
        assert_eq!(echo("Berlin"), "Berlin");
        assert_eq!(echo(&"x".repeat(64)), "x".repeat(64));
        assert_eq!(echo(&"x".repeat(65)), format!("{}…", "x".repeat(64)));
        let umlauts = "ä".repeat(10_000);
        let cut = echo(&umlauts);
        assert_eq!(cut.chars().count(), 65, "64 characters, not bytes, then …");
        assert_eq!(echo(&cut), cut, "cutting twice changes nothing");
    }

    #[test]
    fn a_long_string_in_a_parsers_message_is_cut_and_the_rest_kept() {
        let long = "x".repeat(10_000);
        let message = format!("invalid type: string {long:?}, expected u32 at line 1 column 9");
        let cut = echo_within(&message);
        assert_eq!(
            cut,
            format!(
                "invalid type: string \"{}…\", expected u32 at line 1 column 9",
                "x".repeat(64)
            )
        );
        assert_eq!(echo_within(&cut), cut);
        let quotes = "\"".repeat(10_000);
        let cut = echo_within(&format!("invalid value: string {quotes:?}, expected a day"));
        assert_eq!(
            longest_run(&cut, '"'),
            1,
            "escaped quotes are cut too: {cut}"
        );
        assert!(cut.ends_with("…\", expected a day"), "{cut}");
    }

    #[test]
    fn an_unknown_field_name_is_cut_even_when_it_holds_backticks() {
        let name = format!("`{}`, expected {}`", "y".repeat(5_000), "z".repeat(5_000));
        let message = format!(
            "unknown field `{name}`, expected one of `weekly`, `closed` at line 1 column 10013"
        );
        let cut = echo_within(&message);
        assert!(cut.len() < 200, "{cut}");
        assert!(
            cut.ends_with("…`, expected one of `weekly`, `closed` at line 1 column 10013"),
            "{cut}"
        );
        assert_eq!(
            echo_within("unknown field `colour`, expected `name`"),
            "unknown field `colour`, expected `name`"
        );
    }
}
