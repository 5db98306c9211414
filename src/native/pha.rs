//! Client certificate checks for client authentication, in the handshake and after it (webpki
//! on ring).

use super::core::Core;
use super::error::Error;
use super::key_schedule::Transcript;
use super::msgs;
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

/// The signature schemes a CertificateRequest lists, and that a client's CertificateVerify may
/// use: OpenSSL 3.0's default list in its order (as OpenSSL 3.0.19 sends it). With the 32-byte
/// context ([`PHA_CONTEXT_LEN`]) a post-handshake request is exactly as long as OpenSSL's, which
/// matters for the same reason as ticket sizes (see `ticket.rs`): how many tickets fit on a
/// full transport after it is observable through the ticket API. A fuzzed program found one
/// ticket of difference with the shorter message this server used to send. Which of these
/// schemes a CertificateVerify can actually use is [`verify_signature`]'s business.
pub(crate) const REQUESTED_SIG_SCHEMES: [u16; 16] = [
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0804, 0x0805, 0x0806, 0x0401,
    0x0501, 0x0601, 0x0303, 0x0301,
];

/// OpenSSL's certificate_request_context length for post-handshake auth.
pub(crate) const PHA_CONTEXT_LEN: usize = 32;

/// A CertificateRequest with `context` (empty in the handshake).
pub(crate) fn certificate_request(core: &Core, context: &[u8]) -> Vec<u8> {
    msgs::certificate_request(
        context,
        &REQUESTED_SIG_SCHEMES,
        &core.config.client_ca_names,
    )
}

/// Checks a client Certificate message answering a CertificateRequest with `context`: the
/// chain (leaf first), verified against the configured roots; empty when the client sent none
/// and that is allowed (else `certificate_required`).
pub(crate) fn accept_certificate(
    core: &Core,
    msg: &[u8],
    context: &[u8],
) -> Result<Vec<Vec<u8>>, Error> {
    let (got_context, chain) = msgs::decode_certificate(&msg[4..])?;
    if got_context != context {
        return Err(Error::IllegalParameter("wrong certificate_request_context"));
    }
    if chain.is_empty() {
        return match core.config.require_client_cert {
            true => Err(Error::CertificateRequired),
            false => Ok(chain),
        };
    }
    verify_chain(&core.config.client_auth_roots, &chain, core.now_ms)?;
    Ok(chain)
}

/// Checks a client CertificateVerify (`msg`) by `chain`'s leaf over `transcript`.
pub(crate) fn check_certificate_verify(
    chain: &[Vec<u8>],
    transcript: &Transcript,
    msg: &[u8],
) -> Result<(), Error> {
    let (scheme, sig) = msgs::decode_certificate_verify(&msg[4..])?;
    if !REQUESTED_SIG_SCHEMES.contains(&scheme) {
        return Err(Error::IllegalParameter("signature scheme not requested"));
    }
    let content = msgs::signed_content(false, &transcript.hash());
    verify_signature(&chain[0], scheme, &content, &sig)
}

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
