//! A host without CA certificates (a minimal container image): backends over plain HTTP work,
//! an HTTPS backend fails before sending anything and says what to set, and `tls.ca_file`
//! alone is enough to trust one.
//!
//! The test runs itself again in a child process whose trust store (`SSL_CERT_FILE`, which the
//! platform verifier reads on Linux) is an empty file, so the environment of this process is never
//! changed.

use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use scimgate::backend::{AnswerBody, Backend, BackendError, BackendSettings, NativeRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers every connection's first request with `200 ok`, over TLS when `tls` is given.
async fn server(tls: Option<Arc<rustls::ServerConfig>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.clone().map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let mut buf = [0u8; 4096];
                match acceptor {
                    Some(a) => {
                        let Ok(mut s) = a.accept(tcp).await else { return };
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(reply).await;
                        let _ = s.shutdown().await;
                    }
                    None => {
                        let mut s = tcp;
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(reply).await;
                    }
                }
            });
        }
    });
    format!("{}://{addr}", if tls.is_some() { "https" } else { "http" })
}

async fn get(settings: &BackendSettings) -> Result<Bytes, BackendError> {
    let b = Backend::new("t", settings, None).expect("a backend builds without system CA certificates");
    let req = NativeRequest {
        method: Method::GET,
        url: format!("{}/u", settings.base_url),
        headers: vec![],
        body: None,
        step: Arc::from("get"),
        answer: AnswerBody::Keep,
    };
    b.send(req).await.map(|r| r.body)
}

/// Set in the child process that runs the checks.
const CHILD: &str = "SCIMGATE_TEST_EMPTY_TRUST_STORE";

#[test]
fn without_system_roots_http_works_and_https_needs_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    if std::env::var_os(CHILD).is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        return runtime.block_on(checks(dir.path()));
    }
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["without_system_roots_http_works_and_https_needs_a_ca_file", "--exact", "--nocapture"])
        .env(CHILD, "1")
        .env("SSL_CERT_FILE", &empty)
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran the checks:\n{text}");
}

async fn checks(dir: &std::path::Path) {
    let plain = BackendSettings { base_url: server(None).await, ..BackendSettings::default() };
    assert_eq!(get(&plain).await.unwrap(), Bytes::from_static(b"ok"));

    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut secure = BackendSettings { base_url: server(Some(Arc::new(tls))).await, ..BackendSettings::default() };
    secure.retries.attempts = 1;
    let e = get(&secure).await.unwrap_err();
    let BackendError::NotSent { reason, .. } = &e else { panic!("{e:?}") };
    assert!(reason.contains("tls.ca_file"), "{reason}");

    let ca = dir.join("ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    secure.tls.ca_file = Some(ca);
    assert_eq!(get(&secure).await.unwrap(), Bytes::from_static(b"ok"));
}
