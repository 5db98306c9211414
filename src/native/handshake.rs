//! The server's handshake states, one type each. A state consumes one handshake message and
//! returns the next state; everything it sends goes through [`Core`].

use super::certs;
use super::core::{Core, EarlyDataStatus, EarlyState, MAX_EARLY_DATA_SKIP};
use super::early_data;
use super::error::Error;
use super::kex;
use super::key_schedule::{Schedule, Secret, Transcript};
use super::msgs::{self, hs, ClientHello, ServerHello, HRR_RANDOM, SSL3, TLS13};
use super::psk;
use super::record::RecordCipher;
use super::suites::{CipherSuite, NamedGroup};

use super::pha::PHA_CONTEXT_LEN;

pub(crate) enum State {
    ExpectClientHello(ExpectClientHello),
    ExpectSecondClientHello(Box<ExpectSecondClientHello>),
    ExpectClientCertificate(Box<ExpectClientCertificate>),
    ExpectClientCertificateVerify(Box<ExpectClientCertificateVerify>),
    ExpectEndOfEarlyData(Box<ExpectEndOfEarlyData>),
    ExpectFinished(Box<ExpectFinished>),
    Established(Box<Established>),
    ExpectPhaCertificate(Box<ExpectPhaCertificate>),
    ExpectPhaCertificateVerify(Box<ExpectPhaCertificateVerify>),
    ExpectPhaFinished(Box<ExpectPhaFinished>),
    Failed,
}

impl State {
    pub(crate) fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        let body = &msg[4..];
        match self {
            State::ExpectClientHello(s) => s.handle(core, typ, msg),
            State::ExpectSecondClientHello(s) => s.handle(core, typ, msg),
            State::ExpectClientCertificate(s) => s.handle(core, typ, msg),
            State::ExpectClientCertificateVerify(s) => s.handle(core, typ, msg),
            State::ExpectEndOfEarlyData(s) => s.handle(core, typ, msg),
            State::ExpectFinished(s) => s.handle(core, typ, msg),
            State::Established(s) => s.handle(core, typ, body),
            State::ExpectPhaCertificate(s) => s.handle(core, typ, msg),
            State::ExpectPhaCertificateVerify(s) => s.handle(core, typ, msg),
            State::ExpectPhaFinished(s) => s.handle(core, typ, msg),
            State::Failed => Err(Error::InvalidState("connection failed")),
        }
    }

    /// The established connection behind this state: after the handshake, including while
    /// post-handshake authentication waits for the client (tickets can still be issued then).
    pub(crate) fn established(&self) -> Option<&Established> {
        match self {
            State::Established(e) => Some(e),
            State::ExpectPhaCertificate(s) => Some(&s.est),
            State::ExpectPhaCertificateVerify(s) => Some(&s.est),
            State::ExpectPhaFinished(s) => Some(&s.est),
            _ => None,
        }
    }

    /// Whether a `change_cipher_spec` record may arrive now (after the first ClientHello and
    /// before the client's Finished).
    pub(crate) fn ccs_allowed(&self) -> bool {
        matches!(
            self,
            State::ExpectSecondClientHello(_)
                | State::ExpectClientCertificate(_)
                | State::ExpectClientCertificateVerify(_)
                | State::ExpectEndOfEarlyData(_)
                | State::ExpectFinished(_)
        )
    }

    /// Whether the server's flight (or HelloRetryRequest) is out and the client's answer has
    /// not started: OpenSSL's `TLS_ST_EARLY_DATA`, where the client's early data arrives.
    pub(crate) fn awaits_client_flight(&self) -> bool {
        matches!(
            self,
            State::ExpectSecondClientHello(_)
                | State::ExpectClientCertificate(_)
                | State::ExpectEndOfEarlyData(_)
                | State::ExpectFinished(_)
        )
    }

    /// After the handshake, with no post-handshake exchange under way but a
    /// CertificateRequest's answer (OpenSSL's `TLS_ST_OK`).
    pub(crate) fn between_exchanges(&self) -> bool {
        matches!(self, State::Established(_) | State::ExpectPhaCertificate(_))
    }

    /// Whether accepted early data is being received (application data may arrive before the
    /// handshake ends).
    pub(crate) fn reads_early_data(&self) -> bool {
        matches!(self, State::ExpectEndOfEarlyData(_))
    }
}

/// RFC 8446 D.5: a ClientHello whose legacy_version is 0x0300 or less MUST be refused with
/// `protocol_version`, whatever supported_versions says. OpenSSL 3.0 answers 0x0300 itself
/// (SSL 3.0) with `handshake_failure` (measured with `openssl s_server`), and so does this server.
fn check_legacy_version(ch: &ClientHello) -> Result<(), Error> {
    match ch.legacy_version {
        SSL3 => Err(Error::HandshakeFailure("SSL 3.0 ClientHello")),
        v if v < SSL3 => Err(Error::ProtocolVersion),
        _ => Ok(()),
    }
}

fn check_versions(ch: &ClientHello) -> Result<(), Error> {
    check_legacy_version(ch)?;
    match &ch.supported_versions {
        Some(v) if v.contains(&TLS13) => Ok(()),
        _ => Err(Error::ProtocolVersion),
    }
}

fn check_compression(ch: &ClientHello) -> Result<(), Error> {
    if ch.compression_methods != [0] {
        return Err(Error::IllegalParameter(
            "compression methods must be [null]",
        ));
    }
    Ok(())
}

/// Key shares: at most one per group, only for groups in supported_groups.
fn check_key_shares(ch: &ClientHello) -> Result<(), Error> {
    let (Some(shares), Some(groups)) = (&ch.key_shares, &ch.supported_groups) else {
        return Ok(());
    };
    for (i, (g, _)) in shares.iter().enumerate() {
        if shares[..i].iter().any(|(h, _)| h == g) {
            return Err(Error::IllegalParameter("two key shares for one group"));
        }
        if !groups.contains(g) {
            return Err(Error::IllegalParameter("key share for a group not offered"));
        }
    }
    Ok(())
}

fn message_hash(suite: &CipherSuite, ch1: &[u8]) -> Vec<u8> {
    let h = ring::digest::digest(suite.digest, ch1);
    msgs::handshake(hs::MESSAGE_HASH, h.as_ref())
}

/// Waiting for the first ClientHello.
pub(crate) struct ExpectClientHello;

impl ExpectClientHello {
    fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::CLIENT_HELLO {
            return Err(Error::UnexpectedMessage("expected ClientHello"));
        }
        let ch = ClientHello::decode(&msg[4..])?;
        check_versions(&ch)?;
        check_compression(&ch)?;
        if ch.early_data {
            // Rejected unless accepted below; it stays rejected through an HRR.
            core.info.early_data = EarlyDataStatus::Rejected;
        }
        if ch.cookie.is_some() {
            return Err(Error::IllegalParameter("cookie in initial ClientHello"));
        }
        if ch.psk.is_some() && ch.psk_modes.is_none() {
            return Err(Error::MissingExtension(
                "pre_shared_key without psk_key_exchange_modes",
            ));
        }
        if ch.supported_groups.is_some() != ch.key_shares.is_some() {
            return Err(Error::MissingExtension(
                "supported_groups and key_share go together",
            ));
        }
        if ch.psk.is_none() && ch.signature_algorithms.is_none() {
            return Err(Error::MissingExtension("signature_algorithms"));
        }
        if ch.supported_groups.is_none() && !psk::psk_ke_offered(core, &ch) {
            return Err(Error::MissingExtension("supported_groups"));
        }
        let suite = psk::choose_suite(core, &ch)
            .ok_or(Error::HandshakeFailure("no common cipher suite"))?;
        check_key_shares(&ch)?;
        // Looked at once per ClientHello (a lookup may use a ticket up); after an HRR the
        // second ClientHello's offer is looked at again, as OpenSSL does.
        let psk = psk::choose(core, &ch, suite)?;
        // Only psk_ke skips the key exchange (and an HRR).
        if psk.chosen.as_ref().is_some_and(|p| !p.dhe) {
            return complete_client_hello(core, &ch, msg, suite, None, None, psk);
        }
        if ch.supported_groups.is_none() {
            return Err(Error::MissingExtension("supported_groups"));
        }
        let offered_groups = ch.supported_groups.as_deref().unwrap_or_default();
        let shares = ch.key_shares.as_deref().unwrap_or_default();
        // A group the client already sent a share for, else the first mutually supported one.
        let with_share = core
            .config
            .groups
            .iter()
            .copied()
            .find(|g| shares.iter().any(|(id, _)| *id == g.id()));
        if let Some(group) = with_share {
            return complete_client_hello(core, &ch, msg, suite, Some(group), None, psk);
        }
        let group = core
            .config
            .groups
            .iter()
            .copied()
            .find(|g| offered_groups.contains(&g.id()))
            .ok_or(Error::HandshakeFailure("no common group"))?;
        if !core.hs_buf.is_empty() {
            return Err(Error::UnexpectedMessage("data after ClientHello"));
        }
        // HelloRetryRequest (RFC 8446 4.1.4).
        let cookie: [u8; 32] = core.rng.array();
        let hrr = ServerHello {
            random: HRR_RANDOM,
            session_id: &ch.session_id,
            suite: suite.id,
            key_share: Some((group.id(), &[])),
            psk_index: None,
            cookie: Some(&cookie),
        }
        .encode();
        let mut transcript = Transcript::new(suite);
        transcript.add(&message_hash(suite, msg));
        transcript.add(&hrr);
        core.send_handshake(&hrr)?;
        if !ch.session_id.is_empty() {
            core.send_ccs();
        }
        core.info.hrr = true;
        core.server_flights += 1;
        core.skip_plain_app_data = ch.early_data;
        if ch.early_data {
            core.early_data_skip_budget = MAX_EARLY_DATA_SKIP;
        }
        Ok(State::ExpectSecondClientHello(Box::new(
            ExpectSecondClientHello {
                suite,
                group,
                session_id: ch.session_id,
                cookie: cookie.to_vec(),
                transcript,
            },
        )))
    }
}

/// HelloRetryRequest sent; waiting for the updated ClientHello.
pub(crate) struct ExpectSecondClientHello {
    suite: &'static CipherSuite,
    group: NamedGroup,
    session_id: Vec<u8>,
    cookie: Vec<u8>,
    transcript: Transcript,
}

impl ExpectSecondClientHello {
    fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::CLIENT_HELLO {
            return Err(Error::UnexpectedMessage("expected second ClientHello"));
        }
        core.skip_plain_app_data = false;
        let ch = ClientHello::decode(&msg[4..])?;
        check_versions(&ch)?;
        check_compression(&ch)?;
        if !ch.cipher_suites.contains(&self.suite.id) {
            return Err(Error::IllegalParameter(
                "selected suite withdrawn after HRR",
            ));
        }
        if ch.session_id != self.session_id {
            return Err(Error::IllegalParameter("session id changed after HRR"));
        }
        match &ch.cookie {
            None => return Err(Error::MissingExtension("cookie not echoed")),
            Some(c) if *c != self.cookie => return Err(Error::IllegalParameter("wrong cookie")),
            Some(_) => {}
        }
        if ch.early_data {
            return Err(Error::IllegalParameter("early_data after HRR"));
        }
        if ch.psk.is_some() && ch.psk_modes.is_none() {
            return Err(Error::MissingExtension(
                "pre_shared_key without psk_key_exchange_modes",
            ));
        }
        match &ch.supported_groups {
            Some(g) if g.contains(&self.group.id()) => {}
            Some(_) => return Err(Error::IllegalParameter("HRR group withdrawn")),
            None => return Err(Error::MissingExtension("supported_groups")),
        }
        match ch.key_shares.as_deref() {
            Some([(g, _)]) if *g == self.group.id() => {}
            Some(_) => return Err(Error::IllegalParameter("wrong key share after HRR")),
            None => return Err(Error::MissingExtension("key_share")),
        }
        if ch.psk.is_none() && ch.signature_algorithms.is_none() {
            return Err(Error::MissingExtension("signature_algorithms"));
        }
        let psk = psk::choose(core, &ch, self.suite)?;
        complete_client_hello(
            core,
            &ch,
            msg,
            self.suite,
            Some(self.group),
            Some(self.transcript),
            psk,
        )
    }
}

/// The client's share for the chosen group, checked for form.
fn client_share(ch: &ClientHello, group: NamedGroup) -> Result<&[u8], Error> {
    let share = ch
        .key_shares
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|(g, _)| *g == group.id())
        .map(|(_, k)| k.as_slice())
        .ok_or(Error::Internal("selected group has no share"))?;
    match kex::share_well_formed(group, share) {
        true => Ok(share),
        false => Err(Error::IllegalParameter("malformed key share")),
    }
}

/// The certificate (its index in the config) and scheme for a full handshake with this client.
fn choose_certificate(core: &Core, ch: &ClientHello) -> Result<(usize, u16), Error> {
    let sig_algs = ch
        .signature_algorithms
        .as_deref()
        .ok_or(Error::MissingExtension("signature_algorithms"))?;
    let wanted = certs::Wanted {
        sig_algs,
        sig_algs_cert: ch.signature_algorithms_cert.as_deref(),
        authorities: ch.certificate_authorities.as_deref(),
    };
    certs::choose(&core.config.certs, &wanted).ok_or(Error::HandshakeFailure(
        "no certificate for the client's signature algorithms",
    ))
}

/// The rest of a ClientHello that needs no retry: ServerHello and the server's first flight.
fn complete_client_hello(
    core: &mut Core,
    ch: &ClientHello,
    msg: &[u8],
    suite: &'static CipherSuite,
    group: Option<NamedGroup>,
    transcript: Option<Transcript>,
    choice: psk::PskChoice,
) -> Result<State, Error> {
    let hrr_sent = transcript.is_some();
    let mut transcript = transcript.unwrap_or_else(|| Transcript::new(suite));
    core.tickets.expected = choice.tickets_expected;
    let psk = choice.chosen;
    // With psk_ke the client's key shares are not looked at (nor is a group chosen).
    let group = match &psk {
        Some(p) if !p.dhe => None,
        _ => Some(group.ok_or(Error::Internal("no group and no psk_ke"))?),
    };
    let client_share = match group {
        Some(group) => Some(client_share(ch, group)?),
        None => None,
    };
    // Resumption: first acceptable PSK, then its binder.
    if let Some(offer) = &ch.psk {
        if offer.identities.len() != offer.binders.len() {
            return Err(Error::IllegalParameter(
                "PSK identities and binders differ in number",
            ));
        }
    }
    let schedule = Schedule::new(suite, psk.as_ref().map(|p| p.key.as_slice()));
    if let (Some(p), Some(offer)) = (&psk, &ch.psk) {
        let truncated = &msg[..4 + offer.binders_offset];
        let hash = transcript.hash_with(truncated);
        if !schedule
            .binder_key(p.external.is_some())
            .verify_finished(&hash, &offer.binders[p.index])
        {
            return Err(Error::DecryptError("PSK binder does not verify"));
        }
    }
    let resumed = psk.is_some();
    if let Some(p) = &psk {
        if let Some(cert) = &p.peer_cert {
            // The resumed session keeps the client identity it was issued with.
            core.info.peer_certificates = vec![cert.clone()];
        }
        core.info.external_psk = p.external.clone();
        core.session_id = p.session_id;
        core.info.psk_ke = !p.dhe;
        core.session_suite = p.session.and_then(|(id, _)| CipherSuite::by_id(id));
    }
    let early = early_data::accepts(&early_data::Offer {
        offered: ch.early_data,
        accepting: core.early == EarlyState::Accepting,
        max_early_data: core.settings.max_early_data,
        ticket_ok: psk.as_ref().is_some_and(|p| p.early_ok),
        hrr: hrr_sent,
    });
    let certified = match resumed {
        true => None,
        false => Some(choose_certificate(core, ch)?),
    };
    transcript.add(msg);
    // client_early_traffic_secret (RFC 8446 7.1), under the session's cipher.
    let early_cipher = early.then(|| {
        let secret = schedule
            .early
            .derive(b"c e traffic", &transcript.hash())
            .for_suite(core.session_suite.unwrap_or(suite));
        RecordCipher::new(secret)
    });

    let share = match (group, client_share) {
        (Some(group), Some(client_share)) => Some(kex::respond(group, client_share)?),
        _ => None,
    };

    if !core.hs_buf.is_empty() {
        return Err(Error::UnexpectedMessage("data after ClientHello"));
    }
    let random: [u8; 32] = core.rng.array();
    let sh = ServerHello {
        random,
        session_id: &ch.session_id,
        suite: suite.id,
        key_share: group
            .zip(share.as_ref())
            .map(|(g, s)| (g.id(), s.public.as_slice())),
        psk_index: psk.as_ref().map(|p| p.index as u16),
        cookie: None,
    }
    .encode();
    transcript.add(&sh);
    core.send_handshake(&sh)?;
    if !ch.session_id.is_empty() && !hrr_sent {
        core.send_ccs();
    }

    // RFC 8446 7.1: without (EC)DHE its input is a string of zeros.
    let no_dhe = vec![0u8; suite.hash_len()];
    let secrets = schedule.input_ecdhe(share.as_ref().map_or(&no_dhe, |s| &s.shared));
    let hash = transcript.hash();
    let c_hs = secrets.handshake.derive(b"c hs traffic", &hash);
    let s_hs = secrets.handshake.derive(b"s hs traffic", &hash);
    core.write_cipher = Some(RecordCipher::new(s_hs.clone()));
    match early_cipher {
        Some(cipher) => {
            // The client's handshake key replaces it at EndOfEarlyData.
            core.set_read_cipher(cipher)?;
            core.info.early_data = EarlyDataStatus::Accepted;
            core.early_limit =
                early_data::limit(psk.as_ref().and_then(|p| p.session).map_or(0, |s| s.1));
        }
        None => {
            core.set_read_cipher(RecordCipher::new(c_hs.clone()))?;
            if ch.early_data {
                // Rejected: skip records that do not decrypt (RFC 8446 4.2.10).
                core.early_data_skip_budget = MAX_EARLY_DATA_SKIP;
            }
        }
    }

    if core.early_auto {
        core.early = match early {
            true => EarlyState::Reading,
            false => EarlyState::FinishedReading,
        };
    }

    let mut flight = msgs::encrypted_extensions(early);
    transcript.add(&flight);
    // RFC 8446 4.3.2: never with a PSK.
    let ask_client = certified.is_some() && core.config.request_client_cert;
    if ask_client {
        let cr = super::pha::certificate_request(core, &[]);
        transcript.add(&cr);
        flight.extend_from_slice(&cr);
    }
    if let Some((index, scheme)) = certified {
        core.info.certificate = Some(index);
        core.info.signature_scheme = Some(scheme);
        let certified = &core.config.certs[index];
        let cert = msgs::certificate(&[], &certified.chain);
        transcript.add(&cert);
        let content = msgs::signed_content(true, &transcript.hash());
        let sig = certified.sign(scheme, &content)?;
        let cv = msgs::certificate_verify(scheme, &sig);
        transcript.add(&cv);
        flight.extend_from_slice(&cert);
        flight.extend_from_slice(&cv);
    }
    let fin = msgs::finished(&s_hs.finished_mac(&transcript.hash()));
    transcript.add(&fin);
    flight.extend_from_slice(&fin);
    core.send_handshake(&flight)?;
    core.server_flights += 1;

    let hash = transcript.hash();
    let c_ap = secrets.master.derive(b"c ap traffic", &hash);
    let s_ap = secrets.master.derive(b"s ap traffic", &hash);
    core.write_cipher = Some(RecordCipher::new(s_ap));
    core.info.suite = Some(suite);
    core.info.group = group;
    core.info.resumed = resumed;
    core.info.client_offered_pha = ch.post_handshake_auth;
    core.info.server_name = ch.server_name.clone();
    let finished = Box::new(ExpectFinished {
        master: secrets.master,
        c_hs,
        c_ap,
        transcript,
        resumed,
    });
    Ok(match (ask_client, early) {
        (true, _) => State::ExpectClientCertificate(Box::new(ExpectClientCertificate { finished })),
        (false, true) => State::ExpectEndOfEarlyData(Box::new(ExpectEndOfEarlyData { finished })),
        (false, false) => State::ExpectFinished(finished),
    })
}

/// Early data accepted; reading it until the client's EndOfEarlyData.
pub(crate) struct ExpectEndOfEarlyData {
    finished: Box<ExpectFinished>,
}

impl ExpectEndOfEarlyData {
    fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::END_OF_EARLY_DATA {
            return Err(Error::UnexpectedMessage("expected EndOfEarlyData"));
        }
        // OpenSSL takes it only from a read of early data (`SSL_read_early_data`, or `SSL_read`
        // between two of them), not from `SSL_do_handshake` alone.
        if !matches!(core.early, EarlyState::Reading | EarlyState::ReadRetry) {
            return Err(Error::Internal(
                "EndOfEarlyData outside a read of early data",
            ));
        }
        let mut finished = self.finished;
        finished.transcript.add(msg);
        core.early = EarlyState::FinishedReading;
        // A key change: at a record boundary (checked by `set_read_cipher`).
        core.set_read_cipher(RecordCipher::new(finished.c_hs.clone()))?;
        Ok(State::ExpectFinished(finished))
    }
}

/// CertificateRequest sent in the server's flight; waiting for the client's Certificate.
pub(crate) struct ExpectClientCertificate {
    finished: Box<ExpectFinished>,
}

impl ExpectClientCertificate {
    fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::CERTIFICATE {
            return Err(Error::UnexpectedMessage("expected client Certificate"));
        }
        let chain = super::pha::accept_certificate(core, msg, &[])?;
        let mut finished = self.finished;
        finished.transcript.add(msg);
        if chain.is_empty() {
            return Ok(State::ExpectFinished(finished));
        }
        Ok(State::ExpectClientCertificateVerify(Box::new(
            ExpectClientCertificateVerify { finished, chain },
        )))
    }
}

/// The client's certificate received in the handshake; waiting for its CertificateVerify.
pub(crate) struct ExpectClientCertificateVerify {
    finished: Box<ExpectFinished>,
    chain: Vec<Vec<u8>>,
}

impl ExpectClientCertificateVerify {
    fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::CERTIFICATE_VERIFY {
            return Err(Error::UnexpectedMessage(
                "expected client CertificateVerify",
            ));
        }
        let mut finished = self.finished;
        super::pha::check_certificate_verify(&self.chain, &finished.transcript, msg)?;
        finished.transcript.add(msg);
        // Known once the Finished verifies; the tickets it brings carry the identity.
        core.info.peer_certificates = self.chain;
        Ok(State::ExpectFinished(finished))
    }
}

/// Checks a client Finished message (handshake or post-handshake) against `base`, the client's
/// traffic secret it is keyed from, and the transcript hash before it.
fn check_client_finished(base: &Secret, transcript: &Transcript, msg: &[u8]) -> Result<(), Error> {
    let body = &msg[4..];
    if body.len() != base.suite().hash_len() {
        return Err(Error::Decode("Finished has the wrong length"));
    }
    if !base.verify_finished(&transcript.hash(), body) {
        return Err(Error::DecryptError("client Finished does not verify"));
    }
    Ok(())
}

/// Server flight sent; waiting for the client's Finished.
pub(crate) struct ExpectFinished {
    master: Secret,
    c_hs: Secret,
    c_ap: Secret,
    transcript: Transcript,
    resumed: bool,
}

impl ExpectFinished {
    fn handle(mut self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::FINISHED {
            return Err(Error::UnexpectedMessage("expected Finished"));
        }
        check_client_finished(&self.c_hs, &self.transcript, msg)?;
        self.transcript.add(msg);
        let res_master = self.master.derive(b"res master", &self.transcript.hash());
        core.set_read_cipher(RecordCipher::new(self.c_ap))?;
        core.info.handshake_finished = true;
        core.early_data_skip_budget = 0;
        let est = Established {
            res_master,
            transcript: self.transcript,
            resumed: self.resumed,
        };
        // End-of-handshake tickets: N re-read before each one (see `tickets.rs`).
        core.tickets.start_after_handshake();
        est.auto_issue_tickets(core)?;
        Ok(State::Established(Box::new(est)))
    }
}

/// Handshake complete: application data, KeyUpdate, tickets, post-handshake auth.
pub(crate) struct Established {
    res_master: Secret,
    /// All handshake messages through the client's Finished (the context for PHA).
    transcript: Transcript,
    pub(crate) resumed: bool,
}

impl Established {
    fn handle(self, _core: &mut Core, typ: u8, _body: &[u8]) -> Result<State, Error> {
        // KeyUpdate is handled by the connection before states see a message.
        Err(match typ {
            hs::CERTIFICATE | hs::CERTIFICATE_VERIFY | hs::FINISHED => {
                Error::UnexpectedMessage("client auth message without CertificateRequest")
            }
            _ => Error::UnexpectedMessage("unexpected post-handshake message"),
        })
    }

    /// Writes every ticket now due, unless the caller issues them one at a time.
    fn auto_issue_tickets(&self, core: &mut Core) -> Result<(), Error> {
        if core.manual_tickets {
            return Ok(());
        }
        while core.tickets.wants_ticket(self.resumed) {
            self.issue_ticket(core)?;
        }
        Ok(())
    }

    /// Writes one NewSessionTicket now.
    pub(crate) fn issue_ticket(&self, core: &mut Core) -> Result<(), Error> {
        core.write_ticket(&self.res_master)
    }

    /// Sends a CertificateRequest and waits for the client's answer.
    pub(crate) fn request_client_auth(self: Box<Self>, core: &mut Core) -> Result<State, Error> {
        let context: [u8; PHA_CONTEXT_LEN] = core.rng.array();
        let cr = super::pha::certificate_request(core, &context);
        let mut transcript = self.transcript.clone();
        transcript.add(&cr);
        core.send_handshake(&cr)?;
        Ok(State::ExpectPhaCertificate(Box::new(
            ExpectPhaCertificate {
                est: self,
                context: context.to_vec(),
                transcript,
            },
        )))
    }
}

/// CertificateRequest sent after the handshake; waiting for the client's Certificate.
pub(crate) struct ExpectPhaCertificate {
    est: Box<Established>,
    context: Vec<u8>,
    transcript: Transcript,
}

impl ExpectPhaCertificate {
    fn handle(mut self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::CERTIFICATE {
            return Err(Error::UnexpectedMessage("expected client Certificate"));
        }
        let chain = super::pha::accept_certificate(core, msg, &self.context)?;
        self.transcript.add(msg);
        if chain.is_empty() {
            return Ok(State::ExpectPhaFinished(Box::new(ExpectPhaFinished {
                est: self.est,
                transcript: self.transcript,
                chain,
            })));
        }
        Ok(State::ExpectPhaCertificateVerify(Box::new(
            ExpectPhaCertificateVerify {
                est: self.est,
                transcript: self.transcript,
                chain,
            },
        )))
    }
}

/// Client certificate received; waiting for its CertificateVerify.
pub(crate) struct ExpectPhaCertificateVerify {
    est: Box<Established>,
    transcript: Transcript,
    chain: Vec<Vec<u8>>,
}

impl ExpectPhaCertificateVerify {
    fn handle(mut self, _core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::CERTIFICATE_VERIFY {
            return Err(Error::UnexpectedMessage(
                "expected client CertificateVerify",
            ));
        }
        super::pha::check_certificate_verify(&self.chain, &self.transcript, msg)?;
        self.transcript.add(msg);
        Ok(State::ExpectPhaFinished(Box::new(ExpectPhaFinished {
            est: self.est,
            transcript: self.transcript,
            chain: self.chain,
        })))
    }
}

/// Waiting for the client's Finished that closes post-handshake auth.
pub(crate) struct ExpectPhaFinished {
    est: Box<Established>,
    transcript: Transcript,
    chain: Vec<Vec<u8>>,
}

impl ExpectPhaFinished {
    fn handle(self, core: &mut Core, typ: u8, msg: &[u8]) -> Result<State, Error> {
        if typ != hs::FINISHED {
            return Err(Error::UnexpectedMessage("expected client Finished"));
        }
        let base = core.read_secret().ok_or(Error::Internal("no read key"))?;
        check_client_finished(base, &self.transcript, msg)?;
        core.info.peer_certificates = self.chain;
        core.info.client_auth_completed += 1;
        // Like OpenSSL: the sent count restarts, then N (or min(N, 1)) tickets go out.
        core.tickets.reset_sent();
        core.tickets.start_after_finished();
        self.est.auto_issue_tickets(core)?;
        Ok(State::Established(self.est))
    }
}
