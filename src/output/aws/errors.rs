//! What a failed AWS call (CloudWatch Logs or S3) means for the request: retry, create, or give up.
//!
//! Pure: the SDK wrapper extracts the error code, message and HTTP status and calls [`classify`].

/// How the output reacts to a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// CloudWatch: the group or stream does not exist: create it, then retry. S3: the multipart
    /// upload is gone (`NoSuchUpload`): start the upload again.
    NotFound,
    /// A create call found the resource there already: success.
    AlreadyExists,
    /// Throttled: pause the whole output (with jitter), then retry.
    Throttled,
    /// Transient (5xx, timeout, connection, expired credentials): retry this request with backoff.
    Retryable,
    /// Retrying cannot help (access denied, invalid parameter): give up on the request, counted.
    Permanent,
}

impl ErrorClass {
    /// The label used in metrics for this class.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorClass::NotFound => "not_found",
            ErrorClass::AlreadyExists => "already_exists",
            ErrorClass::Throttled => "throttled",
            ErrorClass::Retryable => "transient",
            ErrorClass::Permanent => "permanent",
        }
    }
}

/// Error codes worth retrying although the service answered 4xx.
const RETRYABLE_CODES: [&str; 9] = [
    "ServiceUnavailableException",
    "InternalFailure",
    "ExpiredTokenException",
    "ExpiredToken",
    "RequestExpired",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "RequestTimeTooSkewed",
];

const THROTTLING_CODES: [&str; 7] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
];

/// Classifies an error answer of the service from its code, message and HTTP status.
pub fn classify(code: Option<&str>, message: Option<&str>, status: u16) -> ErrorClass {
    match code {
        Some("ResourceNotFoundException" | "NoSuchUpload") => return ErrorClass::NotFound,
        Some("ResourceAlreadyExistsException") => return ErrorClass::AlreadyExists,
        Some(c) if THROTTLING_CODES.contains(&c) => return ErrorClass::Throttled,
        Some(c) if RETRYABLE_CODES.contains(&c) => return ErrorClass::Retryable,
        _ => {}
    }
    if status == 429 || message.is_some_and(|m| m.contains("Rate exceeded")) {
        return ErrorClass::Throttled;
    }
    if status >= 500 || status == 408 {
        return ErrorClass::Retryable;
    }
    ErrorClass::Permanent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_first() {
        assert_eq!(
            classify(Some("ResourceNotFoundException"), None, 400),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("ResourceAlreadyExistsException"), None, 400),
            ErrorClass::AlreadyExists
        );
        assert_eq!(
            classify(Some("ThrottlingException"), None, 400),
            ErrorClass::Throttled
        );
        assert_eq!(
            classify(Some("ServiceUnavailableException"), None, 503),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(Some("ExpiredTokenException"), None, 400),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(Some("InvalidParameterException"), None, 400),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(Some("AccessDeniedException"), None, 400),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn s3_codes() {
        assert_eq!(
            classify(Some("NoSuchUpload"), None, 404),
            ErrorClass::NotFound
        );
        assert_eq!(classify(Some("SlowDown"), None, 503), ErrorClass::Throttled);
        assert_eq!(
            classify(Some("InternalError"), None, 500),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(Some("RequestTimeout"), None, 400),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(Some("NoSuchBucket"), None, 404),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(Some("AccessDenied"), None, 403),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(Some("InvalidPart"), None, 400),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn status_and_message_decide_for_unknown_codes() {
        assert_eq!(
            classify(None, Some("Rate exceeded"), 400),
            ErrorClass::Throttled
        );
        assert_eq!(classify(None, None, 429), ErrorClass::Throttled);
        assert_eq!(classify(Some("Weird"), None, 502), ErrorClass::Retryable);
        assert_eq!(classify(None, None, 408), ErrorClass::Retryable);
        assert_eq!(classify(None, None, 403), ErrorClass::Permanent);
    }
}
