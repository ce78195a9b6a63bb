//! Structured JSON logs on stdout, where Lambda ships them to CloudWatch.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber once; `RUST_LOG` (levels per target, such
/// as `warn,invoice_pdf=debug`) overrides the `info` default. Calling it
/// again (tests, the local stack) is harmless.
pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, readable) = filter(rust_log.as_deref());
    let installed = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .without_time(), // CloudWatch stamps every line
        )
        .with(filter)
        .try_init();
    if installed.is_ok() && !readable {
        tracing::warn!(
            rust_log,
            "RUST_LOG is not targets and levels (such as warn,invoice_pdf=debug); logging info and above"
        );
    }
}

/// Which events are logged: the directives of `rust_log`, or `info` and
/// above when it is absent or unreadable; and whether it was readable (or
/// absent). Plain targets and levels, no span or field filters: those
/// would link a regex engine into every function.
fn filter(rust_log: Option<&str>) -> (Targets, bool) {
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match rust_log.map(str::parse::<Targets>) {
        None => (info(), true),
        Some(Ok(targets)) => (targets, true),
        Some(Err(_)) => (info(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_per_target_and_info_is_the_default() {
        let (default, readable) = filter(None);
        assert!(readable);
        assert!(default.would_enable("anything", &Level::INFO));
        assert!(!default.would_enable("anything", &Level::DEBUG));

        let (asked, readable) = filter(Some("warn,invoice_pdf=debug"));
        assert!(readable);
        assert!(asked.would_enable("invoice_pdf", &Level::DEBUG));
        assert!(!asked.would_enable("orders_api", &Level::INFO));

        let (unreadable, readable) = filter(Some("invoice_pdf=loud"));
        assert!(!readable);
        assert!(unreadable.would_enable("invoice_pdf", &Level::INFO));
    }
}
