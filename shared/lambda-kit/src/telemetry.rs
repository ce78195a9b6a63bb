//! Structured JSON logs on stdout, where Lambda ships them to CloudWatch.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; `RUST_LOG` overrides the `info` default.
/// Calling it again (tests, the local stack) is harmless.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}
