//! What a request is, for fault injection: the service it is signed for, the API
//! operation it calls, and the wire protocol its errors must come back in.

use http::{HeaderMap, Method, Uri};

use crate::account;

/// How a service frames its errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// S3's REST-XML.
    S3,
    /// Lambda's REST-JSON.
    Lambda,
    /// AWS JSON 1.0 / 1.1 (`X-Amz-Target`), with the request's content type.
    AwsJson { content_type: String },
    /// Smithy RPC v2 CBOR (CloudWatch with the current SDKs).
    Cbor,
    /// The query protocol: form in, XML out (STS, IAM, SNS, CloudWatch for Terraform).
    Query,
    /// Any other REST-JSON service.
    RestJson,
}

/// One request as the injector sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The SigV4 service name (`lambda`, `s3`, `monitoring`, ...), or `unknown`.
    pub service: String,
    /// The API operation (`PutObject`, `Invoke`, ...), or `Unknown`.
    pub operation: String,
    pub wire: Wire,
    pub method: Method,
}

const FORM: &str = "application/x-www-form-urlencoded";
const CBOR_OPERATION: &str = "/operation/";

/// Whether the request is a query-protocol form (its `Action` is in the body).
pub fn is_form(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::POST
        && headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with(FORM))
}

/// The `Action` of a query-protocol form or query string.
pub fn query_action(form: &str) -> Option<String> {
    form.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(|a| crate::percent::decode(a, true))
}

/// Classifies a request; `form_action` is the Action read from a form body, if any.
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap, form_action: Option<&str>) -> Call {
    let service = account::credential(headers).map_or_else(|| "unknown".to_owned(), |c| c.service.to_ascii_lowercase());
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    let path = uri.path();
    let (wire, operation) = if service == "s3" {
        (Wire::S3, s3_operation(method, uri, headers))
    } else if let Some(target) = target {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/x-amz-json-1.0")
            .to_owned();
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        (Wire::AwsJson { content_type }, operation)
    } else if let Some((_, operation)) = path.split_once(CBOR_OPERATION).filter(|_| path.starts_with("/service/")) {
        (Wire::Cbor, operation.to_owned())
    } else if service == "lambda" {
        (Wire::Lambda, lambda_operation(method, path))
    } else if is_form(method, headers) {
        (Wire::Query, form_action.map(str::to_owned).unwrap_or_else(|| "Unknown".into()))
    } else if let Some(action) = uri.query().and_then(query_action) {
        (Wire::Query, action)
    } else {
        (Wire::RestJson, "Unknown".into())
    };
    Call { service, operation, wire, method: method.clone() }
}

/// Lambda's REST routes (API version 2015-03-31 and the concurrency / account ones).
fn lambda_operation(method: &Method, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method.as_str(), segments.as_slice()) {
        ("POST", [_, "functions", _, "invocations"]) => "Invoke",
        ("POST", [_, "functions", _, "invoke-async"]) => "InvokeAsync",
        ("GET", [_, "functions"]) => "ListFunctions",
        ("POST", [_, "functions"]) => "CreateFunction",
        ("GET", [_, "functions", _]) => "GetFunction",
        ("DELETE", [_, "functions", _]) => "DeleteFunction",
        ("GET", [_, "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("PUT", [_, "functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("PUT", [_, "functions", _, "code"]) => "UpdateFunctionCode",
        ("POST", [_, "functions", _, "versions"]) => "PublishVersion",
        ("GET", [_, "functions", _, "versions"]) => "ListVersionsByFunction",
        ("GET", [_, "functions", _, "aliases"]) => "ListAliases",
        ("POST", [_, "functions", _, "aliases"]) => "CreateAlias",
        ("GET", [_, "functions", _, "aliases", _]) => "GetAlias",
        ("PUT", [_, "functions", _, "aliases", _]) => "UpdateAlias",
        ("DELETE", [_, "functions", _, "aliases", _]) => "DeleteAlias",
        ("PUT", [_, "functions", _, "concurrency"]) => "PutFunctionConcurrency",
        ("DELETE", [_, "functions", _, "concurrency"]) => "DeleteFunctionConcurrency",
        ("GET", [_, "functions", _, "policy"]) => "GetPolicy",
        ("POST", [_, "functions", _, "policy"]) => "AddPermission",
        ("DELETE", [_, "functions", _, "policy", _]) => "RemovePermission",
        ("GET", [_, "account-settings"]) => "GetAccountSettings",
        ("GET", [_, "event-source-mappings"]) => "ListEventSourceMappings",
        ("POST", [_, "event-source-mappings"]) => "CreateEventSourceMapping",
        _ => "Unknown",
    };
    name.to_owned()
}

/// `versioning` -> `Versioning`.
fn camel(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// S3's REST routes, path style (`/bucket/key`), by method, key and sub-resource.
fn s3_operation(method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    let path = uri.path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').map_or((path, ""), |(b, k)| (b, k));
    let query: Vec<&str> = uri.query().map(|q| q.split('&').collect()).unwrap_or_default();
    let has = |name: &str| query.iter().any(|p| *p == name || p.starts_with(&format!("{name}=")));
    let method = method.as_str();
    if bucket.is_empty() {
        return if method == "GET" { "ListBuckets" } else { "Unknown" }.to_owned();
    }
    if !key.is_empty() {
        let name = match method {
            "PUT" if has("partNumber") && has("uploadId") => "UploadPart",
            "PUT" if headers.contains_key("x-amz-copy-source") => "CopyObject",
            "PUT" if has("tagging") => "PutObjectTagging",
            "PUT" => "PutObject",
            "GET" if has("uploadId") => "ListParts",
            "GET" if has("tagging") => "GetObjectTagging",
            "GET" => "GetObject",
            "HEAD" => "HeadObject",
            "DELETE" if has("uploadId") => "AbortMultipartUpload",
            "DELETE" => "DeleteObject",
            "POST" if has("uploads") => "CreateMultipartUpload",
            "POST" if has("uploadId") => "CompleteMultipartUpload",
            _ => "Unknown",
        };
        return name.to_owned();
    }
    // Bucket level: a sub-resource such as `?versioning` names the operation.
    let sub = query.iter().map(|p| p.split('=').next().unwrap_or_default()).find(|name| {
        !name.is_empty()
            && !matches!(
                *name,
                "list-type"
                    | "prefix"
                    | "delimiter"
                    | "max-keys"
                    | "continuation-token"
                    | "start-after"
                    | "encoding-type"
                    | "marker"
                    | "fetch-owner"
                    | "x-id"
            )
    });
    let name = match (method, sub) {
        ("GET", Some("location")) => "GetBucketLocation".to_owned(),
        ("GET", Some("uploads")) => "ListMultipartUploads".to_owned(),
        ("GET", Some("versions")) => "ListObjectVersions".to_owned(),
        ("POST", Some("delete")) => "DeleteObjects".to_owned(),
        ("GET", Some(sub)) => format!("GetBucket{}", camel(sub)),
        ("PUT", Some(sub)) => format!("PutBucket{}", camel(sub)),
        ("DELETE", Some(sub)) => format!("DeleteBucket{}", camel(sub)),
        ("GET", None) if has("list-type") => "ListObjectsV2".to_owned(),
        ("GET", None) => "ListObjects".to_owned(),
        ("PUT", None) => "CreateBucket".to_owned(),
        ("HEAD", None) => "HeadBucket".to_owned(),
        ("DELETE", None) => "DeleteBucket".to_owned(),
        _ => "Unknown".to_owned(),
    };
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(service: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let auth = format!("AWS4-HMAC-SHA256 Credential=111111111111/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0");
        headers
            .insert(http::header::AUTHORIZATION, auth.parse().unwrap_or_else(|_| http::HeaderValue::from_static("")));
        headers
    }

    fn call(method: Method, uri: &str, headers: &HeaderMap) -> Call {
        classify(&method, &uri.parse().unwrap_or_default(), headers, None)
    }

    #[test]
    fn lambda_routes_name_their_operations() {
        let h = signed("lambda");
        for (method, uri, op) in [
            (Method::POST, "/2015-03-31/functions/calc/invocations?Qualifier=live", "Invoke"),
            (Method::PUT, "/2015-03-31/functions/calc/aliases/live", "UpdateAlias"),
            (Method::GET, "/2015-03-31/functions/calc/aliases/live", "GetAlias"),
            (Method::POST, "/2015-03-31/functions/calc/versions", "PublishVersion"),
            (Method::PUT, "/2015-03-31/functions/calc/code", "UpdateFunctionCode"),
            (Method::GET, "/2015-03-31/functions/", "ListFunctions"),
            (Method::GET, "/2015-03-31/functions/calc/configuration?Qualifier=3", "GetFunctionConfiguration"),
        ] {
            let c = call(method, uri, &h);
            assert_eq!((c.service.as_str(), c.operation.as_str(), &c.wire), ("lambda", op, &Wire::Lambda), "{uri}");
        }
    }

    #[test]
    fn s3_routes_name_their_operations() {
        let h = signed("s3");
        let mut copy = h.clone();
        copy.insert("x-amz-copy-source", http::HeaderValue::from_static("/b/k"));
        for (method, uri, headers, op) in [
            (Method::PUT, "/artifacts/release.json?x-id=PutObject", &h, "PutObject"),
            (Method::HEAD, "/artifacts/pre-traffic.zip", &h, "HeadObject"),
            (Method::GET, "/artifacts/a/b.zip", &h, "GetObject"),
            (Method::PUT, "/artifacts/k", &copy, "CopyObject"),
            (Method::PUT, "/artifacts/k?partNumber=1&uploadId=x", &h, "UploadPart"),
            (Method::POST, "/artifacts/k?uploads", &h, "CreateMultipartUpload"),
            (Method::GET, "/artifacts?list-type=2&prefix=a", &h, "ListObjectsV2"),
            (Method::PUT, "/artifacts?versioning", &h, "PutBucketVersioning"),
            (Method::PUT, "/artifacts", &h, "CreateBucket"),
            (Method::HEAD, "/artifacts", &h, "HeadBucket"),
            (Method::GET, "/", &h, "ListBuckets"),
        ] {
            let c = call(method, uri, headers);
            assert_eq!((c.operation.as_str(), &c.wire), (op, &Wire::S3), "{uri}");
        }
    }

    #[test]
    fn rpc_protocols_name_their_operations() {
        let mut json = signed("codedeploy");
        json.insert("x-amz-target", http::HeaderValue::from_static("CodeDeploy_20141006.CreateDeployment"));
        json.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.1"));
        let c = call(Method::POST, "/", &json);
        assert_eq!(c.operation, "CreateDeployment");
        assert_eq!(c.wire, Wire::AwsJson { content_type: "application/x-amz-json-1.1".into() });

        let c =
            call(Method::POST, "/service/GraniteServiceVersion20100801/operation/PutMetricData", &signed("monitoring"));
        assert_eq!((c.service.as_str(), c.operation.as_str(), &c.wire), ("monitoring", "PutMetricData", &Wire::Cbor));

        let mut form = signed("sts");
        form.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        assert!(is_form(&Method::POST, &form));
        let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn";
        let c = classify(&Method::POST, &"/".parse().unwrap_or_default(), &form, query_action(body).as_deref());
        assert_eq!((c.operation.as_str(), &c.wire), ("AssumeRole", &Wire::Query));

        let unsigned = call(Method::GET, "/health", &HeaderMap::new());
        assert_eq!((unsigned.service.as_str(), unsigned.operation.as_str()), ("unknown", "Unknown"));
    }
}
