//! Fuzzing entry point: arbitrary bytes from a client into a fresh server.

use super::{ServerConfig, ServerConnection};
use std::sync::{Arc, OnceLock};

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let pki = super::pki::TestPki::generate().expect("pki");
            let cfg = pki.server_config([7u8; 32]).expect("config");
            Arc::new(cfg)
        })
        .clone()
}

/// Feeds `data` to a fresh server as a client would, in chunks whose sizes come from the
/// first byte, and checks: no panic, bounded output, every fault an alert or a peer alert.
pub fn fuzz_server_bytes(data: &[u8]) {
    let mut conn = ServerConnection::new(config(), [1u8; 32], 1_700_000_000_000);
    let (chunk, rest) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1) * 64, rest),
        None => return,
    };
    let mut total_out = 0usize;
    for piece in rest.chunks(chunk) {
        let r = conn.read_tls(piece);
        let out = conn.take_output();
        total_out += out.len();
        let _ = conn.recv_application_data();
        if let Err(e) = r {
            assert!(
                e.alert().is_some() || matches!(e, super::Error::PeerAlert(_)),
                "fault without alert: {e:?}"
            );
            assert!(!out.is_empty() || e.alert().is_none(), "no alert sent");
            break;
        }
    }
    // One server flight plus one alert at most: certificate chain and handshake messages.
    assert!(total_out < 64 * 1024, "output too large: {total_out}");
}
