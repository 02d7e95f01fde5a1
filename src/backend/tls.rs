//! The TLS client configuration of one backend, shared by its native calls and its token
//! requests so that both trust, and present, exactly the same certificates.
//!
//! Trust is the platform's (rustls-platform-verifier: the system store, plus revocation where
//! the platform offers it) with the mapping's `tls.ca_file` added, or nothing at all when
//! `tls.insecure_skip_verify` is set. ALPN is left to each client, which knows the HTTP versions
//! it speaks.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::error::BackendBuildError;
use super::settings::TlsSettings;

/// Largest certificate or key file read for TLS settings.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Builds the configuration `tls` asks for, reading its files now so that a missing or broken
/// file fails the mapping's load rather than its first call.
pub(crate) fn client_config(tls: &TlsSettings) -> Result<ClientConfig, BackendBuildError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| BackendBuildError::Client(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(Untrusted::AnyCertificate(Arc::clone(&provider)))
    } else if let Some(path) = &tls.ca_file {
        let extra = certificates("tls.ca_file", path)?;
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| BackendBuildError::invalid("tls.ca_file", format!("not usable as trust roots: {e}")))?;
        Arc::new(verifier)
    } else {
        platform_verifier(provider)
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let config = match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert), Some(key)) => {
            let chain = certificates("tls.client_cert_file", cert)?;
            let key = private_key(key)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                BackendBuildError::invalid("tls.client_cert_file", format!("not a usable certificate and key: {e}"))
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(BackendBuildError::invalid(
                "tls",
                "client_cert_file and client_key_file must be given together",
            ));
        }
    };
    Ok(config)
}

/// The platform's verifier, built once per process: it reads the whole system store, several
/// milliseconds that every backend without its own CA file would otherwise pay at start-up and
/// at each reload.
///
/// A system without CA certificates (a minimal container image) still runs backends over plain
/// HTTP; an HTTPS call then fails its handshake, as not sent, saying to set `tls.ca_file`.
fn platform_verifier(provider: Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    static SHARED: OnceLock<Arc<dyn ServerCertVerifier>> = OnceLock::new();
    let verifier = SHARED.get_or_init(|| match rustls_platform_verifier::Verifier::new(Arc::clone(&provider)) {
        Ok(v) => Arc::new(v),
        Err(e) => {
            tracing::warn!(error = %e, "no system CA certificates: HTTPS backends need tls.ca_file");
            Arc::new(Untrusted::NoRoots(provider))
        }
    });
    Arc::clone(verifier)
}

/// The process's default provider if one was installed, aws-lc-rs otherwise.
fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

fn certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, BackendBuildError> {
    let pem = read_pem(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BackendBuildError::invalid(key, format!("not a PEM certificate bundle: {e}")))?;
    if certs.is_empty() {
        return Err(BackendBuildError::invalid(key, "contains no certificate"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, BackendBuildError> {
    let pem = read_pem("tls.client_key_file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        BackendBuildError::invalid("tls.client_key_file", format!("no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"))
    })
}

fn read_pem(key: &'static str, path: &Path) -> Result<Vec<u8>, BackendBuildError> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|source| BackendBuildError::File { key, path: path.into(), source })?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes).map_err(|source| BackendBuildError::File {
        key,
        path: path.into(),
        source,
    })?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(BackendBuildError::invalid(key, format!("`{}` is larger than 1 MiB", path.display())));
    }
    Ok(bytes)
}

/// A verifier that consults no trust store. The handshake signatures are still checked, so the
/// peer at least holds the key of the certificate it shows.
#[derive(Debug)]
enum Untrusted {
    /// `insecure_skip_verify`: any certificate for any name is accepted.
    AnyCertificate(Arc<CryptoProvider>),
    /// Trusts nothing: the system has no CA certificates and the mapping names no `tls.ca_file`.
    NoRoots(Arc<CryptoProvider>),
}

impl Untrusted {
    fn provider(&self) -> &CryptoProvider {
        match self {
            Untrusted::AnyCertificate(p) | Untrusted::NoRoots(p) => p,
        }
    }
}

impl ServerCertVerifier for Untrusted {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self {
            Untrusted::AnyCertificate(_) => Ok(ServerCertVerified::assertion()),
            Untrusted::NoRoots(_) => Err(rustls::Error::General(
                "no trusted certificate authorities: the system has none; set the backend's tls.ca_file".into(),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider().signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider().signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider().signature_verification_algorithms.supported_schemes()
    }
}
