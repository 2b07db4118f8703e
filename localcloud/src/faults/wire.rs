//! Injected answers in each service's own wire format, so that the AWS SDKs classify
//! them as they classify AWS's. The SDKs' standard retry mode retries the error
//! codes in aws-runtime's `THROTTLING_ERRORS` (Throttling, ThrottlingException,
//! TooManyRequestsException, ProvisionedThroughputExceededException, SlowDown, ...)
//! and the statuses 500, 502, 503, 504 (aws-smithy-runtime's
//! `TRANSIENT_ERROR_STATUS_CODES`); see aws-runtime `retries/classifiers.rs` and
//! aws-smithy-runtime `client/retries/classifiers.rs`.

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use super::classify::{Call, Wire};
use crate::api::ids::request_id;

fn answer(status: StatusCode, headers: &[(&'static str, String)], body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response.headers_mut().insert(
        "x-amzn-requestid",
        http::HeaderValue::from_str(&request_id()).unwrap_or(http::HeaderValue::from_static("0")),
    );
    response
}

/// The throttling error `call`'s service answers with.
pub fn throttle(call: &Call) -> Response<Bytes> {
    match &call.wire {
        // S3: HTTP 503 SlowDown (S3 error responses list); a HEAD answer has no body.
        Wire::S3 => {
            let body = if call.method == Method::HEAD {
                String::new()
            } else {
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>{}</RequestId><HostId>localcloud</HostId></Error>",
                    request_id()
                )
            };
            answer(StatusCode::SERVICE_UNAVAILABLE, &[("content-type", "application/xml".into())], body)
        }
        // Lambda: HTTP 429 TooManyRequestsException with Type and Reason (Lambda API
        // reference, Errors), the code in X-Amzn-ErrorType as restJson1 sends it.
        Wire::Lambda => answer(
            StatusCode::TOO_MANY_REQUESTS,
            &[
                ("content-type", "application/json".into()),
                ("x-amzn-errortype", "TooManyRequestsException".into()),
                ("retry-after", "1".into()),
            ],
            r#"{"Type":"User","message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}"#,
        ),
        // AWS JSON: HTTP 400 with __type. DynamoDB throttles data-plane calls with
        // ProvisionedThroughputExceededException (namespaced, as DynamoDB sends it).
        Wire::AwsJson { content_type } => {
            let code = if call.service == "dynamodb" {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            } else {
                "ThrottlingException"
            };
            let mut headers = vec![("content-type", content_type.clone())];
            // CloudWatch is query-compatible: its JSON errors carry the query code too,
            // which the SDK reports as the error code.
            if call.service == "monitoring" {
                headers.push(("x-amzn-query-error", "Throttling;Sender".into()));
            }
            let body = serde_json::json!({"__type": code, "message": "Rate exceeded"}).to_string();
            answer(StatusCode::BAD_REQUEST, &headers, body)
        }
        Wire::Cbor => {
            let value = ciborium::Value::Map(vec![
                (ciborium::Value::Text("__type".into()), ciborium::Value::Text("ThrottlingException".into())),
                (ciborium::Value::Text("message".into()), ciborium::Value::Text("Rate exceeded".into())),
            ]);
            let mut body = Vec::new();
            let _ = ciborium::into_writer(&value, &mut body);
            answer(
                StatusCode::BAD_REQUEST,
                &[
                    ("content-type", "application/cbor".into()),
                    ("smithy-protocol", "rpc-v2-cbor".into()),
                    ("x-amzn-query-error", "Throttling;Sender".into()),
                ],
                body,
            )
        }
        // Query protocol (STS, IAM, SNS, CloudWatch): HTTP 400, Code Throttling in XML.
        Wire::Query => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                request_id()
            );
            answer(StatusCode::BAD_REQUEST, &[("content-type", "text/xml".into())], body)
        }
        Wire::RestJson => answer(
            StatusCode::TOO_MANY_REQUESTS,
            &[("content-type", "application/json".into()), ("x-amzn-errortype", "TooManyRequestsException".into())],
            r#"{"message":"Rate exceeded"}"#,
        ),
    }
}

/// An empty HTTP 500: a server error with nothing to parse.
pub fn server_error() -> Response<Bytes> {
    answer(StatusCode::INTERNAL_SERVER_ERROR, &[], Bytes::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(service: &str, wire: Wire, method: Method) -> Call {
        Call { service: service.into(), operation: "Op".into(), wire, method }
    }

    fn text(response: &Response<Bytes>) -> String {
        String::from_utf8_lossy(response.body()).into_owned()
    }

    #[test]
    fn each_protocol_throttles_in_its_own_format() {
        let s3 = throttle(&call("s3", Wire::S3, Method::PUT));
        assert_eq!(s3.status(), 503);
        assert!(text(&s3).contains("<Code>SlowDown</Code>"));
        let head = throttle(&call("s3", Wire::S3, Method::HEAD));
        assert_eq!((head.status().as_u16(), head.body().len()), (503, 0));

        let lambda = throttle(&call("lambda", Wire::Lambda, Method::POST));
        assert_eq!(lambda.status(), 429);
        assert_eq!(lambda.headers()["x-amzn-errortype"], "TooManyRequestsException");

        let json = Wire::AwsJson { content_type: "application/x-amz-json-1.1".into() };
        let cd = throttle(&call("codedeploy", json.clone(), Method::POST));
        assert_eq!(cd.status(), 400);
        assert_eq!(cd.headers()["content-type"], "application/x-amz-json-1.1");
        assert!(text(&cd).contains(r#""__type":"ThrottlingException""#));
        let ddb = throttle(&call("dynamodb", json, Method::POST));
        assert!(text(&ddb).contains("#ProvisionedThroughputExceededException"));

        let cbor = throttle(&call("monitoring", Wire::Cbor, Method::POST));
        assert_eq!(cbor.headers()["x-amzn-query-error"], "Throttling;Sender");
        let decoded: ciborium::Value = ciborium::from_reader(cbor.body().as_ref()).unwrap_or(ciborium::Value::Null);
        assert!(format!("{decoded:?}").contains("ThrottlingException"));

        let query = throttle(&call("sts", Wire::Query, Method::POST));
        assert_eq!(query.status(), 400);
        assert!(text(&query).contains("<Code>Throttling</Code>"));
    }

    #[test]
    fn a_server_error_is_an_empty_500() {
        let e = server_error();
        assert_eq!((e.status().as_u16(), e.body().len()), (500, 0));
    }
}
