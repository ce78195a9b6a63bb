//! The mails' templates, rendered with minijinja (docs/decisions/0012):
//! each template has a subject, an HTML part and a plain-text part, under
//! `templates/<locale>/`. HTML parts escape every value (a product named
//! `<script>` is shown, never run); the subject and the text part do not
//! need to. A value a template names but the letter lacks is an error, not
//! an empty string.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior, Value};
use serde::Serialize;
use shopflow_domain::notification::Template;

/// The languages mails are written in; English first. A locale is a
/// directory of templates, one set per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
}

/// A mail's three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("rendering {template}: {reason}")]
pub struct LetterError {
    template: Template,
    reason: String,
}

/// Every template of a locale, by file name.
macro_rules! templates {
    ($locale:literal: $($name:literal),* $(,)?) => {
        &[$(
            (concat!($name, ".subject"), include_str!(concat!("../templates/", $locale, "/", $name, ".subject"))),
            (concat!($name, ".html"), include_str!(concat!("../templates/", $locale, "/", $name, ".html"))),
            (concat!($name, ".txt"), include_str!(concat!("../templates/", $locale, "/", $name, ".txt"))),
        )*
        ("layout.html", include_str!(concat!("../templates/", $locale, "/layout.html"))),
        ("layout.txt", include_str!(concat!("../templates/", $locale, "/layout.txt"))),
        ("lines.html", include_str!(concat!("../templates/", $locale, "/lines.html"))),
        ("lines.txt", include_str!(concat!("../templates/", $locale, "/lines.txt"))),
        ]
    };
}

const ENGLISH: &[(&str, &str)] = templates!("en":
    "order_confirmation",
    "payment_failed",
    "order_cancelled",
    "refund_issued",
    "shipped",
    "out_for_delivery",
    "delivered",
    "delivery_exception",
    "backorder_confirmation",
    "backorder_allocated",
    "backorder_cancelled",
    "back_in_stock",
    "invoice_issued",
    "invoice_overdue",
);

/// The templates of one locale, parsed once per container.
pub struct Letters {
    environment: Environment<'static>,
}

impl Letters {
    pub fn new(locale: Locale) -> Result<Self, minijinja::Error> {
        let sources = match locale {
            Locale::En => ENGLISH,
        };
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        environment.set_syntax(
            SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()?,
        );
        environment.set_formatter(html_escaping);
        for (name, source) in sources {
            environment.add_template(name, source)?;
        }
        Ok(Self { environment })
    }

    /// `template` rendered with `letter`'s values.
    pub fn render(
        &self,
        template: Template,
        letter: &impl Serialize,
    ) -> Result<Rendered, LetterError> {
        let failed = |error: minijinja::Error| LetterError {
            template,
            reason: format!("{error:#}"),
        };
        let name = template.as_str();
        let values = Value::from(Serde(letter));
        let subject = self
            .environment
            .get_template(&format!("{name}.subject"))
            .and_then(|subject| subject.render(&values))
            .map_err(failed)?;
        // One line, as a mail header must be.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let values = minijinja::context! { subject => subject.clone(), ..values };
        let part = |extension: &str| {
            self.environment
                .get_template(&format!("{name}.{extension}"))
                .and_then(|part| part.render(&values))
                .map_err(failed)
        };
        Ok(Rendered {
            html: part("html")?,
            text: part("txt")?,
            subject,
        })
    }
}

/// Writes `value` into an HTML part with `&`, `<`, `>`, `"` and `'`
/// escaped: enough for text and quoted attributes, and links stay
/// readable (minijinja's default also escapes `/`).
fn html_escaping(output: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if *state.auto_escape() != AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(output, state, value);
    }
    let mut escaped = String::new();
    for c in value.to_string().chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    output.write_str(&escaped).map_err(Error::from)
}
