//! TLS for the HTTPS, gRPC and TCP listeners (rustls with ring), and the view of a finished
//! handshake that the echo replies report, with Go's names for versions and cipher suites.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConnection, WebPkiClientVerifier};
use rustls::{CipherSuite, ProtocolVersion, RootCertStore, ServerConfig};

use crate::config::TlsFiles;
use crate::Error;

/// Builds a server configuration from PEM files: TLS 1.2 and 1.3, the given ALPN protocols, and
/// client certificates requested and verified only if presented when a CA bundle is configured
/// (Go's `VerifyClientCertIfGiven`).
pub fn server_config(files: &TlsFiles, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(files.cert.0, &files.cert.1)?;
    let key = PrivateKeyDer::from_pem_file(&files.key.1).map_err(|e| Error::BadFile {
        var: files.key.0,
        path: files.key.1.display().to_string(),
        problem: format!("no usable PEM private key: {e}"),
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some((var, path)) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(var, path)? {
                roots.add(cert).map_err(|e| Error::BadFile {
                    var,
                    path: path.display().to_string(),
                    problem: format!("unusable CA certificate: {e}"),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::Tls(format!("{var}: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("{} / {}: {e}", files.cert.0, files.key.0)))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Reads every certificate of a PEM file; none at all is an error naming the variable.
fn read_certs(
    var: &'static str,
    path: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bad = |problem: String| Error::BadFile {
        var,
        path: path.display().to_string(),
        problem,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(format!("cannot read: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no PEM CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// What a finished handshake looked like from the server side.
#[derive(Clone, Debug)]
pub struct TlsInfo {
    /// Negotiated protocol version.
    pub version: Option<ProtocolVersion>,
    /// SNI sent by the client.
    pub server_name: String,
    /// ALPN result, empty when none.
    pub negotiated_protocol: String,
    /// Negotiated cipher suite.
    pub cipher_suite: Option<CipherSuite>,
    /// Client certificate chain, leaf first.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

impl TlsInfo {
    /// Captures the session state of a server connection after its handshake.
    pub fn from_connection(conn: &ServerConnection) -> Self {
        TlsInfo {
            version: conn.protocol_version(),
            server_name: conn.server_name().unwrap_or_default().to_string(),
            negotiated_protocol: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
            peer_certificates: conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
        }
    }

    /// The version as the HTTP and gRPC echo write it: `TLSv1.3`.
    pub fn version_http(&self) -> String {
        match self.version {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
            Some(ProtocolVersion::TLSv1_1) => "TLSv1.1".into(),
            Some(ProtocolVersion::TLSv1_0) => "TLSv1.0".into(),
            _ => String::new(),
        }
    }

    /// The version as Go's `tls.VersionName` writes it (TCP mode): `TLS 1.3`.
    pub fn version_go(&self) -> String {
        match self.version {
            Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".into(),
            Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".into(),
            Some(ProtocolVersion::TLSv1_1) => "TLS 1.1".into(),
            Some(ProtocolVersion::TLSv1_0) => "TLS 1.0".into(),
            Some(v) => format!("0x{:04X}", u16::from(v)),
            None => String::new(),
        }
    }

    /// The cipher suite as Go's `tls.CipherSuiteName` writes it (`TLS_AES_128_GCM_SHA256`).
    pub fn cipher_suite_go(&self) -> String {
        let Some(suite) = self.cipher_suite else {
            return String::new();
        };
        match suite.as_str() {
            // rustls prefixes the TLS 1.3 suites with `TLS13_`; the IANA (and Go) names do not.
            Some(name) => match name.strip_prefix("TLS13_") {
                Some(rest) => format!("TLS_{rest}"),
                None => name.to_string(),
            },
            None => format!("0x{:04X}", u16::from(suite)),
        }
    }

    /// Client certificates, each as one PEM `CERTIFICATE` block (LF line endings, as Go writes them).
    pub fn peer_certificates_pem(&self) -> Vec<String> {
        self.peer_certificates
            .iter()
            .map(|c| {
                pem::encode_config(
                    &pem::Pem::new("CERTIFICATE", c.as_ref().to_vec()),
                    pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names() {
        let mut info = TlsInfo {
            version: Some(ProtocolVersion::TLSv1_3),
            server_name: String::new(),
            negotiated_protocol: String::new(),
            cipher_suite: Some(CipherSuite::TLS13_AES_128_GCM_SHA256),
            peer_certificates: vec![],
        };
        assert_eq!(info.version_http(), "TLSv1.3");
        assert_eq!(info.version_go(), "TLS 1.3");
        assert_eq!(info.cipher_suite_go(), "TLS_AES_128_GCM_SHA256");
        info.cipher_suite = Some(CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
        assert_eq!(
            info.cipher_suite_go(),
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        );
    }
}
