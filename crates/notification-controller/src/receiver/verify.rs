//! Authentication and payload checks of incoming webhooks, per Receiver
//! type, as Flux's receiver server does them. Pure: headers and body in,
//! verdict out.
//!
//! A request that fails authentication (missing or wrong signature or
//! token) is [`Refusal::Unauthorized`] (HTTP 401); one that authenticates
//! but is malformed or of an event type the Receiver does not accept is
//! [`Refusal::BadRequest`] (400). Flux answers 400 to both.

use axum::http::HeaderMap;
use hmac::Hmac;
#[cfg(test)]
use hmac::Mac as _;
use serde_json::Value;
use weir_api::notification::v1::ReceiverType;

/// Why a webhook call is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unsupported(String),
}

/// The accepted call: the event type it carries, when there is one.
#[derive(Debug, PartialEq, Eq)]
pub struct Accepted {
    pub event: Option<String>,
}

/// The Receiver's settings a call is checked against.
pub struct Check<'a> {
    pub receiver_type: ReceiverType,
    /// `spec.events`; empty accepts every event.
    pub events: &'a [String],
    /// The Secret's `token`.
    pub token: &'a [u8],
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn event_allowed(events: &[String], event: &str, who: &str) -> Result<(), Refusal> {
    if events.is_empty() || events.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        Ok(())
    } else {
        Err(Refusal::BadRequest(format!(
            "the {who} event '{event}' is not authorised"
        )))
    }
}

/// Checks `<alg>=<hex>` against the HMAC of `body` keyed by `key`, for
/// sha1, sha256 and sha512 (go-github's `ValidateSignature`), in constant time.
pub fn verify_signature(signature: &str, body: &[u8], key: &[u8]) -> Result<(), Refusal> {
    if signature.is_empty() {
        return Err(Refusal::Unauthorized("missing signature".into()));
    }
    let (alg, hex_mac) = signature
        .split_once('=')
        .ok_or_else(|| Refusal::Unauthorized("error parsing signature".into()))?;
    let mac = hex::decode(hex_mac)
        .map_err(|_| Refusal::Unauthorized("error parsing signature".into()))?;
    let ok = match alg {
        "sha1" => hmac_verify::<Hmac<sha1::Sha1>>(key, body, &mac),
        "sha256" => hmac_verify::<Hmac<sha2::Sha256>>(key, body, &mac),
        "sha512" => hmac_verify::<Hmac<sha2::Sha512>>(key, body, &mac),
        other => {
            return Err(Refusal::Unauthorized(format!(
                "unknown signature algorithm '{other}'"
            )));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Refusal::Unauthorized(
            "payload signature check failed".into(),
        ))
    }
}

fn hmac_verify<M: hmac::Mac + hmac::digest::KeyInit>(key: &[u8], body: &[u8], mac: &[u8]) -> bool {
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(body);
            m.verify_slice(mac).is_ok()
        }
        Err(_) => false,
    }
}

/// Constant-time equality of a header value and the token.
fn token_matches(given: &str, token: &[u8]) -> bool {
    let given = given.as_bytes();
    if given.len() != token.len() {
        return false;
    }
    given
        .iter()
        .zip(token)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// go-github's `ValidatePayload`: the signature from `X-Hub-Signature-256`
/// (or the SHA-1 `X-Hub-Signature`) over the raw body; JSON or form bodies.
fn github_style(headers: &HeaderMap, body: &[u8], token: &[u8], who: &str) -> Result<(), Refusal> {
    let content_type = header(headers, "content-type");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media != "application/json" && media != "application/x-www-form-urlencoded" {
        return Err(Refusal::BadRequest(format!(
            "webhook request has unsupported Content-Type '{content_type}'"
        )));
    }
    let mut signature = header(headers, "x-hub-signature-256");
    if signature.is_empty() {
        signature = header(headers, "x-hub-signature");
    }
    verify_signature(signature, body, token)
        .map_err(|e| Refusal::Unauthorized(format!("the {who} signature header is invalid: {e}")))
}

fn decode_json(body: &[u8], who: &str) -> Result<Value, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| Refusal::BadRequest(format!("cannot decode {who} webhook payload: {e}")))
}

/// Checks one call against the Receiver.
pub fn verify(check: &Check<'_>, headers: &HeaderMap, body: &[u8]) -> Result<Accepted, Refusal> {
    let token = check.token;
    match check.receiver_type {
        // The path (a hash of the token) is the only credential.
        ReceiverType::Generic => Ok(Accepted { event: None }),
        ReceiverType::GenericHmac => {
            verify_signature(header(headers, "x-signature"), body, token).map_err(|e| {
                Refusal::Unauthorized(format!("unable to validate HMAC signature: {e}"))
            })?;
            Ok(Accepted { event: None })
        }
        ReceiverType::GitHub => {
            github_style(headers, body, token, "GitHub")?;
            let event = header(headers, "x-github-event").to_owned();
            event_allowed(check.events, &event, "GitHub")?;
            Ok(Accepted { event: Some(event) })
        }
        ReceiverType::GitLab => {
            if !token_matches(header(headers, "x-gitlab-token"), token) {
                return Err(Refusal::Unauthorized(
                    "the X-Gitlab-Token header value does not match the receiver token".into(),
                ));
            }
            let event = header(headers, "x-gitlab-event").to_owned();
            event_allowed(check.events, &event, "GitLab")?;
            Ok(Accepted { event: Some(event) })
        }
        ReceiverType::Bitbucket => {
            github_style(headers, body, token, "Bitbucket server")?;
            let event = header(headers, "x-event-key").to_owned();
            event_allowed(check.events, &event, "Bitbucket server")?;
            Ok(Accepted { event: Some(event) })
        }
        ReceiverType::Harbor => {
            if !token_matches(header(headers, "authorization"), token) {
                return Err(Refusal::Unauthorized(
                    "the Harbor Authorization header value does not match the receiver token"
                        .into(),
                ));
            }
            Ok(Accepted { event: None })
        }
        ReceiverType::DockerHub => {
            let v = decode_json(body, "DockerHub")?;
            let tag = v["push_data"]["tag"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            Ok(Accepted {
                event: (!tag.is_empty()).then_some(tag),
            })
        }
        ReceiverType::Quay => {
            let v = decode_json(body, "Quay")?;
            if !v.is_object() {
                return Err(Refusal::BadRequest(
                    "cannot decode Quay webhook payload: not an object".into(),
                ));
            }
            Ok(Accepted { event: None })
        }
        ReceiverType::Nexus => {
            let signature = header(headers, "x-nexus-webhook-signature");
            if signature.is_empty() {
                return Err(Refusal::Unauthorized(
                    "the Nexus signature is missing from header".into(),
                ));
            }
            // Nexus signs with HMAC-SHA1, hex without a prefix.
            verify_signature(&format!("sha1={signature}"), body, token)
                .map_err(|_| Refusal::Unauthorized("invalid Nexus signature".into()))?;
            let v = decode_json(body, "Nexus")?;
            let action = v["action"].as_str().map(str::to_owned);
            Ok(Accepted { event: action })
        }
        ReceiverType::Acr => {
            let v = decode_json(body, "ACR")?;
            let action = v["action"].as_str().map(str::to_owned);
            Ok(Accepted { event: action })
        }
        ReceiverType::Gcr => Err(Refusal::Unsupported(
            "gcr receivers (Google-signed OIDC tokens) are not supported by Weir yet".into(),
        )),
        ReceiverType::GenericOidc => Err(Refusal::Unsupported(
            "generic-oidc receivers are not supported by Weir yet".into(),
        )),
        ReceiverType::CdEvents => Err(Refusal::Unsupported(
            "cdevents receivers are not supported by Weir yet".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn sign256(key: &[u8], body: &[u8]) -> String {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(body);
        format!("sha256={}", hex::encode(m.finalize().into_bytes()))
    }

    fn sign1(key: &[u8], body: &[u8]) -> String {
        let mut m = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
        m.update(body);
        hex::encode(m.finalize().into_bytes())
    }

    fn check(t: ReceiverType, events: &[String]) -> Check<'_> {
        Check {
            receiver_type: t,
            events,
            token: b"tok",
        }
    }

    #[test]
    fn github_signatures_and_events() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let events = vec!["push".to_owned(), "ping".to_owned()];
        let c = check(ReceiverType::GitHub, &events);
        let good = sign256(b"tok", body);
        let ok = verify(
            &c,
            &headers(&[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &good),
                ("x-github-event", "Push"),
            ]),
            body,
        );
        assert_eq!(
            ok,
            Ok(Accepted {
                event: Some("Push".into())
            })
        );
        // The SHA-1 header is accepted when the SHA-256 one is absent.
        let sha1 = format!("sha1={}", sign1(b"tok", body));
        assert!(
            verify(
                &c,
                &headers(&[
                    ("content-type", "application/json"),
                    ("x-hub-signature", &sha1),
                    ("x-github-event", "ping"),
                ]),
                body
            )
            .is_ok()
        );
        let wrong = sign256(b"other", body);
        assert!(matches!(
            verify(
                &c,
                &headers(&[
                    ("content-type", "application/json"),
                    ("x-hub-signature-256", &wrong),
                    ("x-github-event", "push"),
                ]),
                body
            ),
            Err(Refusal::Unauthorized(m)) if m.contains("payload signature check failed")
        ));
        assert!(matches!(
            verify(
                &c,
                &headers(&[("content-type", "application/json"), ("x-github-event", "push")]),
                body
            ),
            Err(Refusal::Unauthorized(m)) if m.contains("missing signature")
        ));
        assert!(matches!(
            verify(
                &c,
                &headers(&[
                    ("content-type", "application/json"),
                    ("x-hub-signature-256", &good),
                    ("x-github-event", "issues"),
                ]),
                body
            ),
            Err(Refusal::BadRequest(m)) if m == "the GitHub event 'issues' is not authorised"
        ));
        assert!(matches!(
            verify(
                &c,
                &headers(&[
                    ("content-type", "text/plain"),
                    ("x-hub-signature-256", &good)
                ]),
                body
            ),
            Err(Refusal::BadRequest(_))
        ));
    }

    #[test]
    fn generic_hmac_gitlab_harbor_nexus() {
        let body = b"{}";
        let none: Vec<String> = vec![];
        let c = check(ReceiverType::GenericHmac, &none);
        let sig = sign256(b"tok", body);
        assert!(verify(&c, &headers(&[("x-signature", &sig)]), body).is_ok());
        assert!(matches!(
            verify(&c, &headers(&[]), body),
            Err(Refusal::Unauthorized(_))
        ));
        assert!(matches!(
            verify(&c, &headers(&[("x-signature", "sha256=zz")]), body),
            Err(Refusal::Unauthorized(_))
        ));

        let events = vec!["Push Hook".to_owned()];
        let c = check(ReceiverType::GitLab, &events);
        assert!(
            verify(
                &c,
                &headers(&[("x-gitlab-token", "tok"), ("x-gitlab-event", "push hook")]),
                body
            )
            .is_ok()
        );
        assert!(matches!(
            verify(
                &c,
                &headers(&[("x-gitlab-token", "tok2"), ("x-gitlab-event", "Push Hook")]),
                body
            ),
            Err(Refusal::Unauthorized(_))
        ));
        assert!(matches!(
            verify(
                &c,
                &headers(&[
                    ("x-gitlab-token", "tok"),
                    ("x-gitlab-event", "Tag Push Hook")
                ]),
                body
            ),
            Err(Refusal::BadRequest(_))
        ));

        let c = check(ReceiverType::Harbor, &none);
        assert!(verify(&c, &headers(&[("authorization", "tok")]), body).is_ok());
        assert!(verify(&c, &headers(&[("authorization", "Bearer tok")]), body).is_err());

        let c = check(ReceiverType::Nexus, &none);
        let nexus_body = br#"{"action":"CREATED","repositoryName":"r"}"#;
        let sig = sign1(b"tok", nexus_body);
        assert_eq!(
            verify(
                &c,
                &headers(&[("x-nexus-webhook-signature", &sig)]),
                nexus_body
            ),
            Ok(Accepted {
                event: Some("CREATED".into())
            })
        );
        assert!(matches!(
            verify(
                &c,
                &headers(&[("x-nexus-webhook-signature", "00")]),
                nexus_body
            ),
            Err(Refusal::Unauthorized(_))
        ));
    }

    #[test]
    fn registries_decode_payloads() {
        let none: Vec<String> = vec![];
        let dh = check(ReceiverType::DockerHub, &none);
        assert_eq!(
            verify(
                &dh,
                &headers(&[]),
                br#"{"push_data":{"tag":"v1"},"repository":{"repo_url":"u"}}"#
            ),
            Ok(Accepted {
                event: Some("v1".into())
            })
        );
        assert!(matches!(
            verify(&dh, &headers(&[]), b"nope"),
            Err(Refusal::BadRequest(_))
        ));
        let quay = check(ReceiverType::Quay, &none);
        assert!(
            verify(
                &quay,
                &headers(&[]),
                br#"{"docker_url":"d","updated_tags":["a"]}"#
            )
            .is_ok()
        );
        let acr = check(ReceiverType::Acr, &none);
        assert!(
            verify(
                &acr,
                &headers(&[]),
                br#"{"action":"push","target":{"repository":"r","tag":"t"}}"#
            )
            .is_ok()
        );
        assert!(matches!(
            verify(&check(ReceiverType::Gcr, &none), &headers(&[]), b"{}"),
            Err(Refusal::Unsupported(_))
        ));
    }
}
