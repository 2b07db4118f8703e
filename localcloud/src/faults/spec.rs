//! `LOCALCLOUD_FAULTS`: which faults to inject, how often, and where.
//!
//! ```text
//! spec  = rule *( ";" rule )
//! rule  = item *( "," item )
//! item  = throttle=RATE | reset=RATE | error=RATE | lost_reply=RATE
//!       | service=NAME *( "|" NAME ) | operation=NAME *( "|" NAME ) | seed=N
//! RATE  = a fraction 0..1 (0.1) or a percentage (10%)
//! ```
//!
//! A request takes the first rule whose `service` and `operation` both match (a rule
//! without them matches everything); a rule without rates exempts what it matches.
//! `seed` (once, in any rule) makes the draws repeatable. `off` or an empty value
//! turns injection off.

use std::fmt;

/// The faults, in the order a draw tests them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The service's own throttling error, the request not applied.
    Throttle,
    /// The connection reset before the request is forwarded or applied.
    Reset,
    /// An empty HTTP 500, the request not applied.
    Error,
    /// The request applied, then the connection closed without an answer.
    LostReply,
}

impl FaultKind {
    pub const ALL: [Self; 4] = [Self::Throttle, Self::Reset, Self::Error, Self::LostReply];

    pub fn key(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::Reset => "reset",
            Self::Error => "error",
            Self::LostReply => "lost_reply",
        }
    }
}

/// Services by the name their requests are signed for (SigV4 scope), with the
/// names people also use for them.
const SERVICE_ALIASES: [(&str, &str); 5] = [
    ("cloudwatch", "monitoring"),
    ("stepfunctions", "states"),
    ("sfn", "states"),
    ("deploy", "codedeploy"),
    ("ddb", "dynamodb"),
];

/// The service name a spec's `service=` means.
pub fn canonical_service(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    SERVICE_ALIASES.iter().find(|(alias, _)| *alias == lower).map_or(lower, |(_, real)| (*real).to_owned())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Probability of each fault, in [`FaultKind::ALL`] order; their sum is at most 1.
    pub rates: [f64; 4],
    /// Services (SigV4 names) this rule applies to; None: all.
    pub services: Option<Vec<String>>,
    /// Operations (API names, such as PutObject) this rule applies to; None: all.
    pub operations: Option<Vec<String>>,
}

impl Rule {
    pub fn rate(&self, kind: FaultKind) -> f64 {
        self.rates[kind as usize]
    }

    pub fn matches(&self, service: &str, operation: &str) -> bool {
        self.services.as_ref().is_none_or(|s| s.iter().any(|x| x == service))
            && self.operations.as_ref().is_none_or(|o| o.iter().any(|x| x == operation))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub rules: Vec<Rule>,
    pub seed: u64,
    /// Whether the seed was given (else it was drawn, and shown so a run can be replayed).
    pub seed_given: bool,
}

impl FaultSpec {
    /// Whether any rule needs the operation name (for query-protocol requests that
    /// means reading the body's `Action`).
    pub fn filters_operations(&self) -> bool {
        self.rules.iter().any(|r| r.operations.is_some())
    }
}

/// A spec that cannot be used; the message names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LOCALCLOUD_FAULTS {place}: {problem}.\n  Fix: {fix}")]
pub struct SpecError {
    pub place: String,
    pub problem: String,
    pub fix: String,
}

const KEYS: &str = "throttle, reset, error, lost_reply, service, operation, seed";

fn rate(text: &str) -> Option<f64> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => text.parse::<f64>().ok()?,
    };
    (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(value)
}

fn names(text: &str) -> Vec<String> {
    text.split('|').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect()
}

/// Parses a spec; None when it turns injection off. Without `seed`, one is drawn.
pub fn parse(text: &str) -> Result<Option<FaultSpec>, SpecError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let mut rules = Vec::new();
    let mut seed = None;
    let rule_texts: Vec<&str> = text.split(';').map(str::trim).collect();
    for (index, rule_text) in rule_texts.iter().enumerate() {
        let place = if rule_texts.len() > 1 {
            format!("rule {} ({rule_text:?})", index + 1)
        } else {
            format!("({rule_text:?})")
        };
        let error = |problem: String, fix: &str| SpecError { place: place.clone(), problem, fix: fix.to_owned() };
        if rule_text.is_empty() {
            return Err(error("an empty rule".into(), "remove the stray ';'"));
        }
        let mut rule = Rule { rates: [0.0; 4], services: None, operations: None };
        let mut seen: Vec<&str> = Vec::new();
        for item in rule_text.split(',').map(str::trim) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(error(
                    format!("{item:?} is not key=value"),
                    &format!("write items as key=value, with keys {KEYS}"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return Err(error(format!("{key} is given twice"), &format!("give {key} once per rule")));
            }
            seen.push(key);
            if let Some(kind) = FaultKind::ALL.into_iter().find(|k| k.key() == key) {
                rule.rates[kind as usize] = rate(value).ok_or_else(|| {
                    error(
                        format!("{key}={value} is not a rate"),
                        &format!("give a fraction between 0 and 1 ({key}=0.1) or a percentage ({key}=10%)"),
                    )
                })?;
                continue;
            }
            match key {
                "service" | "operation" => {
                    let list = names(value);
                    if list.is_empty() {
                        return Err(error(
                            format!("{key}= names nothing"),
                            &format!("name one or more, separated by '|' ({key}=lambda|codedeploy)"),
                        ));
                    }
                    if key == "service" {
                        rule.services = Some(list.iter().map(|n| canonical_service(n)).collect());
                    } else {
                        rule.operations = Some(list);
                    }
                }
                "seed" => {
                    if seed.is_some() {
                        return Err(error("seed is given twice".into(), "give one seed for the whole spec"));
                    }
                    seed = Some(value.parse::<u64>().map_err(|_| {
                        error(format!("seed={value} is not a whole number"), "give a number from 0 to 2^64-1 (seed=7)")
                    })?);
                }
                other => {
                    return Err(error(format!("unknown key {other:?}"), &format!("use one of {KEYS}")));
                }
            }
        }
        // `seed` alone is no rule: it belongs to the whole spec.
        if seen == ["seed"] {
            continue;
        }
        let total: f64 = rule.rates.iter().sum();
        if total > 1.0 + 1e-9 {
            return Err(error(
                format!("the rates add up to {total}, more than 1"),
                "lower them: each request gets at most one fault",
            ));
        }
        rules.push(rule);
    }
    let seed_given = seed.is_some();
    Ok(Some(FaultSpec { rules, seed: seed.unwrap_or_else(|| fastrand::u64(..)), seed_given }))
}

fn number(value: f64) -> String {
    // Shortest form that reads back as the same value.
    let text = format!("{value}");
    if text.parse::<f64>().ok() == Some(value) {
        text
    } else {
        format!("{value:.6}")
    }
}

/// The canonical form, with the seed: parsing it gives the same spec.
impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, rule) in self.rules.iter().enumerate() {
            let mut items: Vec<String> = FaultKind::ALL
                .into_iter()
                .filter(|k| rule.rate(*k) > 0.0)
                .map(|k| format!("{}={}", k.key(), number(rule.rate(k))))
                .collect();
            if let Some(services) = &rule.services {
                items.push(format!("service={}", services.join("|")));
            }
            if let Some(operations) = &rule.operations {
                items.push(format!("operation={}", operations.join("|")));
            }
            if index == 0 {
                items.push(format!("seed={}", self.seed));
            }
            if items.is_empty() {
                // A rule that exempts everything still needs an item to be a rule.
                items.push("throttle=0".into());
            }
            if index > 0 {
                f.write_str(";")?;
            }
            f.write_str(&items.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> FaultSpec {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).unwrap_or_else(|| panic!("{text} is on"))
    }

    fn refused(text: &str) -> SpecError {
        parse(text).expect_err(text)
    }

    #[test]
    fn parses_the_mix_from_issue_14() {
        let s = spec("throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=7");
        assert_eq!(s.seed, 7);
        assert!(s.seed_given);
        assert_eq!(s.rules.len(), 1);
        assert_eq!(s.rules[0].rates, [0.1, 0.03, 0.03, 0.03]);
        assert!(s.rules[0].matches("s3", "PutObject"), "no filter: everything");
        assert!(!s.filters_operations());
    }

    #[test]
    fn percentages_filters_aliases_and_rules() {
        let s = spec("throttle=10%,service=lambda|CloudWatch,operation=Invoke|PutMetricData; service=sts; error=0.5");
        assert_eq!(s.rules[0].rate(FaultKind::Throttle), 0.1);
        assert_eq!(s.rules[0].services.as_deref(), Some(&["lambda".to_owned(), "monitoring".to_owned()][..]));
        assert!(s.rules[0].matches("monitoring", "PutMetricData"));
        assert!(!s.rules[0].matches("monitoring", "GetMetricData"));
        assert!(!s.rules[0].matches("s3", "Invoke"));
        assert_eq!(s.rules[1].rates, [0.0; 4], "a rule without rates exempts what it matches");
        assert!(s.filters_operations());
        assert!(!s.seed_given, "a seed is drawn when none is given");
    }

    #[test]
    fn off_is_off() {
        for text in ["", "  ", "off", "OFF", "none"] {
            assert_eq!(parse(text), Ok(None), "{text:?}");
        }
    }

    #[test]
    fn the_canonical_form_reads_back_the_same() {
        for text in [
            "throttle=0.1,reset=0.03,error=0.03,lost_reply=0.03,seed=7",
            "error=1,service=s3,operation=PutObject;throttle=25%",
        ] {
            let s = spec(text);
            assert_eq!(spec(&s.to_string()), FaultSpec { seed_given: true, ..s.clone() }, "{s}");
        }
        assert_eq!(
            spec("lost_reply=0.5,service=codedeploy,seed=3").to_string(),
            "lost_reply=0.5,service=codedeploy,seed=3"
        );
        let seed_apart = spec("error=1,service=s3;seed=3");
        assert_eq!(seed_apart.rules.len(), 1, "a seed alone is not a rule");
        assert_eq!(seed_apart.to_string(), "error=1,service=s3,seed=3");
        let exempt_all = spec("error=1,service=s3;throttle=0,seed=4");
        assert_eq!(spec(&exempt_all.to_string()), exempt_all, "{exempt_all}");
    }

    #[test]
    fn bad_specs_name_the_field_and_the_fix() {
        let e = refused("throttle=lots");
        assert!(e.problem.contains("throttle=lots is not a rate"), "{e}");
        assert!(e.fix.contains("throttle=0.1") && e.fix.contains("throttle=10%"), "{e}");
        let e = refused("throttle=1.5");
        assert!(e.problem.contains("not a rate"), "{e}");
        let e = refused("throttle=0.1,jitter=0.2");
        assert!(e.problem.contains("unknown key \"jitter\"") && e.fix.contains("lost_reply"), "{e}");
        let e = refused("throttle=0.6,error=0.6");
        assert!(e.problem.contains("more than 1"), "{e}");
        let e = refused("throttle=0.1;error=0.1,seed=x");
        assert!(e.place.starts_with("rule 2") && e.problem.contains("seed=x"), "{e}");
        let e = refused("seed=1;seed=2");
        assert!(e.problem.contains("seed is given twice"), "{e}");
        let e = refused("throttle");
        assert!(e.problem.contains("not key=value"), "{e}");
        let e = refused("service=,throttle=0.1");
        assert!(e.problem.contains("names nothing"), "{e}");
        let e = refused("throttle=0.1;");
        assert!(e.problem.contains("empty rule"), "{e}");
        let e = refused("throttle=0.1,throttle=0.2");
        assert!(e.problem.contains("given twice"), "{e}");
        assert!(e.to_string().starts_with("LOCALCLOUD_FAULTS "), "{e}");
    }
}
