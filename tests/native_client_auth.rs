//! Client authentication in the handshake (a CertificateRequest in the server's flight: OpenSSL's
//! SSL_VERIFY_PEER, with and without SSL_VERIFY_FAIL_IF_NO_PEER_CERT), with client certificates
//! of every key type, certificate_authorities, and the identity carried into resumption.

mod common;
use common::*;
use openssl::pkey::PKey;
use openssl::ssl::{SslContext, SslContextBuilder, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use ticketdiff::native::certs::subject_name;
use ticketdiff::native::{AlertDescription as A, Error, KeyKind, ServerConfig};
use ticketdiff::pki::{Identity, Pki};

fn asking(require: bool) -> Arc<ServerConfig> {
    config_with(|c| {
        c.request_client_cert = true;
        c.require_client_cert = require;
    })
}

/// An OpenSSL client trusting the test CA, with `identity` as its certificate if given; the
/// sessions it gets are kept in `slot`.
fn client_ctx(identity: Option<&Identity>, slot: SessionSlot) -> SslContext {
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
    b.cert_store_mut()
        .add_cert(X509::from_der(&pki().ca_cert_der).unwrap())
        .unwrap();
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::CLIENT);
    if let Some(id) = identity {
        b.set_certificate(&X509::from_der(&id.cert_der).unwrap())
            .unwrap();
        b.set_private_key(&PKey::private_key_from_pem(id.key_pem.as_bytes()).unwrap())
            .unwrap();
    }
    ticketdiff::openssl_ffi::on_new_session(&mut b, move |_ssl, session| {
        *slot.lock().unwrap() = Some(session);
    });
    b.build()
}

fn pair(ctx: &SslContext, cfg: &Arc<ServerConfig>) -> OsslPair {
    OsslPair::from_context(ctx, Arc::new(AtomicUsize::new(0)), server(cfg), |_| {})
}

#[test]
fn client_certificates_of_every_key_type() {
    let cfg = asking(true);
    for kind in KeyKind::ALL {
        let id = pki().client_identity(kind);
        let ctx = client_ctx(Some(id), SessionSlot::default());
        let mut p = pair(&ctx, &cfg);
        p.handshake().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        p.client_read().unwrap();
        assert!(p.server.is_handshake_finished(), "{kind:?}");
        // OpenSSL sends the chain it built: the leaf, then the CA.
        assert_eq!(p.server.info().peer_certificates[0], id.cert_der);
        // Post-handshake auth still counts its own completions only.
        assert_eq!(p.server.info().client_auth_completed, 0);
    }
}

#[test]
fn no_certificate_is_certificate_required_only_when_required() {
    let ctx = client_ctx(None, SessionSlot::default());
    let mut p = pair(&ctx, &asking(true));
    let _ = p.handshake();
    let _ = p.client_read();
    assert_eq!(p.server_error, Some(Error::CertificateRequired));
    assert!(!p.server.is_handshake_finished());

    let mut p = pair(&ctx, &asking(false));
    p.handshake().unwrap();
    p.client_read().unwrap();
    assert!(p.server.is_handshake_finished());
    assert!(p.server.info().peer_certificates.is_empty());
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    // The other CA has the test CA's name (see `Pki::generate`): the issuer is found by name
    // and its signature does not verify.
    let other = Pki::generate().unwrap();
    let ctx = client_ctx(Some(&other.client), SessionSlot::default());
    let mut p = pair(&ctx, &asking(false));
    let _ = p.handshake();
    let _ = p.client_read();
    assert_eq!(
        p.server_error.as_ref().and_then(|e| e.alert()),
        Some(A::BadCertificate)
    );
    assert!(!p.server.is_handshake_finished());
}

/// A rustls client certificate resolver that keeps the CA names the server sent.
#[derive(Debug)]
struct HintRecorder {
    key: Arc<rustls::sign::CertifiedKey>,
    hints: Mutex<Vec<Vec<u8>>>,
}

impl rustls::client::ResolvesClientCert for HintRecorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        *self.hints.lock().unwrap() = root_hint_subjects.iter().map(|h| h.to_vec()).collect();
        Some(self.key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[test]
fn rustls_client_authenticates_and_sees_certificate_authorities() {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let ca_name = subject_name(&pki().ca_cert_der).unwrap();
    let cfg = config_with(|c| {
        c.request_client_cert = true;
        c.client_ca_names = vec![ca_name.clone()];
    });
    for kind in KeyKind::ALL {
        let id = pki().client_identity(kind);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_pkcs8.clone()));
        let signer = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
        let recorder = Arc::new(HintRecorder {
            key: Arc::new(rustls::sign::CertifiedKey::new(
                vec![CertificateDer::from(id.cert_der.clone())],
                signer,
            )),
            hints: Mutex::default(),
        });
        let mut ccfg = (*rustls_client_config(rustls::crypto::ring::default_provider())).clone();
        ccfg.client_auth_cert_resolver = recorder.clone();
        let mut p = RustlsPair::new(&Arc::new(ccfg), server(&cfg));
        p.pump().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(p.server.is_handshake_finished(), "{kind:?}");
        assert_eq!(p.server.info().peer_certificates, vec![id.cert_der.clone()]);
        assert_eq!(*recorder.hints.lock().unwrap(), vec![ca_name.clone()]);
    }
}

#[test]
fn a_resumed_session_keeps_the_client_identity_and_asks_for_none() {
    let cfg = asking(true);
    let slot: SessionSlot = Arc::new(Mutex::new(None));
    let ctx = client_ctx(Some(&pki().client), slot.clone());
    let mut first = pair(&ctx, &cfg);
    first.handshake().unwrap();
    first.client_read().unwrap();
    assert_eq!(first.server.tickets_written(), 2);
    let session = slot.lock().unwrap().take().expect("a ticket");
    let mut second =
        OsslPair::from_context(&ctx, Arc::new(AtomicUsize::new(0)), server(&cfg), |ssl| {
            assert!(ticketdiff::openssl_ffi::set_session(ssl, &session))
        });
    second.handshake().unwrap();
    assert!(second.server.is_resumed());
    assert_eq!(
        second.server.info().peer_certificates,
        vec![pki().client.cert_der.clone()]
    );
    // No CertificateRequest on a resumed handshake (RFC 8446 4.3.2).
    assert!(second.server.info().certificate.is_none());
}
