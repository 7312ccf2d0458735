//! SSH transport against a throw-away `sshd` on 127.0.0.1 (skipped when sshd is not installed).

mod common;

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use weir_git::{FetchOutcome, GitError, SshAuth};

const SSHD: &str = "/usr/sbin/sshd";

struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "weir-test",
            "-f",
        ])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

impl Sshd {
    /// Start sshd authorizing `client_pubkeys`; `None` when this machine can't run it.
    fn start(authorized: &[PathBuf]) -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            println!("NOTE: {SSHD} not installed; ssh test skipped");
            return None;
        }
        // sshd needs root for privilege separation (and the login user is the current one).
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            println!("NOTE: not running as root; ssh test skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        keygen(&dir.path().join("host_key"), "");
        let mut keys = String::new();
        for pubkey in authorized {
            keys.push_str(&std::fs::read_to_string(pubkey).unwrap());
        }
        std::fs::write(dir.path().join("authorized_keys"), keys).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
             AcceptEnv GIT_PROTOCOL\n",
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Sshd { child, port, dir })
    }

    fn known_hosts(&self) -> Vec<u8> {
        let key = std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap();
        format!("[127.0.0.1]:{} {}", self.port, key).into_bytes()
    }
}

#[test]
fn ssh_transport() {
    let keys = tempfile::tempdir().unwrap();
    let plain = keys.path().join("plain");
    let encrypted = keys.path().join("encrypted");
    let stranger = keys.path().join("stranger");
    let other_host = keys.path().join("other_host");
    keygen(&plain, "");
    keygen(&encrypted, "correct horse");
    keygen(&stranger, "");
    keygen(&other_host, "");
    let Some(sshd) = Sshd::start(&[plain.with_extension("pub"), encrypted.with_extension("pub")])
    else {
        return;
    };

    let repo = Repo::new();
    repo.write("hello.txt", "over ssh\n");
    let head = repo.commit("ssh");
    let url = format!(
        "ssh://root@127.0.0.1:{}{}",
        sshd.port,
        repo.path().display()
    );
    let auth = |key: &Path, known_hosts: Vec<u8>, password: Option<&str>| SshAuth {
        identity: std::fs::read(key).unwrap(),
        known_hosts,
        password: password.map(str::to_owned),
    };

    let mut fetch = Fetch::new(&url);
    fetch.auth.ssh = Some(auth(&plain, sshd.known_hosts(), None));
    let (dest, res) = fetch.run();
    assert!(
        matches!(res, Ok(FetchOutcome::CheckedOut(ref r)) if r.commit == head),
        "{res:?}"
    );
    assert_eq!(listing(dest.path()), ["hello.txt"]);

    fetch.last_commit = Some(head.clone());
    let (_d, res) = fetch.run();
    assert!(matches!(res, Ok(FetchOutcome::Unchanged(_))), "{res:?}");
    fetch.last_commit = None;

    // Passphrase-protected key.
    fetch.auth.ssh = Some(auth(&encrypted, sshd.known_hosts(), Some("correct horse")));
    let (_d, res) = fetch.run();
    assert!(matches!(res, Ok(FetchOutcome::CheckedOut(_))), "{res:?}");

    fetch.auth.ssh = Some(auth(&encrypted, sshd.known_hosts(), Some("wrong")));
    let (_d, res) = fetch.run();
    assert!(
        matches!(res, Err(GitError::Auth(_))),
        "wrong passphrase: {res:?}"
    );

    // Key not authorized by the server.
    fetch.auth.ssh = Some(auth(&stranger, sshd.known_hosts(), None));
    let (_d, res) = fetch.run();
    match &res {
        Err(GitError::Auth(msg)) => assert!(msg.contains("Permission denied"), "{msg}"),
        other => panic!("unauthorized key: {other:?}"),
    }

    // Host key mismatch.
    let wrong_host = format!(
        "[127.0.0.1]:{} {}",
        sshd.port,
        std::fs::read_to_string(other_host.with_extension("pub")).unwrap()
    );
    fetch.auth.ssh = Some(auth(&plain, wrong_host.into_bytes(), None));
    let (_d, res) = fetch.run();
    match &res {
        Err(GitError::Auth(msg)) => assert!(msg.contains("Host key verification failed"), "{msg}"),
        other => panic!("host key mismatch: {other:?}"),
    }

    // Unknown host (empty known_hosts).
    fetch.auth.ssh = Some(auth(&plain, Vec::new(), None));
    let (_d, res) = fetch.run();
    assert!(
        matches!(res, Err(GitError::Auth(_))),
        "unknown host: {res:?}"
    );
}
