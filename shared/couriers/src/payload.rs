//! Bytes into a carrier's wire shape, with every failure sorted into a
//! `ParseError` that says what went wrong. The wire shapes keep each field
//! optional, so the carrier modules decide (and name) what is required;
//! they ignore fields they do not know, because carriers add fields.

use crate::error::ParseError;
use quick_xml::events::Event;
use serde::de::DeserializeOwned;

/// A wire field's text, unless it is absent, null or blank.
pub(crate) fn present(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|text| !text.trim().is_empty())
}

/// A JSON document whose top level is an object, read into `T`.
pub(crate) fn json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(ParseError::Truncated {
                detail: "the body is empty".into(),
            });
        }
        Some(b'{') => {}
        Some(b'[') => {
            return Err(ParseError::WrongType {
                detail: "expected a JSON object at the top level, found an array".into(),
            });
        }
        // Let serde_json say what the rest is (a number, a stray byte…).
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|error| {
        let detail = error.to_string();
        match error.classify() {
            serde_json::error::Category::Eof => ParseError::Truncated { detail },
            serde_json::error::Category::Data => ParseError::WrongType { detail },
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                ParseError::Malformed { detail }
            }
        }
    })
}

/// An XML document as UTF-8 text, with the local name of its root element
/// (namespaces aside), so a caller can tell an answer from an error report
/// before reading either.
pub(crate) fn xml_root(body: &[u8]) -> Result<(&str, String), ParseError> {
    let text = std::str::from_utf8(body).map_err(|error| ParseError::Malformed {
        detail: format!("the body is not UTF-8: {error}"),
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(element) | Event::Empty(element) => {
                let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                return Ok((text, name));
            }
            Event::Eof => {
                return Err(ParseError::Truncated {
                    detail: "the body has no root element".into(),
                });
            }
            // The prolog: a declaration, comments, a doctype, white space.
            _ => {}
        }
    }
}

/// The XML document `text`, its root element read into `T`.
pub(crate) fn xml_document<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    quick_xml::de::from_str(text).map_err(|error| match error {
        quick_xml::DeError::InvalidXml(error) => xml_error(error),
        quick_xml::DeError::UnexpectedEof => ParseError::Truncated {
            detail: "the document ends inside an element".into(),
        },
        quick_xml::DeError::UnexpectedStart(name) => ParseError::WrongType {
            detail: format!(
                "found the element <{}> where text belongs",
                String::from_utf8_lossy(&name)
            ),
        },
        other => ParseError::WrongType {
            detail: other.to_string(),
        },
    })
}

fn xml_error(error: quick_xml::Error) -> ParseError {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    let detail = error.to_string();
    match error {
        quick_xml::Error::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedDoctype
            | SyntaxError::UnclosedPI
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue,
        )
        | quick_xml::Error::IllFormed(
            IllFormedError::MissingEndTag(_) | IllFormedError::UnclosedReference,
        ) => ParseError::Truncated { detail },
        _ => ParseError::Malformed { detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Parcel {
        number: Option<String>,
    }

    #[test]
    fn json_failures_are_sorted_by_what_went_wrong() {
        let parcel: Parcel =
            json_object(br#" {"number": "9400", "extra": [1, {"a": null}]}"#).unwrap();
        assert_eq!(parcel.number.as_deref(), Some("9400"));
        assert!(matches!(
            json_object::<Parcel>(br#"{"number": "94"#),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            json_object::<Parcel>(b"  "),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            json_object::<Parcel>(br#"{"number": 9400}"#),
            Err(ParseError::WrongType { .. })
        ));
        assert!(matches!(
            json_object::<Parcel>(br#"[{"number": "9400"}]"#),
            Err(ParseError::WrongType { .. })
        ));
        assert!(matches!(
            json_object::<Parcel>(br#"{"number" "9400"}"#),
            Err(ParseError::Malformed { .. })
        ));
        assert!(matches!(
            json_object::<Parcel>(b"42"),
            Err(ParseError::WrongType { .. })
        ));
    }

    #[test]
    fn deeply_nested_documents_do_not_exhaust_the_stack() {
        let depth = 100_000;
        let json = format!(
            r#"{{"number": "9400", "x": {}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let _ = json_object::<Parcel>(json.as_bytes());
        let json = format!(r#"{{"number": {}}}"#, "[".repeat(depth));
        assert!(json_object::<Parcel>(json.as_bytes()).is_err());
        let xml = format!(
            "<p><x>{}{}</x><number>9400</number></p>",
            "<y>".repeat(depth),
            "</y>".repeat(depth)
        );
        let _ = xml_document::<Parcel>(&xml);
        let xml = format!("<p><number>{}</number></p>", "<y>".repeat(depth));
        assert!(xml_document::<Parcel>(&xml).is_err());
    }

    #[test]
    fn the_xml_root_is_named_without_its_namespace() {
        let body = br#"<?xml version="1.0"?><!-- hi --><m:messages xmlns:m="x"/>"#;
        assert_eq!(xml_root(body).unwrap().1, "messages");
        assert!(matches!(xml_root(b""), Err(ParseError::Truncated { .. })));
        assert!(matches!(xml_root(b"<a"), Err(ParseError::Truncated { .. })));
        assert!(matches!(
            xml_root(&[0xff, 0xfe, b'<']),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn xml_failures_are_sorted_by_what_went_wrong() {
        assert_eq!(
            xml_document::<Parcel>("<p><number>9400</number><x><y/></x></p>")
                .unwrap()
                .number
                .as_deref(),
            Some("9400")
        );
        assert!(matches!(
            xml_document::<Parcel>("<p><number>9400</number>"),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            xml_document::<Parcel>("<p><number><n>9400</n></number></p>"),
            Err(ParseError::WrongType { .. })
        ));
        assert!(matches!(
            xml_document::<Parcel>("<p><number>9400</numbr></p>"),
            Err(ParseError::Malformed { .. })
        ));
    }
}
