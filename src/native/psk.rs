//! Which offered PSK a ClientHello's handshake uses, and with which key exchange mode: external
//! PSKs first, then tickets, as OpenSSL asks its find-session callback before its tickets.

use super::core::Core;
use super::msgs::{ClientHello, PSK_DHE_KE, PSK_KE};
use super::suites::CipherSuite;

/// The PSK a handshake goes on with.
pub(crate) struct ChosenPsk {
    /// Its index among the client's identities (echoed in the ServerHello).
    pub index: usize,
    pub key: Vec<u8>,
    /// The client certificate the ticket's session carries.
    pub peer_cert: Option<Vec<u8>>,
    /// The external PSK's identity; `None` for a ticket.
    pub external: Option<Vec<u8>>,
    /// `psk_dhe_ke`; `psk_ke` (no key exchange) when false.
    pub dhe: bool,
}

/// Whether the client's modes allow `psk_ke` on this server, whatever its PSKs.
pub(crate) fn psk_ke_offered(core: &Core, ch: &ClientHello) -> bool {
    core.config.allow_psk_ke
        && ch.psk.is_some()
        && ch.psk_modes.as_ref().is_some_and(|m| m.contains(&PSK_KE))
}

/// `psk_dhe_ke` whenever the client offers it and a key exchange can happen (a key_share
/// extension and a common group, so possibly after an HRR), else `psk_ke` where allowed: the
/// order of OpenSSL's `final_key_share`.
fn uses_dhe(core: &Core, ch: &ClientHello) -> Option<bool> {
    let modes = ch.psk_modes.as_ref()?;
    let dhe_offered = modes.contains(&PSK_DHE_KE);
    if !psk_ke_offered(core, ch) {
        return dhe_offered.then_some(true);
    }
    let common_group = ch.key_shares.is_some()
        && ch
            .supported_groups
            .as_ref()
            .is_some_and(|offered| core.config.groups.iter().any(|g| offered.contains(&g.id())));
    Some(dhe_offered && common_group)
}

/// Picks an offered PSK the server accepts, before its binder is checked.
pub(crate) fn choose(core: &Core, ch: &ClientHello, suite: &CipherSuite) -> Option<ChosenPsk> {
    let offer = ch.psk.as_ref()?;
    let dhe = uses_dhe(core, ch)?;
    let sha256 = suite.digest == &ring::digest::SHA256;
    for (index, (identity, obfuscated_age)) in offer.identities.iter().enumerate().take(8) {
        let external = core
            .config
            .external_psks
            .iter()
            .find(|p| sha256 && p.identity == *identity);
        if let Some(p) = external {
            return Some(ChosenPsk {
                index,
                key: p.key.clone(),
                peer_cert: None,
                external: Some(p.identity.clone()),
                dhe,
            });
        }
        let Some(t) = core.config.ticket_key.open(identity) else {
            continue;
        };
        match CipherSuite::by_id(t.suite) {
            Some(s) if s.digest == suite.digest && t.psk.len() == suite.hash_len() => {}
            _ => continue,
        }
        let server_age = core.now_ms.saturating_sub(t.issued_ms);
        if server_age > u64::from(t.lifetime_s) * 1000 {
            continue;
        }
        let client_age = u64::from(obfuscated_age.wrapping_sub(t.age_add));
        if client_age.abs_diff(server_age) > core.config.ticket_age_tolerance_ms {
            continue;
        }
        return Some(ChosenPsk {
            index,
            key: t.psk,
            peer_cert: t.peer_cert,
            external: None,
            dhe,
        });
    }
    None
}

/// The suite for a handshake: the server's first the client offers; with external PSKs, its
/// first SHA-256 one the client offers, if any (OpenSSL's `prefer_sha256`).
pub(crate) fn choose_suite(core: &Core, ch: &ClientHello) -> Option<&'static CipherSuite> {
    let mut offered = core
        .config
        .suites
        .iter()
        .copied()
        .filter(|s| ch.cipher_suites.contains(&s.id));
    if core.config.external_psks.is_empty() {
        return offered.next();
    }
    let first = offered.clone().next();
    offered
        .find(|s| s.digest == &ring::digest::SHA256)
        .or(first)
}
