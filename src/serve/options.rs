//! The command line of `ticketdiff serve`.

use super::limits::{Limits, MAX_NUM_TICKETS};
use crate::native::certs::subject_name;
use crate::native::{ConfigError, ExternalPsk, KeyKind, NamedGroup, ServerConfig};
use crate::pki::Pki;
use clap::builder::RangedU64ValueParser;
use std::net::SocketAddr;
use std::time::Duration;

/// The longest timeout the command line takes: a day.
const MAX_TIMEOUT_SECS: u64 = 86_400;

#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:4433")]
    pub addr: SocketAddr,
    /// Tickets issued after each full handshake (at most one after a resumption), at most 256.
    #[arg(long, default_value_t = 2,
          value_parser = RangedU64ValueParser::<u64>::new().range(0..=MAX_NUM_TICKETS))]
    pub num_tickets: u64,
    /// Connections served at once; one more is closed as soon as it is accepted.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_connections,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    pub max_connections: usize,
    /// Seconds from accepting a connection to the end of its handshake.
    #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT.handshake_timeout.as_secs(),
          value_parser = seconds())]
    pub handshake_timeout: u64,
    /// Seconds a connection may stay silent after its handshake.
    #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT.idle_timeout.as_secs(),
          value_parser = seconds())]
    pub idle_timeout: u64,
    /// Seconds one write to a client may take (a client that never reads is dropped then).
    #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT.write_timeout.as_secs(),
          value_parser = seconds())]
    pub write_timeout: u64,
    /// Server certificates (from the test CA): ecdsa-p256, ecdsa-p384, rsa, ed25519, repeated
    /// or comma-separated; the first fits a client best where several do (the client's
    /// signature_algorithms choose).
    #[arg(
        long = "cert",
        value_name = "TYPE",
        value_delimiter = ',',
        default_value = "ecdsa-p256"
    )]
    pub certs: Vec<KeyKind>,
    /// Ask every full handshake for a client certificate and refuse one without
    /// (certificate_required), as `openssl s_server -Verify`; post-handshake auth (`pha`) too.
    #[arg(long)]
    pub require_client_cert: bool,
    /// Key-exchange groups in order of preference, comma-separated: X25519MLKEM768, X25519,
    /// secp256r1 (P-256), secp384r1 (P-384).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "X25519MLKEM768,X25519,secp256r1,secp384r1"
    )]
    pub groups: Vec<NamedGroup>,
    /// An external PSK in hex, as `openssl s_server -psk` (SHA-256 suites; with it the server
    /// prefers them).
    #[arg(long, value_name = "HEX", value_parser = psk_hex)]
    pub psk: Option<PskKey>,
    /// The identity the client must name for `--psk` (s_server's default).
    #[arg(
        long,
        value_name = "ID",
        default_value = "Client_identity",
        requires = "psk"
    )]
    pub psk_identity: String,
    /// PSKs (tickets and `--psk`) without (EC)DHE when the client offers psk_ke, as
    /// `s_server -allow_no_dhe_kex`.
    #[arg(long)]
    pub allow_no_dhe_kex: bool,
    /// The early data each ticket allows (its early_data extension), as `s_server
    /// -max_early_data N`; the client's early data is then accepted on resumption (at most
    /// 16384 bytes, one record) and answered after the handshake. With it, tickets are
    /// stateful and single use (OpenSSL's anti-replay) unless `--no-anti-replay`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_early_data: u32,
    /// Stateful TLS 1.3 tickets from the server's session cache, as `s_server -no_ticket`.
    #[arg(long)]
    pub no_ticket: bool,
    /// Sessions that allow early data resume more than once, as `s_server -no_anti_replay`.
    #[arg(long)]
    pub no_anti_replay: bool,
    /// No certificate: only PSK handshakes succeed, as `s_server -nocert`.
    #[arg(long, conflicts_with = "certs", requires = "psk")]
    pub no_cert: bool,
}

/// The bytes of `--psk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskKey(pub Vec<u8>);

/// OpenSSL's `-psk` takes up to 512 bytes (`PSK_MAX_PSK_LEN`).
const MAX_PSK_LEN: usize = 512;

fn psk_hex(s: &str) -> Result<PskKey, String> {
    if s.is_empty() || !s.len().is_multiple_of(2) || s.len() / 2 > MAX_PSK_LEN {
        return Err(format!(
            "expected 1 to {MAX_PSK_LEN} bytes as an even number of hex digits"
        ));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("?"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map(PskKey)
        .map_err(|_| "expected hex digits".to_string())
}

fn seconds() -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::new().range(1..=MAX_TIMEOUT_SECS)
}

impl Options {
    /// The native server's configuration these options ask for, on `pki`'s certificates.
    pub fn server_config(
        &self,
        pki: &Pki,
        ticket_key: [u8; 32],
    ) -> Result<ServerConfig, ConfigError> {
        let certs: &[KeyKind] = match self.no_cert {
            true => &[],
            false => &self.certs,
        };
        let mut config = pki.native_server_config_with(certs, ticket_key)?;
        config.groups = self.groups.clone();
        config.external_psks = self
            .psk
            .iter()
            .map(|key| ExternalPsk {
                identity: self.psk_identity.clone().into_bytes(),
                key: key.0.clone(),
            })
            .collect();
        config.allow_psk_ke = self.allow_no_dhe_kex;
        config.max_early_data = self.max_early_data;
        config.stateful_tickets = self.no_ticket;
        config.anti_replay = !self.no_anti_replay;
        if self.require_client_cert {
            config.request_client_cert = true;
            config.require_client_cert = true;
            config.client_ca_names = subject_name(&pki.ca_cert_der).into_iter().collect();
        }
        config.set_num_tickets(self.num_tickets);
        Ok(config)
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            handshake_timeout: Duration::from_secs(self.handshake_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            write_timeout: Duration::from_secs(self.write_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        options: Options,
    }

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied())).map(|c| c.options)
    }

    #[test]
    fn certificates_and_groups_repeat_or_take_lists() {
        let o = parse(&["--cert", "rsa,ed25519", "--cert", "ecdsa-p384"]).unwrap();
        assert_eq!(
            o.certs,
            [KeyKind::Rsa, KeyKind::Ed25519, KeyKind::EcdsaP384]
        );
        let o = parse(&["--groups", "P-384,X25519"]).unwrap();
        assert_eq!(o.groups, [NamedGroup::Secp384r1, NamedGroup::X25519]);
        let o = parse(&[]).unwrap();
        assert_eq!(o.certs, [KeyKind::EcdsaP256]);
        assert_eq!(o.groups, NamedGroup::ALL);
        assert!(!o.require_client_cert);
        let err = parse(&["--cert", "dsa"]).unwrap_err().to_string();
        assert!(
            err.contains("ecdsa-p256, ecdsa-p384, rsa, ed25519"),
            "{err}"
        );
        assert!(parse(&["--groups", "ffdhe2048"]).is_err());
    }

    #[test]
    fn psk_options_make_an_external_psk() {
        let pki = crate::pki::pki();
        let o = parse(&["--psk", "0A0b", "--psk-identity", "me", "--no-cert"]).unwrap();
        let config = o.server_config(pki, [1; 32]).unwrap();
        let want = ExternalPsk {
            identity: b"me".to_vec(),
            key: vec![10, 11],
        };
        assert_eq!(config.external_psks, [want]);
        assert!(config.certs.is_empty() && !config.allow_psk_ke);
        let o = parse(&["--psk", "00", "--allow-no-dhe-kex"]).unwrap();
        let config = o.server_config(pki, [1; 32]).unwrap();
        assert_eq!(config.external_psks[0].identity, b"Client_identity");
        assert!(config.allow_psk_ke && config.certs.len() == 1);
        for bad in ["", "abc", "zz", "é0"] {
            let err = parse(&["--psk", bad]).unwrap_err().to_string();
            assert!(err.contains("hex"), "{bad}: {err}");
        }
        assert!(parse(&["--no-cert"]).is_err());
        assert!(parse(&["--psk-identity", "x"]).is_err());
        assert!(parse(&["--psk", "00", "--no-cert", "--cert", "rsa"]).is_err());
    }

    #[test]
    fn require_client_cert_asks_in_the_handshake_and_names_the_ca() {
        let pki = crate::pki::pki();
        let o = parse(&["--require-client-cert", "--cert", "ed25519"]).unwrap();
        let config = o.server_config(pki, [1; 32]).unwrap();
        assert!(config.request_client_cert && config.require_client_cert);
        assert_eq!(config.client_ca_names.len(), 1);
        assert_eq!(config.certs.len(), 1);
        assert_eq!(config.certs[0].kind, KeyKind::Ed25519);
    }
}
