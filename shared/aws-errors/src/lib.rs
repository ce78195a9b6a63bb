//! What an AWS SDK error means for the caller, decided in one place for
//! every adapter: throttling, timeouts, network trouble and 5xx are
//! transient ([`StoreError::Unavailable`]: 503, retried); anything else the
//! service refused, or a request the SDK could not even build, is a defect
//! ([`StoreError::Defect`]: 500, logged with its cause, alarmed). Conditional
//! checks and cancelled transactions are read by the adapters before this,
//! where they keep their own meanings.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use shopflow_ports::StoreError;

/// Error codes AWS services answer when the caller should slow down.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TransactionInProgressException",
    "SlowDown",
];

/// `error`, from the call `what` (`"dynamodb:TransactWriteItems"`), as the
/// store error it is.
pub fn store_error<E>(what: &str, error: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            context.raw().status().is_server_error()
                || context
                    .err()
                    .code()
                    .is_some_and(|code| THROTTLING.contains(&code))
        }
        _ => false,
    };
    if transient {
        StoreError::Unavailable(format!("{what}: {}", DisplayErrorContext(&error)))
    } else {
        StoreError::Defect {
            what: what.to_owned(),
            source: Box::new(error),
        }
    }
}

/// A cancelled transaction none of whose reasons the adapter expected: a
/// throttled item is transient, anything else (a validation error, an item
/// collection too large) is a defect.
pub fn unexplained_cancellation(what: &str, reasons: &[String]) -> StoreError {
    let throttled = reasons
        .iter()
        .any(|reason| reason == "ThrottlingError" || reason == "ProvisionedThroughputExceeded");
    let message = format!("{what}: transaction cancelled: {reasons:?}");
    if throttled {
        StoreError::Unavailable(message)
    } else {
        StoreError::Defect {
            what: what.to_owned(),
            source: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::{
        ConnectorError, ConstructionFailure, DispatchFailure, ServiceError, TimeoutError,
    };
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    /// A service's error with `code`, as the SDK models it.
    #[derive(Debug)]
    struct Answered(ErrorMetadata);

    impl std::fmt::Display for Answered {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0.code())
        }
    }

    impl std::error::Error for Answered {}

    impl ProvideErrorMetadata for Answered {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn answered(status: u16, code: &str) -> SdkError<Answered, HttpResponse> {
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        let error = Answered(ErrorMetadata::builder().code(code).message("m").build());
        SdkError::ServiceError(ServiceError::builder().source(error).raw(raw).build())
    }

    fn is_transient(error: &StoreError) -> bool {
        matches!(error, StoreError::Unavailable(_))
    }

    #[test]
    fn throttling_timeouts_network_trouble_and_5xx_are_transient() {
        for (status, code) in [
            (400, "ThrottlingException"),
            (400, "ProvisionedThroughputExceededException"),
            (400, "RequestLimitExceeded"),
            (500, "InternalServerError"),
            (503, "ServiceUnavailable"),
        ] {
            assert!(
                is_transient(&store_error("t", answered(status, code))),
                "{code}"
            );
        }
        let timeout: SdkError<Answered, HttpResponse> =
            SdkError::TimeoutError(TimeoutError::builder().source("slow").build());
        let dispatch: SdkError<Answered, HttpResponse> = SdkError::DispatchFailure(
            DispatchFailure::builder()
                .source(ConnectorError::io("connection reset".into()))
                .build(),
        );
        assert!(is_transient(&store_error("t", timeout)));
        assert!(is_transient(&store_error("t", dispatch)));
    }

    #[test]
    fn refusals_retrying_cannot_fix_are_defects_with_their_cause() {
        for (status, code) in [
            (400, "ValidationException"),
            (400, "AccessDeniedException"),
            (400, "ResourceNotFoundException"),
            (403, "UnrecognizedClientException"),
        ] {
            let error = store_error("dynamodb:GetItem", answered(status, code));
            let StoreError::Defect { what, source } = &error else {
                panic!("{code}: {error:?}");
            };
            assert_eq!(what, "dynamodb:GetItem");
            assert!(
                format!("{}", DisplayErrorContext(source.as_ref())).contains(code),
                "the cause is kept: {source:?}"
            );
            assert!(std::error::Error::source(&error).is_some());
        }
        let unbuilt: SdkError<Answered, HttpResponse> = SdkError::ConstructionFailure(
            ConstructionFailure::builder().source("missing key").build(),
        );
        assert!(matches!(
            store_error("t", unbuilt),
            StoreError::Defect { .. }
        ));
    }

    #[test]
    fn a_cancelled_transaction_is_transient_only_when_throttled() {
        assert!(is_transient(&unexplained_cancellation(
            "t",
            &["None".into(), "ThrottlingError".into()]
        )));
        assert!(matches!(
            unexplained_cancellation("t", &["ValidationError".into()]),
            StoreError::Defect { .. }
        ));
    }
}
