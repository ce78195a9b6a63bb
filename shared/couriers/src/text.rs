//! The free text carriers send (descriptions, places), made fit to keep:
//! trimmed, and cut to `MAX_EVENT_TEXT` characters.

use shopflow_domain::tracking::MAX_EVENT_TEXT;

/// `raw` trimmed and cut to `MAX_EVENT_TEXT` characters (never inside a
/// character).
pub(crate) fn event_text(raw: &str) -> String {
    cut(raw.trim(), MAX_EVENT_TEXT)
}

/// Like `event_text`, but nothing when nothing is left.
pub(crate) fn optional_text(raw: Option<&str>) -> Option<String> {
    let text = event_text(raw?);
    (!text.is_empty()).then_some(text)
}

/// A place in the "City, ST 12345 (Country)" style, from whichever parts
/// the carrier gave: `parts` are joined with ", " and the country follows
/// in brackets (alone, it stands on its own).
pub(crate) fn place(parts: &[Option<&str>], country: Option<&str>) -> Option<String> {
    let head = parts
        .iter()
        .filter_map(|part| part.map(str::trim).filter(|part| !part.is_empty()))
        .collect::<Vec<_>>()
        .join(", ");
    let country = country.map(str::trim).filter(|country| !country.is_empty());
    let whole = match (head.is_empty(), country) {
        (true, None) => return None,
        (true, Some(country)) => country.to_owned(),
        (false, None) => head,
        (false, Some(country)) => format!("{head} ({country})"),
    };
    optional_text(Some(&whole))
}

/// Words joined by a space, leaving out the empty ones ("FL" and "34442"
/// make "FL 34442").
pub(crate) fn words(parts: &[Option<&str>]) -> Option<String> {
    let joined = parts
        .iter()
        .filter_map(|part| part.map(str::trim).filter(|part| !part.is_empty()))
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// A short, safe quote of a value for an error message: a hostile payload
/// must not turn one log line into megabytes.
pub(crate) fn excerpt(raw: &str) -> String {
    const MAX_QUOTED: usize = 64;
    let quoted = cut(raw, MAX_QUOTED);
    if quoted.len() < raw.len() {
        format!("{quoted}…")
    } else {
        quoted
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text.get(..end).unwrap_or(text).trim_end().to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_cut_on_a_character_boundary() {
        assert_eq!(event_text("  Delivered \n"), "Delivered");
        let long = "é".repeat(MAX_EVENT_TEXT + 5);
        let kept = event_text(&long);
        assert_eq!(kept.chars().count(), MAX_EVENT_TEXT);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(optional_text(Some("   ")), None);
        assert_eq!(optional_text(None), None);
    }

    #[test]
    fn a_place_is_built_from_whichever_parts_exist() {
        let state_zip = words(&[Some("FL"), Some("34442")]);
        assert_eq!(
            place(&[Some("HERNANDO"), state_zip.as_deref()], Some("US")),
            Some("HERNANDO, FL 34442 (US)".into())
        );
        assert_eq!(
            place(&[None, Some(" "), Some("QUEBEC")], None),
            Some("QUEBEC".into())
        );
        assert_eq!(place(&[None], Some("CA")), Some("CA".into()));
        assert_eq!(place(&[None, Some("")], None), None);
    }

    #[test]
    fn an_excerpt_is_short_and_marked_when_cut() {
        assert_eq!(excerpt("yesterday"), "yesterday");
        let quoted = excerpt(&"x".repeat(1_000));
        assert!(quoted.ends_with('…'));
        assert!(quoted.chars().count() <= 65);
    }
}
