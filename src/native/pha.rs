//! Client certificate checks for post-handshake authentication (webpki on ring).

use super::error::Error;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use std::time::Duration;

static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
];

/// Verifies `chain` (leaf first) for client auth against the DER trust anchors `roots`.
pub fn verify_chain(roots: &[Vec<u8>], chain: &[Vec<u8>], now_ms: u64) -> Result<(), Error> {
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|r| CertificateDer::from(r.as_slice()))
        .collect();
    let anchors = root_ders
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::Internal("bad trust anchor"))?;
    let leaf = CertificateDer::from(chain[0].as_slice());
    let ee = webpki::EndEntityCert::try_from(&leaf)
        .map_err(|_| Error::BadCertificate("unparsable client certificate"))?;
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let time = UnixTime::since_unix_epoch(Duration::from_millis(now_ms));
    ee.verify_for_usage(
        CHAIN_ALGS,
        &anchors,
        &intermediates,
        time,
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| match e {
        webpki::Error::UnknownIssuer => Error::UnknownCa,
        _ => Error::BadCertificate("client certificate rejected"),
    })
}

/// Verifies a client CertificateVerify signature with the leaf's key.
pub fn verify_signature(leaf: &[u8], scheme: u16, msg: &[u8], sig: &[u8]) -> Result<(), Error> {
    let alg: &dyn SignatureVerificationAlgorithm = match scheme {
        0x0403 => webpki::ring::ECDSA_P256_SHA256,
        0x0503 => webpki::ring::ECDSA_P384_SHA384,
        0x0807 => webpki::ring::ED25519,
        0x0804 => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        0x0805 => webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        0x0806 => webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        // Requested (as OpenSSL requests them) but not verifiable here: P-521, Ed448 and
        // RSA-PSS-PSS keys are not in ring; PKCS#1 v1.5 is not allowed in TLS 1.3's
        // CertificateVerify (RFC 8446 4.2.3).
        _ => return Err(Error::IllegalParameter("unsupported signature scheme")),
    };
    let der = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&der)
        .map_err(|_| Error::BadCertificate("unparsable client certificate"))?;
    ee.verify_signature(alg, msg, sig)
        .map_err(|_| Error::DecryptError("client CertificateVerify does not verify"))
}
