//! Credentials for a GitRepository, read from its `spec.secretRef`.
//!
//! Key names are Flux's: `username`/`password` (HTTPS basic auth),
//! `bearerToken`, `ca.crt` (or the older `caFile`) for a private CA, and
//! `identity`, `known_hosts`, `password` (key passphrase) for SSH.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use weir_git::{Auth, SshAuth};

fn bytes(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.as_bytes().to_vec())
        })
}

fn text(secret: &Secret, key: &str) -> Result<Option<String>, String> {
    bytes(secret, key)
        .map(|b| String::from_utf8(b).map_err(|_| format!("secret key '{key}' is not valid UTF-8")))
        .transpose()
}

/// Builds the credentials for `url` from the secret's data.
pub fn from_secret(secret: &Secret, url: &str) -> Result<Auth, String> {
    let name = secret.metadata.name.as_deref().unwrap_or_default();
    let mut auth = Auth {
        ca_pem: bytes(secret, "ca.crt").or_else(|| bytes(secret, "caFile")),
        ..Auth::default()
    };
    if url.starts_with("ssh://") {
        let identity = bytes(secret, "identity").ok_or_else(|| {
            format!("secret '{name}' has no 'identity' key for SSH authentication")
        })?;
        let known_hosts = bytes(secret, "known_hosts").ok_or_else(|| {
            format!("secret '{name}' has no 'known_hosts' key for SSH host verification")
        })?;
        auth.ssh = Some(SshAuth {
            identity,
            known_hosts,
            password: text(secret, "password")?,
        });
        return Ok(auth);
    }
    let username = text(secret, "username")?;
    let password = text(secret, "password")?;
    match (username, password) {
        (Some(u), Some(p)) => auth.basic = Some((u, p)),
        (Some(_), None) | (None, Some(_)) => {
            return Err(format!(
                "secret '{name}' must hold both 'username' and 'password' for basic authentication"
            ));
        }
        (None, None) => {}
    }
    auth.bearer_token = text(secret, "bearerToken")?;
    if auth.basic.is_some() && auth.bearer_token.is_some() {
        return Err(format!(
            "secret '{name}' holds both basic-auth and bearer-token credentials; use one"
        ));
    }
    Ok(auth)
}

/// Reads the secret and builds the credentials. The error text names the
/// secret and never its content.
pub async fn load(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    url: &str,
) -> Result<Auth, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api.get(name).await.map_err(|e| {
        format!(
            "failed to get secret '{namespace}/{name}': {}",
            kube_message(&e)
        )
    })?;
    from_secret(&secret, url)
}

fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta {
                name: Some("creds".into()),
                ..Default::default()
            },
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn https_keys() {
        let a = from_secret(
            &secret(&[("username", "u"), ("password", "p"), ("ca.crt", "PEM")]),
            "https://h/r.git",
        )
        .unwrap();
        assert_eq!(a.basic, Some(("u".into(), "p".into())));
        assert_eq!(a.ca_pem.as_deref(), Some(&b"PEM"[..]));
        let a = from_secret(&secret(&[("bearerToken", "t")]), "https://h/r.git").unwrap();
        assert_eq!(a.bearer_token.as_deref(), Some("t"));
        let e = from_secret(&secret(&[("username", "u")]), "https://h/r.git").unwrap_err();
        assert!(e.contains("both 'username' and 'password'"), "{e}");
        let e = from_secret(
            &secret(&[("username", "u"), ("password", "p"), ("bearerToken", "t")]),
            "https://h",
        )
        .unwrap_err();
        assert!(
            !e.contains('p') || !e.contains("\"p\""),
            "never echo secret values: {e}"
        );
    }

    #[test]
    fn ssh_keys() {
        let a = from_secret(
            &secret(&[("identity", "KEY"), ("known_hosts", "KH")]),
            "ssh://git@h/r.git",
        )
        .unwrap();
        let ssh = a.ssh.unwrap();
        assert_eq!(ssh.identity, b"KEY");
        assert_eq!(ssh.known_hosts, b"KH");
        let e = from_secret(&secret(&[("identity", "KEY")]), "ssh://git@h/r.git").unwrap_err();
        assert!(e.contains("known_hosts"), "{e}");
    }
}
