//! An OpenSSL client set up against the test PKI, for tests and examples that drive a server
//! under their own control (the harness has its own client, [`crate::client`]).

use crate::openssl_ffi::{on_new_session, ClientSession};
use crate::pki::pki;
use openssl::pkey::PKey;
use openssl::ssl::{
    Ssl, SslContext, SslMethod, SslRef, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use std::io::{Read, Write};

/// What the client offers, in OpenSSL's list syntax.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// TLS 1.3 cipher suites.
    pub suites: &'static str,
    pub groups: &'static str,
    /// Whether the test client certificate is there for post-handshake authentication.
    pub client_cert: bool,
}

impl Default for ClientOptions {
    /// The pair the native server and rustls are compared on.
    fn default() -> Self {
        ClientOptions {
            suites: "TLS_AES_128_GCM_SHA256",
            groups: "X25519",
            client_cert: false,
        }
    }
}

/// A TLS 1.3-only client context that verifies the server against the test CA and hands each
/// session a ticket brings to `on_session` (and keeps none itself: a long run does not fill an
/// internal cache).
pub fn client_context(
    opts: &ClientOptions,
    on_session: impl Fn(ClientSession) + Send + Sync + 'static,
) -> SslContext {
    let p = pki();
    let mut b = SslContext::builder(SslMethod::tls_client()).expect("SSL_CTX_new");
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .expect("TLS 1.3");
    b.set_ciphersuites(opts.suites).expect("cipher suites");
    b.set_groups_list(opts.groups).expect("groups");
    b.cert_store_mut()
        .add_cert(X509::from_der(&p.ca_cert_der).expect("test CA"))
        .expect("adding the test CA");
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
    on_new_session(&mut b, move |_ssl, session| on_session(session));
    if opts.client_cert {
        let cert = X509::from_der(&p.client.cert_der).expect("test client certificate");
        let key = PKey::private_key_from_der(&p.client.key_pkcs8).expect("test client key");
        b.set_certificate(&cert).expect("client certificate");
        b.set_private_key(&key).expect("client key");
    }
    b.build()
}

/// A client connection from `ctx` to `localhost` (name checked against the certificate) over
/// `transport`, after `setup` (to offer a session, to enable post-handshake auth).
pub fn connect<T: Read + Write>(
    ctx: &SslContext,
    transport: T,
    setup: impl FnOnce(&mut SslRef),
) -> SslStream<T> {
    let mut ssl = Ssl::new(ctx).expect("SSL_new");
    setup(&mut ssl);
    ssl.set_hostname("localhost").expect("SNI");
    ssl.param_mut().set_host("localhost").expect("host check");
    ssl.set_connect_state();
    SslStream::new(ssl, transport).expect("SSL stream")
}
