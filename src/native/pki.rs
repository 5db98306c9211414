//! A throwaway P-256 PKI generated with rcgen (CA, "localhost" server, client), for tests,
//! `serve` and fuzzing until the project's shared PKI module exists.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// DER and PEM material of one generated PKI.
pub struct TestPki {
    pub ca_der: Vec<u8>,
    pub ca_pem: String,
    pub server_cert_der: Vec<u8>,
    pub server_cert_pem: String,
    pub server_key_pkcs8: Vec<u8>,
    pub server_key_pem: String,
    pub client_cert_der: Vec<u8>,
    pub client_cert_pem: String,
    pub client_key_pkcs8: Vec<u8>,
    pub client_key_pem: String,
}

impl TestPki {
    /// Generates a fresh CA and a server and a client certificate signed by it.
    pub fn generate() -> Result<Self, rcgen::Error> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ticketdiff test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut sp = CertificateParams::new(vec!["localhost".to_string()])?;
        sp.distinguished_name.push(DnType::CommonName, "localhost");
        sp.subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = sp.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut cp = CertificateParams::new(Vec::<String>::new())?;
        cp.distinguished_name
            .push(DnType::CommonName, "ticketdiff test client");
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = cp.signed_by(&client_key, &issuer)?;

        Ok(TestPki {
            ca_der: ca_cert.der().to_vec(),
            ca_pem: ca_cert.pem(),
            server_cert_der: server_cert.der().to_vec(),
            server_cert_pem: server_cert.pem(),
            server_key_pkcs8: server_key.serialize_der(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_der: client_cert.der().to_vec(),
            client_cert_pem: client_cert.pem(),
            client_key_pkcs8: client_key.serialize_der(),
            client_key_pem: client_key.serialize_pem(),
        })
    }

    /// A server config for the "localhost" certificate, trusting this CA for client auth.
    pub fn server_config(
        &self,
        ticket_key: [u8; 32],
    ) -> Result<super::ServerConfig, super::ConfigError> {
        let mut cfg = super::ServerConfig::new(
            vec![self.server_cert_der.clone()],
            &self.server_key_pkcs8,
            ticket_key,
        )?;
        cfg.client_auth_roots = vec![self.ca_der.clone()];
        Ok(cfg)
    }
}
