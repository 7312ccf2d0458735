//! `generic` and `generic-hmac`: Flux's event JSON, as is, to the address.
//!
//! Both add `gotk-component: <reporting controller>` and the Secret's
//! `headers`. `generic-hmac` signs the exact body with HMAC-SHA256 keyed by
//! the Secret's `token` and sends `X-Signature: sha256=<hex>`, as Flux does.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use weir_runtime::events::FluxEvent;

use super::{COMPONENT_HEADER, HttpRequest, NotifierError, Target, require_url};

/// The signature header of `generic-hmac`.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// `sha256=<hex HMAC-SHA256 of body keyed by key>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error case cannot occur.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn forward(
    target: &Target,
    event: &FluxEvent,
    hmac: bool,
) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    if hmac && target.token.is_empty() {
        return Err(NotifierError::Config(
            "generic-hmac needs a 'token' in the Secret referenced by spec.secretRef".into(),
        ));
    }
    let body = serde_json::to_vec(event)
        .map_err(|e| NotifierError::Config(format!("encoding the event: {e}")))?;
    let mut req = HttpRequest::post_json(&target.address, body)
        .header(COMPONENT_HEADER, event.reporting_controller.clone());
    for (name, value) in &target.headers {
        req = req.header(name, value.clone());
    }
    if hmac {
        let sig = signature(target.token.as_bytes(), &req.body);
        req = req.header(SIGNATURE_HEADER, sig);
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifier::testing::{event, json, target};
    use crate::notifier::{ProviderType, requests};

    #[test]
    fn generic_posts_the_event_json() {
        let mut t = target("http://sink.example/hook");
        t.headers.insert("X-Custom".into(), "1".into());
        let e = event("info", &[("revision", "main@sha1:abc")]);
        let reqs = requests(ProviderType::Generic, &t, &e).unwrap();
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.method, reqwest::Method::POST);
        assert_eq!(r.url, "http://sink.example/hook");
        assert_eq!(r.header_value("content-type"), Some("application/json"));
        assert_eq!(
            r.header_value("gotk-component"),
            Some("kustomize-controller")
        );
        assert_eq!(r.header_value("x-custom"), Some("1"));
        assert_eq!(r.header_value("x-signature"), None);
        let body = json(r);
        assert_eq!(body["involvedObject"]["kind"], "Kustomization");
        assert_eq!(body["involvedObject"]["name"], "webapp");
        assert_eq!(body["severity"], "info");
        assert_eq!(body["timestamp"], "2026-03-01T10:20:30Z");
        assert_eq!(body["reason"], "ReconciliationSucceeded");
        assert_eq!(body["metadata"]["revision"], "main@sha1:abc");
        assert_eq!(body["reportingController"], "kustomize-controller");
        assert_eq!(body["reportingInstance"], "kustomize-controller-7f9c");
    }

    #[test]
    fn generic_hmac_signs_the_body_it_sends() {
        let mut t = target("https://sink.example/");
        t.token = "s3cret".into();
        let e = event("error", &[]);
        let reqs = requests(ProviderType::GenericHmac, &t, &e).unwrap();
        let r = &reqs[0];
        let sig = r.header_value("X-Signature").unwrap();
        // Independently: HMAC-SHA256(key, body) per RFC 2104.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(&r.body);
        assert_eq!(
            sig,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
        // RFC 4231 test case 2 pins the construction.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        t.token.clear();
        assert!(matches!(
            requests(ProviderType::GenericHmac, &t, &e),
            Err(NotifierError::Config(_))
        ));
    }
}
