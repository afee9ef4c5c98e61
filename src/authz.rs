//! Authorization by workload identity, as data: an ordered list of rules, each naming the
//! identities it covers (exact, or `prefix/*`) and the methods (`/package.Service/Method`,
//! `/package.Service/*` or `*`) it allows or denies. The first rule that covers both the
//! caller and the method decides; when none does, the call is refused. A caller whose
//! certificate does not carry exactly one URI SAN is always refused. A refusal is
//! PERMISSION_DENIED naming the identity and the rule.
//!
//! [`AuthzLayer`] applies a [`Policy`] to every request of a tonic server, reading the
//! caller from the [`PeerInfo`] extension that [`crate::acceptor`] sets.

use std::{
    fmt,
    future::{Ready, ready},
    sync::Arc,
    task::{Context, Poll},
};

use futures::future::Either;
use serde::Deserialize;
use tonic::Status;

use crate::acceptor::PeerInfo;

/// Whether a rule lets a call through.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The call is served.
    #[default]
    Allow,
    /// The call is refused.
    Deny,
}

/// One rule of a policy.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Name quoted in refusals and logs.
    pub name: String,
    /// `allow` (the default) or `deny`.
    #[serde(default)]
    pub effect: Effect,
    /// Identities covered: exact SPIFFE ids, `prefix/*` (anything below the prefix) or `*`.
    pub identities: Vec<String>,
    /// Methods covered: `/package.Service/Method`, `/package.Service/*` or `*` (the default).
    #[serde(default = "any_method")]
    pub methods: Vec<String>,
}

fn any_method() -> Vec<String> {
    vec!["*".into()]
}

/// Why a policy cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("authorization rule `{rule}`: {problem}")]
pub struct PolicyError {
    /// The `name` of the rule at fault, as written in the policy.
    pub rule: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

/// Whether `value` matches `pattern`: equal, `*`, or `prefix/*` covering anything that
/// starts with `prefix/`.
pub fn matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix) && value.len() > prefix.len(),
        None => pattern == value,
    }
}

fn check_pattern(rule: &str, field: &str, pattern: &str, start: &str) -> Result<(), PolicyError> {
    let bad = |problem: String| PolicyError {
        rule: rule.to_string(),
        problem,
    };
    if pattern == "*" {
        return Ok(());
    }
    let body = pattern.strip_suffix("/*").unwrap_or(pattern);
    if body.contains('*') {
        return Err(bad(format!(
            "{field} `{pattern}`: `*` is allowed only alone or as a final `/*`"
        )));
    }
    if !pattern.starts_with(start) {
        return Err(bad(format!(
            "{field} `{pattern}` must start with `{start}`"
        )));
    }
    Ok(())
}

/// What a policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Served, by the rule of this name (borrowed from the policy: an allowed call copies
    /// nothing).
    Allowed(&'a str),
    /// Refused, with the message for the caller.
    Denied(String),
}

/// An ordered list of rules.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Policy {
    /// A policy of these rules, checked.
    pub fn new(rules: Vec<Rule>) -> Result<Self, PolicyError> {
        let policy = Self { rules };
        policy.check()?;
        Ok(policy)
    }

    /// Refuses empty rules and malformed patterns.
    pub fn check(&self) -> Result<(), PolicyError> {
        for rule in &self.rules {
            let bad = |problem: &str| PolicyError {
                rule: rule.name.clone(),
                problem: problem.to_string(),
            };
            if rule.name.trim().is_empty() {
                return Err(bad("every rule needs a non-empty `name`"));
            }
            if rule.identities.is_empty() {
                return Err(bad("`identities` is empty; name at least one identity"));
            }
            if rule.methods.is_empty() {
                return Err(bad("`methods` is empty; name at least one method or `*`"));
            }
            for id in &rule.identities {
                check_pattern(&rule.name, "identity", id, "spiffe://")?;
            }
            for m in &rule.methods {
                check_pattern(&rule.name, "method", m, "/")?;
            }
        }
        Ok(())
    }

    /// The decision for a caller (`Err` when its certificate names no single identity)
    /// calling `method` (`/package.Service/Method`).
    pub fn decide(
        &self,
        identity: Result<&str, &crate::identity::IdentityError>,
        method: &str,
    ) -> Decision<'_> {
        let identity = match identity {
            Ok(id) => id,
            Err(e) => {
                return Decision::Denied(format!(
                    "the client certificate names no workload identity ({e}); \
                     a certificate with exactly one spiffe:// URI SAN is required"
                ));
            }
        };
        let mut named = None;
        for rule in &self.rules {
            if !rule.identities.iter().any(|p| matches(p, identity)) {
                continue;
            }
            named.get_or_insert(rule.name.as_str());
            if !rule.methods.iter().any(|p| matches(p, method)) {
                continue;
            }
            return match rule.effect {
                Effect::Allow => Decision::Allowed(&rule.name),
                Effect::Deny => Decision::Denied(format!(
                    "identity `{identity}` may not call {method}: refused by rule `{}`",
                    rule.name
                )),
            };
        }
        Decision::Denied(match named {
            Some(rule) => format!(
                "identity `{identity}` may not call {method}: rule `{rule}` covers this identity \
                 but not this method"
            ),
            None => format!(
                "identity `{identity}` may not call {method}: no authorization rule names this \
                 identity (rules: {})",
                self.rule_names()
            ),
        })
    }

    fn rule_names(&self) -> String {
        if self.rules.is_empty() {
            return "none".into();
        }
        self.rules
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Applies a [`Policy`] to every request.
#[derive(Clone)]
pub struct AuthzLayer {
    policy: Arc<Policy>,
}

impl fmt::Debug for AuthzLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthzLayer")
            .field("rules", &self.policy.rules.len())
            .finish()
    }
}

impl AuthzLayer {
    /// A layer enforcing `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

crate::layer::wrapping_layer!(AuthzLayer => #[derive(Clone, Debug)] Authz { policy: Arc<Policy> });

impl<S, B, R> tower::Service<http::Request<B>> for Authz<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    /// The inner service's answer, or the refusal: no box per call.
    type Future = Either<S::Future, Ready<Result<http::Response<R>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path();
        let decision = match request.extensions().get::<PeerInfo>() {
            Some(peer) => self.policy.decide(peer.identity.as_deref(), method),
            None => Decision::Denied(
                "the connection carries no authenticated peer; mutual TLS is required".into(),
            ),
        };
        match decision {
            Decision::Allowed(_) => Either::Left(self.inner.call(request)),
            Decision::Denied(message) => {
                let peer = request.extensions().get::<PeerInfo>();
                tracing::warn!(
                    peer = %peer.map(|p| p.remote_addr.to_string()).unwrap_or_default(),
                    identity = %peer.map(PeerInfo::identity_or_reason).unwrap_or_default().escape_debug(),
                    method = %method.escape_debug(),
                    "call refused: {}",
                    message.escape_debug()
                );
                let response = Status::permission_denied(message).into_http::<R>();
                Either::Right(ready(Ok(response)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityError;

    fn rule(name: &str, effect: Effect, ids: &[&str], methods: &[&str]) -> Rule {
        Rule {
            name: name.into(),
            effect,
            identities: ids.iter().map(|s| s.to_string()).collect(),
            methods: methods.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn policy() -> Policy {
        Policy::new(vec![
            rule(
                "custodians-are-not-clients",
                Effect::Deny,
                &["spiffe://t/custodian/*"],
                &["*"],
            ),
            rule(
                "developers",
                Effect::Allow,
                &["spiffe://t/developer", "spiffe://t/developer/*"],
                &["/a.S/*", "/grpc.health.v1.Health/Check"],
            ),
        ])
        .unwrap()
    }

    #[test]
    fn patterns_match_exactly_or_below_a_prefix() {
        assert!(matches("spiffe://t/a/*", "spiffe://t/a/b"));
        assert!(!matches("spiffe://t/a/*", "spiffe://t/a/"));
        assert!(!matches("spiffe://t/a/*", "spiffe://t/ab"));
        assert!(matches("spiffe://t/a", "spiffe://t/a"));
        assert!(!matches("spiffe://t/a", "spiffe://t/a/b"));
        assert!(matches("*", "anything"));
    }

    #[test]
    fn first_covering_rule_decides_and_refusals_name_identity_and_rule() {
        let p = policy();
        assert_eq!(
            p.decide(Ok("spiffe://t/developer"), "/a.S/M"),
            Decision::Allowed("developers")
        );
        let Decision::Denied(m) = p.decide(Ok("spiffe://t/custodian/fhi"), "/a.S/M") else {
            panic!("custodian allowed")
        };
        assert!(m.contains("spiffe://t/custodian/fhi") && m.contains("custodians-are-not-clients"));
        let Decision::Denied(m) = p.decide(Ok("spiffe://t/developer/x"), "/b.S/M") else {
            panic!("other service allowed")
        };
        assert!(m.contains("rule `developers`") && m.contains("/b.S/M"));
        let Decision::Denied(m) = p.decide(Ok("spiffe://t/stranger"), "/a.S/M") else {
            panic!("unknown allowed")
        };
        assert!(m.contains("spiffe://t/stranger") && m.contains("no authorization rule"));
        assert!(matches!(
            p.decide(Err(&IdentityError::Ambiguous(2)), "/a.S/M"),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn malformed_rules_are_refused_with_the_rule_name() {
        let e =
            Policy::new(vec![rule("x", Effect::Allow, &["spiffe://t/*/a"], &["*"])]).unwrap_err();
        assert_eq!(e.rule, "x");
        assert!(Policy::new(vec![rule("y", Effect::Allow, &["t/a"], &["*"])]).is_err());
        assert!(Policy::new(vec![rule("z", Effect::Allow, &["*"], &["a.S/M"])]).is_err());
        assert!(Policy::new(vec![rule("w", Effect::Allow, &[], &["*"])]).is_err());
    }
}
