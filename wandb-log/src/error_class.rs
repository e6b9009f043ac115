//! How a failed request to W&B is handled, for the file stream and for run files alike.

use wandb_api::Error as ApiError;

/// How a failed request is handled.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// Tried again later, for as long as the uploader lives.
    Transient,
    /// HTTP 413: the request is split in two.
    TooLarge,
    /// The upload stops; the log keeps everything.
    Permanent,
}

pub(crate) fn classify(e: &ApiError) -> ErrorClass {
    match e {
        ApiError::Http { status: 413, .. } => ErrorClass::TooLarge,
        ApiError::Http {
            status: 400 | 401 | 403 | 404 | 409 | 410 | 422,
            ..
        }
        | ApiError::Unauthorized
        | ApiError::NotFound { .. }
        | ApiError::GraphQl { .. }
        | ApiError::Configuration(_)
        | ApiError::File { .. } => ErrorClass::Permanent,
        _ => ErrorClass::Transient,
    }
}
