//! Weighted alias routing: Lambda picks the alias's primary or additional version per
//! invocation, with the additional version's weight as its probability.

use std::sync::Mutex;

use http::Uri;

use crate::percent;
use crate::upstream::Alias;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoke {
    /// The function name as it appears in the path (a name, or an ARN).
    pub function: String,
    pub qualifier: Option<String>,
    /// Whether the qualifier came as `name:qualifier` in the path.
    qualifier_in_path: bool,
}

/// `POST /2015-03-31/functions/{name}/invocations[?Qualifier=q]`.
pub fn parse_invoke(uri: &Uri) -> Option<Invoke> {
    let rest = uri.path().strip_prefix("/2015-03-31/functions/")?;
    let raw = rest.strip_suffix("/invocations")?;
    let name = percent::decode(raw, false);
    let query_qualifier = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("Qualifier="))
        .map(|q| percent::decode(q, false));
    // A qualifier may also ride on the name: `fn:live` or `arn:...:function:fn:live`.
    let (function, path_qualifier) = split_qualifier(&name);
    let qualifier_in_path = path_qualifier.is_some() && query_qualifier.is_none();
    Some(Invoke { function, qualifier: query_qualifier.or(path_qualifier), qualifier_in_path })
}

fn split_qualifier(name: &str) -> (String, Option<String>) {
    if let Some(rest) = name.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.split(':').collect();
        // aws:lambda:region:account:function:name[:qualifier]
        if parts.len() == 7 {
            return (format!("arn:{}", parts[..6].join(":")), Some(parts[6].to_owned()));
        }
        return (name.to_owned(), None);
    }
    match name.split_once(':') {
        Some((function, qualifier)) => (function.to_owned(), Some(qualifier.to_owned())),
        None => (name.to_owned(), None),
    }
}

/// True for an alias name (not `$LATEST`, not a version number).
pub fn is_alias(qualifier: &str) -> bool {
    qualifier != "$LATEST" && !qualifier.bytes().all(|b| b.is_ascii_digit())
}

/// The invoke URI with `version` as its qualifier.
pub fn with_qualifier(uri: &Uri, invoke: &Invoke, version: &str) -> Option<Uri> {
    let function = if invoke.qualifier_in_path {
        invoke.function.clone()
    } else {
        percent::decode(uri.path().strip_prefix("/2015-03-31/functions/")?.strip_suffix("/invocations")?, false)
    };
    let encoded = percent::encode_keeping(&function, b":");
    let mut query: Vec<String> = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty() && !p.starts_with("Qualifier="))
        .map(str::to_owned)
        .collect();
    query.push(format!("Qualifier={version}"));
    format!("/2015-03-31/functions/{encoded}/invocations?{}", query.join("&")).parse().ok()
}

/// Picks versions by weight. Seed it with `LOCALCLOUD_ROUTING_SEED` for repeatable runs.
pub struct WeightedRouter {
    rng: Mutex<fastrand::Rng>,
}

impl WeightedRouter {
    pub fn new(seed: Option<u64>) -> Self {
        Self { rng: Mutex::new(seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed)) }
    }

    pub fn from_env() -> Self {
        Self::new(std::env::var("LOCALCLOUD_ROUTING_SEED").ok().and_then(|s| s.parse().ok()))
    }

    pub fn pick(&self, alias: &Alias) -> String {
        match &alias.additional {
            Some((version, weight)) if *weight > 0.0 => {
                let draw = self.rng.lock().map_or(0.5, |mut r| r.f64());
                if draw < *weight {
                    version.clone()
                } else {
                    alias.function_version.clone()
                }
            }
            _ => alias.function_version.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_invoke_paths() {
        let uri: Uri = "/2015-03-31/functions/calc/invocations?Qualifier=live".parse().unwrap();
        let invoke = parse_invoke(&uri).unwrap();
        assert_eq!((invoke.function.as_str(), invoke.qualifier.as_deref()), ("calc", Some("live")));
        let uri: Uri = "/2015-03-31/functions/calc%3Alive/invocations".parse().unwrap();
        let invoke = parse_invoke(&uri).unwrap();
        assert_eq!((invoke.function.as_str(), invoke.qualifier.as_deref()), ("calc", Some("live")));
        let rewritten = with_qualifier(&uri, &invoke, "7").unwrap();
        assert_eq!(rewritten.to_string(), "/2015-03-31/functions/calc/invocations?Qualifier=7");
        let arn: Uri =
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A111111111111%3Afunction%3Acalc%3Alive/invocations"
                .parse()
                .unwrap();
        let invoke = parse_invoke(&arn).unwrap();
        assert_eq!(invoke.qualifier.as_deref(), Some("live"));
        assert_eq!(invoke.function, "arn:aws:lambda:us-east-1:111111111111:function:calc");
        assert!(parse_invoke(&"/2015-03-31/functions/calc/aliases".parse().unwrap()).is_none());
    }

    #[test]
    fn aliases_are_not_versions() {
        assert!(is_alias("live"));
        assert!(!is_alias("12"));
        assert!(!is_alias("$LATEST"));
    }

    #[test]
    fn seeded_weights_hold() {
        let router = WeightedRouter::new(Some(7));
        let alias = Alias { function_version: "1".into(), additional: Some(("2".into(), 0.1)), revision_id: None };
        let picked = (0..10_000).filter(|_| router.pick(&alias) == "2").count();
        assert!((900..=1100).contains(&picked), "{picked} of 10000 went to the 10 % version");
        let plain = Alias { function_version: "1".into(), additional: None, revision_id: None };
        assert!((0..100).all(|_| router.pick(&plain) == "1"));
    }
}
