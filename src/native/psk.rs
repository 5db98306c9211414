//! Which offered PSK a ClientHello's handshake uses, and with which key exchange mode: external
//! PSKs first, then tickets, as OpenSSL asks its find-session callback before its tickets.

use super::core::Core;
use super::early_data;
use super::error::Error;
use super::msgs::{ClientHello, PSK_DHE_KE, PSK_KE};
use super::session_cache::SessionId;
use super::suites::CipherSuite;
use super::ticket::TicketState;
use super::tickets::{Lookup, Resumption, TicketKind, TicketStatus};

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
    /// The cached session's id, for a stateful ticket.
    pub session_id: Option<SessionId>,
    /// A ticket's session: its suite (same hash as the negotiated one, maybe another cipher)
    /// and the early data it allows; `None` for an external PSK.
    pub session: Option<(u16, u32)>,
    /// Whether the client's early data could be accepted with it (OpenSSL's `early_data_ok`):
    /// the client's first identity, a ticket whose age the client reports within OpenSSL's
    /// window ([`early_data::age_ok`]).
    pub early_ok: bool,
}

/// What the ClientHello's pre_shared_key came to.
pub(crate) struct PskChoice {
    pub chosen: Option<ChosenPsk>,
    /// Whether the handshake ends with tickets.
    pub tickets_expected: bool,
}

/// Whether the client's modes allow `psk_ke` on this server, whatever its PSKs.
pub(crate) fn psk_ke_offered(core: &Core, ch: &ClientHello) -> bool {
    core.settings.allow_psk_ke
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

/// The session behind a ticket identity, if any, as the ticket rules ([`tickets`]) say: a
/// stateful ticket is looked up in the cache (and taken out when sessions are single-use), a
/// stateless one opened and shown to the decrypt callback. `Err` for a fatal outcome.
fn open_ticket(
    core: &Core,
    identity: &[u8],
    resumption: &mut Resumption,
) -> Result<Option<TicketState>, Error> {
    let lookup = match core.settings.ticket_kind() {
        TicketKind::Stateful => {
            let single_use = core.settings.single_use();
            let mut cache = core.config.session_cache();
            let state = match identity.len() {
                32 => cache.get(identity),
                _ => None,
            };
            // Anti-replay: the session is taken out as it is used; one already taken is not
            // found.
            if single_use && state.is_some() {
                cache.remove(identity);
            }
            let lookup = resumption.stateful_lookup(state.is_some());
            return Ok(state.filter(|_| lookup == Lookup::Use));
        }
        TicketKind::Stateless => {
            let state = core.config.ticket_key.open(identity);
            let status = match state {
                Some(_) => TicketStatus::SuccessRenew,
                None => TicketStatus::NoDecrypt,
            };
            let callbacks = core.config.ticket_callbacks();
            (resumption.stateless(status, callbacks.as_ref()), state)
        }
    };
    match lookup {
        (Lookup::Abort, _) => Err(Error::Internal("the ticket decrypt callback aborted")),
        (Lookup::Skip, _) => Ok(None),
        (Lookup::Use, state) => Ok(state),
    }
}

/// Picks an offered PSK the server accepts, before its binder is checked. Call once per
/// ClientHello: looking a ticket up can use it up (anti-replay) and runs the callbacks.
pub(crate) fn choose(
    core: &Core,
    ch: &ClientHello,
    suite: &CipherSuite,
) -> Result<PskChoice, Error> {
    let mut resumption = Resumption::new();
    let choice = |chosen| PskChoice {
        chosen,
        tickets_expected: true,
    };
    let Some(offer) = ch.psk.as_ref() else {
        return Ok(choice(None));
    };
    let Some(dhe) = uses_dhe(core, ch) else {
        return Ok(choice(None));
    };
    resumption.start();
    let sha256 = suite.digest == &ring::digest::SHA256;
    for (index, (identity, obfuscated_age)) in offer.identities.iter().enumerate().take(8) {
        let external = core
            .config
            .external_psks
            .iter()
            .find(|p| sha256 && p.identity == *identity);
        if let Some(p) = external {
            return Ok(choice(Some(ChosenPsk {
                index,
                key: p.key.clone(),
                peer_cert: None,
                external: Some(p.identity.clone()),
                dhe,
                session_id: None,
                // Early data with an external PSK is out of this server's scope.
                session: None,
                early_ok: false,
            })));
        }
        let Some(t) = open_ticket(core, identity, &mut resumption)? else {
            continue;
        };
        match CipherSuite::by_id(t.suite) {
            Some(s) if s.digest == suite.digest && t.psk.len() == suite.hash_len() => {}
            _ => {
                resumption.hash_mismatch();
                continue;
            }
        }
        let server_age = core.now_ms.saturating_sub(t.issued_ms);
        if server_age > u64::from(t.lifetime_s) * 1000 {
            continue;
        }
        let client_age = u64::from(obfuscated_age.wrapping_sub(t.age_add));
        if client_age.abs_diff(server_age) > core.config.ticket_age_tolerance_ms {
            continue;
        }
        return Ok(PskChoice {
            chosen: Some(ChosenPsk {
                index,
                key: t.psk,
                peer_cert: t.peer_cert,
                external: None,
                dhe,
                session_id: match core.settings.ticket_kind() {
                    TicketKind::Stateful => identity.as_slice().try_into().ok(),
                    TicketKind::Stateless => None,
                },
                session: Some((t.suite, t.max_early_data)),
                early_ok: index == 0 && early_data::age_ok(client_age, server_age),
            }),
            tickets_expected: resumption.tickets_expected,
        });
    }
    Ok(PskChoice {
        chosen: None,
        tickets_expected: resumption.tickets_expected,
    })
}

/// The suite for a handshake: among the server's suites the client offers, the first in the
/// server's order (with `server_preference`) or in the client's (OpenSSL's default); with
/// external PSKs, the first SHA-256 one of those, if any (OpenSSL's `prefer_sha256`).
pub(crate) fn choose_suite(core: &Core, ch: &ClientHello) -> Option<&'static CipherSuite> {
    let allowed = core.config.current_suites();
    let offered: Vec<&'static CipherSuite> = match core.settings.server_preference {
        true => allowed
            .iter()
            .copied()
            .filter(|s| ch.cipher_suites.contains(&s.id))
            .collect(),
        false => ch
            .cipher_suites
            .iter()
            .filter_map(|id| allowed.iter().copied().find(|s| s.id == *id))
            .collect(),
    };
    let first = offered.first().copied();
    if core.config.external_psks.is_empty() {
        return first;
    }
    offered
        .into_iter()
        .find(|s| s.digest == &ring::digest::SHA256)
        .or(first)
}
