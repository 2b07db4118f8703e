//! Which answers localcloud warns about, so that a stalled or failing emulator shows
//! in its log: a control-plane call that took longer than [`SLOW_ANSWER`], or a server
//! error passed through from ministack. A client's retries hide both (the SDK retries a
//! 5xx, Terraform retries a conflict for minutes), and then the only visible symptom is
//! an apply that hangs and ends in "already exists".

use std::time::Duration;

use http::StatusCode;

use crate::faults::classify::Call;

/// Far above any control-plane call's time on an idle emulator (milliseconds), and
/// below the minutes a client's retries take to give up.
pub const SLOW_ANSWER: Duration = Duration::from_secs(10);

/// Operations whose answer waits, on AWS too, for work or for a message.
const WAITING_OPERATIONS: [&str; 5] =
    ["Invoke", "InvokeWithResponseStream", "ReceiveMessage", "GetActivityTask", "StartSyncExecution"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noteworthy {
    /// A server error that ministack answered (not one localcloud injected).
    ServerError,
    Slow,
}

impl Noteworthy {
    /// The warning's message.
    pub fn message(self) -> &'static str {
        match self {
            Self::ServerError => "server error answered",
            Self::Slow => "slow answer",
        }
    }
}

/// Whether the answer to `call`, `status` after `elapsed`, deserves a warning.
pub fn judge(call: &Call, status: StatusCode, elapsed: Duration) -> Option<Noteworthy> {
    if status.is_server_error() {
        return Some(Noteworthy::ServerError);
    }
    let waits = WAITING_OPERATIONS.contains(&call.operation.as_str());
    (elapsed >= SLOW_ANSWER && !waits).then_some(Noteworthy::Slow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::classify::classify;
    use http::{HeaderMap, HeaderValue, Method, Uri};

    fn lambda(method: Method, path: &str) -> Call {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=111111111111/20261201/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0",
            ),
        );
        classify(&method, &path.parse::<Uri>().unwrap(), &headers, None)
    }

    #[test]
    fn a_slow_create_and_any_server_error_are_noteworthy() {
        let create = lambda(Method::POST, "/2015-03-31/functions");
        assert_eq!(create.operation, "CreateFunction");
        assert_eq!(judge(&create, StatusCode::CREATED, SLOW_ANSWER), Some(Noteworthy::Slow));
        assert_eq!(judge(&create, StatusCode::CREATED, SLOW_ANSWER - Duration::from_millis(1)), None);
        assert_eq!(
            judge(&create, StatusCode::INTERNAL_SERVER_ERROR, Duration::from_millis(5)),
            Some(Noteworthy::ServerError)
        );
        assert_eq!(judge(&create, StatusCode::CONFLICT, Duration::from_millis(5)), None);
    }

    #[test]
    fn an_invoke_may_take_as_long_as_its_function_runs() {
        let invoke = lambda(Method::POST, "/2015-03-31/functions/etl-dev-load/invocations");
        assert_eq!(invoke.operation, "Invoke");
        assert_eq!(judge(&invoke, StatusCode::OK, Duration::from_secs(60)), None);
        assert_eq!(judge(&invoke, StatusCode::BAD_GATEWAY, Duration::from_secs(1)), Some(Noteworthy::ServerError));
    }
}
