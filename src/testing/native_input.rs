//! Structure-aware input for the native server's fuzz targets: a ClientHello (and the one after
//! an HRR) and the client's later flight described by `arbitrary` values, encoded by the native
//! codec with real key shares and PSK binders, with byte-level damage on top. Bit masks pick
//! from the values that matter (suites, groups, schemes, modes) so that most inputs are valid
//! enough to reach key exchange, binders, HRR and client certificates; `extra` extensions and
//! [`Damage`] reach the rest. [`super::scripted_client`] plays a [`Scenario`].

use super::client_hello::{ext_key_share, ext_u16_list, ext_versions, Ext};
use crate::native::codec::with_len;
use crate::native::msgs::ext;
use crate::native::KeyKind;
use arbitrary::Arbitrary;
use libcrux_ml_kem::mlkem768;
use ring::agreement;

/// One run: which server, what the client sends, what is damaged.
#[derive(Arbitrary, Debug, Clone)]
pub struct Scenario {
    /// Which fuzzed server configuration ([`super::native_fuzz`]'s `CONFIG_WEIGHTS`).
    pub config: u8,
    pub first: Hello,
    /// The ClientHello sent if the server asks for a retry.
    pub retry: Hello,
    pub client_cert: ClientCert,
    /// [`FinishedKind::from_byte`].
    pub finished: u8,
    /// Records after the client's Finished: (inner content type, payload).
    pub after: Vec<(u8, Vec<u8>)>,
    pub damage: Option<Damage>,
    /// Bytes per `read_tls` call, in units of 64 (0: everything at once).
    pub chunk: u8,
    /// 0-RTT: sent when the first ClientHello offers early_data with a PSK.
    pub early: Option<EarlyFlight>,
}

/// Early data as a client resuming a session that allows it sends it: records under its
/// client_early_traffic_secret right behind the ClientHello, then, once the server's
/// EncryptedExtensions accepted it, EndOfEarlyData under the same key before its own flight.
#[derive(Arbitrary, Debug, Clone)]
pub struct EarlyFlight {
    /// (inner content type, payload), at most 2^14 bytes each (more is cut).
    pub records: Vec<(u8, Vec<u8>)>,
    /// [`EndKind::from_byte`].
    pub end: u8,
}

/// How the client ends its early data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// EndOfEarlyData under the early key, when the server accepted (none when it rejected).
    Good,
    /// No EndOfEarlyData although accepted.
    Missing,
    /// EndOfEarlyData under the client's handshake key instead of the early key.
    WrongKey,
    /// EndOfEarlyData under the early key even though the server rejected the early data.
    Unasked,
}

impl EndKind {
    /// One in four ends is wrong.
    pub fn from_byte(b: u8) -> EndKind {
        match b % 12 {
            0 => EndKind::Missing,
            1 => EndKind::WrongKey,
            2 => EndKind::Unasked,
            _ => EndKind::Good,
        }
    }
}

/// A ClientHello, mostly as bit masks over the values the server knows; an empty mask means
/// all of them, so that a random input is a plausible ClientHello, and at most one [`Quirk`]
/// makes it wrong on purpose.
#[derive(Arbitrary, Debug, Clone)]
pub struct Hello {
    /// Bits 0-2: [`SUITES`].
    pub suites: u8,
    /// With bit 6 set, bits 0-3 pick [`GROUPS`] for supported_groups (else all); bits 4-5 rotate
    /// their order.
    pub groups: u8,
    /// Bits 0-3: key shares for [`GROUPS`] (none: an HRR, where a group is shared).
    pub shares: u8,
    /// With bit 15 set, bits over [`SCHEMES`] (else all of them).
    pub sig_algs: u16,
    pub sig_algs_cert: Option<u16>,
    pub psk: Option<PskSpec>,
    /// Bit 0: a 32-byte session id; 1: early_data; 2: post_handshake_auth; 3: server_name;
    /// 4: certificate_authorities naming the test CA.
    pub flags: u8,
    /// [`Quirk::from_byte`].
    pub quirk: u8,
    /// Extensions added before pre_shared_key with [`Quirk::ExtraExtensions`].
    pub extra: Vec<(u16, Vec<u8>)>,
}

/// One thing wrong with a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quirk {
    None,
    NoSupportedVersions,
    LegacyVersion,
    NoSupportedGroups,
    NoKeyShare,
    ShortShare,
    UnknownShare,
    UnknownSuiteFirst,
    UnknownGroupFirst,
    NoCookie,
    NoSignatureAlgorithms,
    NoKnownSuite,
    ExtraExtensions,
    BadBinder,
    ExpiredTicket,
    NoPskModes,
}

impl Quirk {
    const ALL: [Quirk; 15] = [
        Quirk::NoSupportedVersions,
        Quirk::LegacyVersion,
        Quirk::NoSupportedGroups,
        Quirk::NoKeyShare,
        Quirk::ShortShare,
        Quirk::UnknownShare,
        Quirk::UnknownSuiteFirst,
        Quirk::UnknownGroupFirst,
        Quirk::NoCookie,
        Quirk::NoSignatureAlgorithms,
        Quirk::NoKnownSuite,
        Quirk::ExtraExtensions,
        Quirk::BadBinder,
        Quirk::ExpiredTicket,
        Quirk::NoPskModes,
    ];

    /// One in four ClientHellos has a quirk.
    pub fn from_byte(b: u8) -> Quirk {
        Quirk::ALL
            .get(usize::from(b) % (4 * Quirk::ALL.len()))
            .copied()
            .unwrap_or(Quirk::None)
    }
}

impl Hello {
    pub fn quirk(&self) -> Quirk {
        Quirk::from_byte(self.quirk)
    }
}

/// A pre_shared_key offer.
#[derive(Arbitrary, Debug, Clone)]
pub struct PskSpec {
    pub kind: PskKind,
    /// Bit 0: psk_ke; bit 1: psk_dhe_ke; bit 2: an unknown mode; neither of bits 0-1:
    /// psk_dhe_ke.
    pub modes: u8,
    /// Unknown identities offered before it (0-3).
    pub before: u8,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum PskKind {
    /// A ticket sealed with the fuzzed servers' ticket key: its suite (index into [`SUITES`])
    /// and its age skew in ms.
    Ticket {
        suite: u8,
        skew_ms: i16,
    },
    /// The fuzzed servers' external PSK ([`EXTERNAL_PSK_IDENTITY`]).
    External,
    Unknown(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ClientCert {
    None,
    Empty,
    /// The test PKI's client identity of this kind (index into [`KeyKind::ALL`]).
    Chain(u8),
    /// As `Chain`, with a CertificateVerify that does not verify.
    BadSignature(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishedKind {
    Good,
    Bad,
    Missing,
}

impl FinishedKind {
    /// One in eight Finished messages is wrong or missing.
    pub fn from_byte(b: u8) -> FinishedKind {
        match b % 16 {
            0 => FinishedKind::Bad,
            1 => FinishedKind::Missing,
            _ => FinishedKind::Good,
        }
    }
}

/// Where the damage goes: flight 0 is the first ClientHello, 1 the second, 2 the client's
/// handshake flight (before encryption); 3 the first ClientHello's record bytes; 4-7 none.
#[derive(Arbitrary, Debug, Clone)]
pub struct Damage {
    pub flight: u8,
    pub pos: u16,
    pub op: DamageOp,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum DamageOp {
    Flip(u8),
    Set(u8),
    Truncate,
    Insert(Vec<u8>),
    Remove(u8),
}

impl Damage {
    /// Applies the damage to `bytes` if it is meant for `flight`.
    pub fn apply(&self, flight: u8, bytes: &mut Vec<u8>) {
        if self.flight % 8 != flight || bytes.is_empty() {
            return;
        }
        let pos = usize::from(self.pos) % bytes.len();
        match &self.op {
            DamageOp::Flip(x) => bytes[pos] ^= x.max(&1),
            DamageOp::Set(x) => bytes[pos] = *x,
            DamageOp::Truncate => bytes.truncate(pos),
            DamageOp::Insert(b) => {
                bytes.splice(pos..pos, b.iter().copied());
            }
            DamageOp::Remove(n) => {
                let end = (pos + usize::from(*n).max(1)).min(bytes.len());
                bytes.drain(pos..end);
            }
        }
    }
}

pub const SUITES: [u16; 3] = [0x1301, 0x1302, 0x1303];
pub const GROUPS: [u16; 4] = [0x001d, 0x0017, 0x0018, 0x11ec];
pub const SCHEMES: [u16; 12] = [
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0809, 0x0401, 0x0201, 0x0203,
];
pub const EXTERNAL_PSK_IDENTITY: &[u8] = b"fuzz-psk";
pub const EXTERNAL_PSK_KEY: [u8; 32] = [9; 32];

fn pick<T: Copy>(mask: u32, values: &[T]) -> Vec<T> {
    (0..values.len())
        .filter(|i| mask >> i & 1 == 1)
        .map(|i| values[i])
        .collect()
}

/// [`pick`], or all of `values` when the mask picks none.
fn pick_or_all<T: Copy>(mask: u32, values: &[T]) -> Vec<T> {
    match pick(mask, values) {
        v if v.is_empty() => values.to_vec(),
        v => v,
    }
}

/// Where `picked`, [`pick_or_all`]; else all of `values`.
fn subset<T: Copy>(picked: bool, mask: u32, values: &[T]) -> Vec<T> {
    match picked {
        true => pick_or_all(mask, values),
        false => values.to_vec(),
    }
}

/// The client's private half of one key share.
pub enum ClientKey {
    Ecdh(agreement::EphemeralPrivateKey),
    Hybrid(
        Box<mlkem768::MlKem768KeyPair>,
        agreement::EphemeralPrivateKey,
    ),
}

/// ML-KEM-768 ciphertext length: the split point of the server's hybrid share.
const CIPHERTEXT_LEN: usize = 1088;

fn ecdh(alg: &'static agreement::Algorithm) -> (Vec<u8>, agreement::EphemeralPrivateKey) {
    let private = agreement::EphemeralPrivateKey::generate(alg, &ring::rand::SystemRandom::new())
        .expect("key generation");
    let public = private.compute_public_key().expect("public key");
    (public.as_ref().to_vec(), private)
}

impl ClientKey {
    /// A fresh share for one of [`GROUPS`]: (public, private).
    pub fn generate(group: u16) -> Option<(Vec<u8>, ClientKey)> {
        let alg = match group {
            0x001d => &agreement::X25519,
            0x0017 => &agreement::ECDH_P256,
            0x0018 => &agreement::ECDH_P384,
            0x11ec => {
                let kem = mlkem768::generate_key_pair([group as u8; 64]);
                let (x, private) = ecdh(&agreement::X25519);
                let mut public = kem.public_key().as_slice().to_vec();
                public.extend_from_slice(&x);
                return Some((public, ClientKey::Hybrid(Box::new(kem), private)));
            }
            _ => return None,
        };
        let (public, private) = ecdh(alg);
        Some((public, ClientKey::Ecdh(private)))
    }

    /// The shared secret with the server's share, if it is well formed.
    pub fn agree(self, server: &[u8]) -> Option<Vec<u8>> {
        let x25519 = |private, public: &[u8]| {
            agreement::agree_ephemeral(
                private,
                &agreement::UnparsedPublicKey::new(&agreement::X25519, public),
                |s| s.to_vec(),
            )
            .ok()
        };
        match self {
            ClientKey::Ecdh(private) => {
                let alg = private.algorithm();
                agreement::agree_ephemeral(
                    private,
                    &agreement::UnparsedPublicKey::new(alg, server),
                    |s| s.to_vec(),
                )
                .ok()
            }
            ClientKey::Hybrid(kem, private) => {
                if server.len() != CIPHERTEXT_LEN + 32 {
                    return None;
                }
                let (ct, x) = server.split_at(CIPHERTEXT_LEN);
                let ct = mlkem768::MlKem768Ciphertext::try_from(ct).ok()?;
                let mut secret = mlkem768::decapsulate(kem.private_key(), &ct)
                    .as_slice()
                    .to_vec();
                secret.extend_from_slice(&x25519(private, x)?);
                Some(secret)
            }
        }
    }
}

/// The ClientHello's extensions but pre_shared_key, and the private keys of its shares.
/// `forced_share`: the group an HRR asked for, which then gets a share whatever the mask says.
pub fn extensions(
    h: &Hello,
    forced_share: Option<u16>,
    cookie: Option<&[u8]>,
    ca_name: &[u8],
) -> (Vec<Ext>, Vec<(u16, ClientKey)>) {
    let quirk = h.quirk();
    let mut exts = Vec::new();
    if quirk != Quirk::NoSupportedVersions {
        exts.push(ext_versions(&[0x0304]));
    }
    let mut groups = subset(h.groups & 64 != 0, u32::from(h.groups & 15), &GROUPS);
    let n = usize::from(h.groups >> 4 & 3) % groups.len();
    groups.rotate_left(n);
    if quirk == Quirk::UnknownGroupFirst {
        groups.insert(0, 0x001e);
    }
    if let Some(g) = forced_share.filter(|g| !groups.contains(g)) {
        groups.push(g);
    }
    if quirk != Quirk::NoSupportedGroups {
        exts.push(ext_u16_list(ext::SUPPORTED_GROUPS, &groups));
    }
    if quirk != Quirk::NoSignatureAlgorithms {
        let schemes = subset(h.sig_algs & 0x8000 != 0, u32::from(h.sig_algs), &SCHEMES);
        exts.push(ext_u16_list(ext::SIGNATURE_ALGORITHMS, &schemes));
    }
    if let Some(mask) = h.sig_algs_cert {
        let schemes = subset(mask & 0x8000 != 0, u32::from(mask), &SCHEMES);
        exts.push(ext_u16_list(ext::SIGNATURE_ALGORITHMS_CERT, &schemes));
    }
    let mut keys = Vec::new();
    if quirk != Quirk::NoKeyShare {
        let share_groups: Vec<u16> = match forced_share {
            Some(g) => vec![g],
            None => pick(u32::from(h.shares & 15), &GROUPS)
                .into_iter()
                .filter(|g| groups.contains(g))
                .collect(),
        };
        let mut shares: Vec<(u16, Vec<u8>)> = Vec::new();
        for g in share_groups {
            if let Some((public, key)) = ClientKey::generate(g) {
                shares.push((g, public));
                keys.push((g, key));
            }
        }
        if quirk == Quirk::ShortShare {
            if let Some((_, public)) = shares.first_mut() {
                public.pop();
            }
        }
        if quirk == Quirk::UnknownShare {
            shares.push((0x001e, vec![1; 56]));
        }
        let refs: Vec<(u16, &[u8])> = shares.iter().map(|(g, k)| (*g, k.as_slice())).collect();
        exts.push(ext_key_share(&refs));
    }
    if let Some(psk) = h.psk.as_ref().filter(|_| quirk != Quirk::NoPskModes) {
        let mut modes = pick(u32::from(psk.modes & 7), &[0u8, 1, 0x7f]);
        if psk.modes & 3 == 0 {
            modes.push(1);
        }
        let mut b = Vec::new();
        with_len(&mut b, 1, |o| o.extend_from_slice(&modes));
        exts.push((ext::PSK_KEY_EXCHANGE_MODES, b));
    }
    if h.flags & 2 != 0 {
        exts.push((ext::EARLY_DATA, Vec::new()));
    }
    if h.flags & 4 != 0 {
        exts.push((ext::POST_HANDSHAKE_AUTH, Vec::new()));
    }
    if h.flags & 8 != 0 {
        let mut b = Vec::new();
        with_len(&mut b, 2, |o| {
            o.push(0);
            with_len(o, 2, |o| o.extend_from_slice(b"localhost"));
        });
        exts.push((ext::SERVER_NAME, b));
    }
    if h.flags & 16 != 0 {
        let mut b = Vec::new();
        with_len(&mut b, 2, |o| {
            with_len(o, 2, |o| o.extend_from_slice(ca_name))
        });
        exts.push((ext::CERTIFICATE_AUTHORITIES, b));
    }
    if let Some(c) = cookie.filter(|_| quirk != Quirk::NoCookie) {
        let mut b = Vec::new();
        with_len(&mut b, 2, |o| o.extend_from_slice(c));
        exts.push((ext::COOKIE, b));
    }
    if quirk == Quirk::ExtraExtensions {
        exts.extend(h.extra.iter().take(8).cloned());
    }
    (exts, keys)
}

/// The cipher suites of a [`Hello`].
pub fn suites(h: &Hello) -> Vec<u16> {
    match h.quirk() {
        Quirk::NoKnownSuite => vec![0x00ff],
        Quirk::UnknownSuiteFirst => [0x00ff]
            .into_iter()
            .chain(pick_or_all(u32::from(h.suites & 7), &SUITES))
            .collect(),
        _ => pick_or_all(u32::from(h.suites & 7), &SUITES),
    }
}

/// The client identity a [`ClientCert`] names, and the scheme it signs with.
pub fn client_kind(index: u8) -> (KeyKind, u16) {
    let kind = KeyKind::ALL[usize::from(index) % KeyKind::ALL.len()];
    (kind, kind.schemes()[0])
}
