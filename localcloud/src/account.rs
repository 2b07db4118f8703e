//! Which account a request belongs to, as on AWS: a 12-digit access key id is the
//! account itself (ministack's convention); an assumed-role key (`ASIA...`) belongs to
//! the role's account, which we learn once from ministack and remember.

use std::collections::HashMap;
use std::sync::Mutex;

use http::HeaderMap;

/// The parts of a SigV4 `Authorization` header that route a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, ...`.
pub fn credential(headers: &HeaderMap) -> Option<Credential> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = value.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let access_key_id = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some(Credential { access_key_id, region, service })
}

pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// The account ministack assumes for unsigned requests.
pub const DEFAULT_ACCOUNT: &str = "000000000000";

#[derive(Default)]
pub struct AccountCache {
    known: Mutex<HashMap<String, String>>,
}

impl AccountCache {
    pub fn get(&self, access_key_id: &str) -> Option<String> {
        if is_account_id(access_key_id) {
            return Some(access_key_id.to_owned());
        }
        self.known.lock().ok()?.get(access_key_id).cloned()
    }

    pub fn remember(&self, access_key_id: &str, account: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(access_key_id.to_owned(), account.to_owned());
        }
    }
}

/// The `<Account>` of an STS GetCallerIdentity XML reply.
pub fn account_from_caller_identity(xml: &str) -> Option<String> {
    let start = xml.find("<Account>")? + "<Account>".len();
    let end = xml[start..].find("</Account>")? + start;
    Some(xml[start..end].trim().to_owned()).filter(|a| is_account_id(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_credential_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=111111111111/20261123/us-east-1/codedeploy/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            credential(&headers),
            Some(Credential {
                access_key_id: "111111111111".into(),
                region: "us-east-1".into(),
                service: "codedeploy".into()
            })
        );
    }

    #[test]
    fn unsigned_or_malformed_requests_have_no_credential() {
        let mut headers = HeaderMap::new();
        assert_eq!(credential(&headers), None);
        headers.insert(http::header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(credential(&headers), None);
    }

    #[test]
    fn account_ids_and_assumed_keys() {
        let cache = AccountCache::default();
        assert_eq!(cache.get("222222222222").as_deref(), Some("222222222222"));
        assert_eq!(cache.get("ASIAXYZ"), None);
        cache.remember("ASIAXYZ", "333333333333");
        assert_eq!(cache.get("ASIAXYZ").as_deref(), Some("333333333333"));
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("12345678901a"));
    }

    #[test]
    fn reads_the_account_from_get_caller_identity() {
        let xml =
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::222222222222:assumed-role/d/s</Arn>\
                   <Account>222222222222</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert_eq!(account_from_caller_identity(xml).as_deref(), Some("222222222222"));
        assert_eq!(account_from_caller_identity("<Error/>"), None);
    }
}
