//! A request's body, read within its bounds: at most [`MAX_BODY_BYTES`] (413
//! `PAYLOAD_TOO_LARGE`), and all of it within the body deadline (408 `REQUEST_TIMEOUT`).

use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::HeaderMap;
use hyper::body::{Bytes, Incoming};
use shared::Error;
use shared::http::MAX_BODY_BYTES;

/// The body of a request whose headers are `headers`, read within `deadline`. A declared
/// `Content-Length` over the limit is refused before a byte of the body is read, so a client
/// that sent `Expect: 100-continue` is never asked for it (hyper sends `100 Continue` only once
/// the body is read) and gets its 413 at once.
pub async fn read(headers: &HeaderMap, body: Incoming, deadline: Duration) -> Result<Bytes, Error> {
    let declared = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(Error::PayloadTooLarge);
    }
    let collected = tokio::time::timeout(deadline, Limited::new(body, MAX_BODY_BYTES).collect())
        .await
        .map_err(|_| Error::BodyTimeout)?;
    collected.map(|body| body.to_bytes()).map_err(|err| {
        if err.is::<http_body_util::LengthLimitError>() {
            Error::PayloadTooLarge
        } else {
            Error::Validation(format!("Could not read the request body: {err}"))
        }
    })
}
