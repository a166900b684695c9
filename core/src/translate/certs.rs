//! TLS key material: PEM blocks, the few X.509 fields the translation needs, and whether a
//! private key belongs to a certificate.
//!
//! Only structure is checked (DER well-formedness, the certificate's public key against the
//! one the private key carries); no signature or validity period is verified, so the result
//! never depends on a clock. Envoy rejects a whole configuration over one certificate it
//! cannot load, so whatever passes here must load in Envoy.

/// What the translation needs from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// DNS names of the subjectAltName extension (not the subject CN).
    pub dns_names: Vec<String>,
    /// The subject public key.
    key: PublicKey,
}

/// A private key, reduced to what identifies its public half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    key: PublicKey,
}

/// The public half of a key pair, as far as it can be read without arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    /// RSA modulus, without leading zero bytes.
    Rsa(Vec<u8>),
    /// EC point, when the private key carries it.
    Ec(Option<Vec<u8>>),
    /// Another algorithm (Ed25519, ...): compared by algorithm only.
    Other(Vec<u8>),
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;

/// The PEM blocks of a text: (label, DER bytes).
pub fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| "unterminated PEM header".to_string())?;
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start
            .find(&end_marker)
            .ok_or_else(|| format!("PEM block {label} has no END line"))?;
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body)
            .map_err(|_| format!("PEM block {label} is not valid base64"))?;
        out.push((label.to_string(), der));
        rest = &body_start[body_end + end_marker.len()..];
    }
    Ok(out)
}

/// Parses a PEM certificate chain; the first certificate is the leaf.
pub fn parse_chain(pem: &str) -> Result<Vec<CertInfo>, String> {
    let blocks = pem_blocks(pem)?;
    let certs: Vec<CertInfo> = blocks
        .iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| parse_certificate(der))
        .collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err("no PEM CERTIFICATE block".into());
    }
    Ok(certs)
}

/// Parses a PEM private key: PKCS#1 (`RSA PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
pub fn parse_key(pem: &str) -> Result<KeyInfo, String> {
    let blocks = pem_blocks(pem)?;
    let (label, der) = blocks
        .iter()
        .find(|(l, _)| l.ends_with("PRIVATE KEY"))
        .ok_or_else(|| "no PEM private key block".to_string())?;
    let key = match label.as_str() {
        "RSA PRIVATE KEY" => rsa_private(der)?,
        "EC PRIVATE KEY" => ec_private(der)?,
        "PRIVATE KEY" => pkcs8_private(der)?,
        other => {
            return Err(format!(
                "{other} key format is not supported; use PKCS1, PKCS8 or EC"
            ))
        }
    };
    Ok(KeyInfo { key })
}

/// Whether a private key is the one of a certificate (when the key says enough to tell).
pub fn key_matches(cert: &CertInfo, key: &KeyInfo) -> bool {
    match (&cert.key, &key.key) {
        (PublicKey::Rsa(a), PublicKey::Rsa(b)) => a == b,
        (PublicKey::Ec(a), PublicKey::Ec(b)) => match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        },
        (PublicKey::Other(a), PublicKey::Other(b)) => a == b,
        _ => false,
    }
}

/// A DER reader over one level of TLVs.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next TLV: (tag, value).
    fn next(&mut self) -> Result<(u8, &'a [u8]), String> {
        let bad = || "malformed DER".to_string();
        let (&tag, rest) = self.rest.split_first().ok_or_else(bad)?;
        if tag & 0x1f == 0x1f {
            return Err("DER high tag numbers are not supported".into());
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(bad());
        }
        let (value, rest) = rest.split_at(len);
        self.rest = rest;
        Ok((tag, value))
    }

    /// The next TLV, which must have this tag.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], String> {
        let (t, v) = self.next()?;
        if t != tag {
            return Err(format!(
                "malformed DER: expected tag {tag:#04x}, found {t:#04x}"
            ));
        }
        Ok(v)
    }

    /// Skips the next TLV if it has this tag.
    fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, String> {
        if self.peek_tag() == Some(tag) {
            return self.expect(tag).map(Some);
        }
        Ok(None)
    }
}

/// An INTEGER's magnitude without leading zero bytes.
fn unsigned(int: &[u8]) -> Vec<u8> {
    let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
    int[start..].to_vec()
}

fn parse_certificate(der: &[u8]) -> Result<CertInfo, String> {
    let mut outer = Der::new(der);
    let cert = outer.expect(SEQUENCE)?;
    if !outer.is_empty() {
        return Err("trailing data after certificate".into());
    }
    let mut cert = Der::new(cert);
    let tbs = cert.expect(SEQUENCE)?;
    cert.expect(SEQUENCE)?; // signatureAlgorithm
    cert.expect(BIT_STRING)?; // signatureValue
    let mut tbs = Der::new(tbs);
    tbs.optional(0xa0)?; // version
    tbs.expect(INTEGER)?; // serialNumber
    tbs.expect(SEQUENCE)?; // signature
    tbs.expect(SEQUENCE)?; // issuer
    tbs.expect(SEQUENCE)?; // validity
    tbs.expect(SEQUENCE)?; // subject
    let key = spki(tbs.expect(SEQUENCE)?)?;
    tbs.optional(0x81)?; // issuerUniqueID
    tbs.optional(0x82)?; // subjectUniqueID
    let mut dns_names = Vec::new();
    if let Some(exts) = tbs.optional(0xa3)? {
        let mut list = Der::new(Der::new(exts).expect(SEQUENCE)?);
        while !list.is_empty() {
            let mut ext = Der::new(list.expect(SEQUENCE)?);
            let oid = ext.expect(OID)?;
            ext.optional(BOOLEAN)?;
            let value = ext.expect(OCTET_STRING)?;
            if oid == OID_SAN {
                let mut names = Der::new(Der::new(value).expect(SEQUENCE)?);
                while !names.is_empty() {
                    let (tag, v) = names.next()?;
                    if tag == 0x82 {
                        dns_names.push(String::from_utf8_lossy(v).into_owned());
                    }
                }
            }
        }
    }
    Ok(CertInfo { dns_names, key })
}

/// A SubjectPublicKeyInfo's key.
fn spki(bytes: &[u8]) -> Result<PublicKey, String> {
    let mut spki = Der::new(bytes);
    let mut alg = Der::new(spki.expect(SEQUENCE)?);
    let oid = alg.expect(OID)?;
    let bits = spki.expect(BIT_STRING)?;
    let key = bits.get(1..).ok_or("empty public key")?;
    Ok(if oid == OID_RSA {
        let mut rsa = Der::new(Der::new(key).expect(SEQUENCE)?);
        PublicKey::Rsa(unsigned(rsa.expect(INTEGER)?))
    } else if oid == OID_EC {
        PublicKey::Ec(Some(key.to_vec()))
    } else {
        PublicKey::Other(oid.to_vec())
    })
}

fn rsa_private(der: &[u8]) -> Result<PublicKey, String> {
    let mut key = Der::new(Der::new(der).expect(SEQUENCE)?);
    key.expect(INTEGER)?; // version
    Ok(PublicKey::Rsa(unsigned(key.expect(INTEGER)?)))
}

fn ec_private(der: &[u8]) -> Result<PublicKey, String> {
    let mut key = Der::new(Der::new(der).expect(SEQUENCE)?);
    key.expect(INTEGER)?; // version
    key.expect(OCTET_STRING)?; // privateKey
    key.optional(0xa0)?; // parameters
    let public = match key.optional(0xa1)? {
        Some(explicit) => {
            let bits = Der::new(explicit).expect(BIT_STRING)?;
            bits.get(1..).map(<[u8]>::to_vec)
        }
        None => None,
    };
    Ok(PublicKey::Ec(public))
}

fn pkcs8_private(der: &[u8]) -> Result<PublicKey, String> {
    let mut key = Der::new(Der::new(der).expect(SEQUENCE)?);
    key.expect(INTEGER)?; // version
    let mut alg = Der::new(key.expect(SEQUENCE)?);
    let oid = alg.expect(OID)?;
    let inner = key.expect(OCTET_STRING)?;
    if oid == OID_RSA {
        rsa_private(inner)
    } else if oid == OID_EC {
        ec_private(inner)
    } else {
        Ok(PublicKey::Other(oid.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_text_that_is_not_a_certificate() {
        assert!(parse_chain("foo").is_err());
        assert!(
            parse_chain("-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(parse_key("bar").is_err());
        assert!(
            parse_key("-----BEGIN FOO PRIVATE KEY-----\nZm9v\n-----END FOO PRIVATE KEY-----")
                .is_err()
        );
    }

    #[test]
    fn reads_nested_lengths() {
        // SEQUENCE { INTEGER 5, OCTET STRING (200 bytes, long-form length) }
        let mut der = vec![0x30, 0x81, 0xce, 0x02, 0x01, 0x05, 0x04, 0x81, 0xc8];
        der.extend(std::iter::repeat_n(7u8, 200));
        let mut outer = Der::new(&der);
        let mut seq = Der::new(outer.expect(SEQUENCE).unwrap());
        assert_eq!(seq.expect(INTEGER).unwrap(), &[5]);
        assert_eq!(seq.expect(OCTET_STRING).unwrap().len(), 200);
        assert!(seq.is_empty() && outer.is_empty());
    }
}
