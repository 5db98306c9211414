//! The configuration a version 2 program can set: the server context ops' arguments and the
//! client's `connect` flags, each as a type with its exact text form.

use std::fmt;

/// A closed set of words, each with its one spelling in a program.
pub trait Word: Copy + Eq + 'static {
    /// Every value, in canonical order.
    const ALL: &'static [Self];
    /// What the list items are, for error messages.
    const WHAT: &'static str;
    /// Whether a list may name a word once only (OpenSSL refuses a group list that repeats
    /// one).
    const DISTINCT: bool = false;
    fn name(self) -> &'static str;

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|w| w.name() == s)
    }

    /// The spellings, for error messages.
    fn expected() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|w| w.name()).collect();
        names.join(", ")
    }
}

/// A TLS 1.3 cipher suite a program may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    Aes128GcmSha256,
    Aes256GcmSha384,
    Chacha20Poly1305Sha256,
}

impl Word for Suite {
    const ALL: &'static [Suite] = &[
        Suite::Aes128GcmSha256,
        Suite::Aes256GcmSha384,
        Suite::Chacha20Poly1305Sha256,
    ];
    const WHAT: &'static str = "cipher suite";

    fn name(self) -> &'static str {
        match self {
            Suite::Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            Suite::Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            Suite::Chacha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
        }
    }
}

/// A key-exchange group a program may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    X25519,
    P256,
}

impl Word for Group {
    const ALL: &'static [Group] = &[Group::X25519, Group::P256];
    const WHAT: &'static str = "group";
    const DISTINCT: bool = true;

    fn name(self) -> &'static str {
        match self {
            Group::X25519 => "X25519",
            Group::P256 => "P-256",
        }
    }
}

/// Most items in one colon-separated list (an addition to the format: a list repeats a name at
/// most a few times).
pub const MAX_LIST_ITEMS: usize = 8;

/// A non-empty colon-separated list of words, in the order written (order is preference). Kept
/// in a fixed array so that an [`Op`](super::Op) stays `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct List<W: Word> {
    items: [Option<W>; MAX_LIST_ITEMS],
}

/// A list of cipher suites (`ctx_set_ciphersuites`, `connect suites=`).
pub type SuiteList = List<Suite>;
/// A list of groups (`connect groups=`).
pub type GroupList = List<Group>;

impl<W: Word> List<W> {
    /// The list of these words; `None` if there are none or more than [`MAX_LIST_ITEMS`].
    pub fn new(words: &[W]) -> Option<List<W>> {
        if words.is_empty() || words.len() > MAX_LIST_ITEMS {
            return None;
        }
        let mut items = [None; MAX_LIST_ITEMS];
        for (slot, w) in items.iter_mut().zip(words) {
            *slot = Some(*w);
        }
        Some(List { items })
    }

    pub fn iter(&self) -> impl Iterator<Item = W> + '_ {
        self.items.iter().map_while(|w| *w)
    }

    pub fn first(&self) -> W {
        self.items[0].expect("a list is never empty")
    }

    pub fn contains(&self, w: W) -> bool {
        self.iter().any(|x| x == w)
    }

    /// Reads `A:B:C`.
    pub fn parse(text: &str) -> Result<List<W>, String> {
        let mut words = Vec::new();
        for part in text.split(':') {
            let Some(w) = W::from_name(part) else {
                return Err(format!(
                    "`{}` is not a {} (expected a colon-separated list of {})",
                    super::Escaped(part),
                    W::WHAT,
                    W::expected()
                ));
            };
            if W::DISTINCT && words.contains(&w) {
                return Err(format!(
                    "{} `{part}` given twice (a list of {}s names each once)",
                    W::WHAT,
                    W::WHAT
                ));
            }
            if words.len() == MAX_LIST_ITEMS {
                return Err(format!("a list has at most {MAX_LIST_ITEMS} {}s", W::WHAT));
            }
            words.push(w);
        }
        List::new(&words).ok_or_else(|| format!("an empty list of {}s", W::WHAT))
    }
}

impl<W: Word> fmt::Display for List<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            f.write_str(w.name())?;
        }
        Ok(())
    }
}

/// One `SSL_OP_*` option a program may set or clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SslOption {
    /// `SSL_OP_NO_TICKET`: stateful TLS 1.3 tickets from the session cache.
    NoTicket,
    /// `SSL_OP_NO_ANTI_REPLAY`.
    NoAntiReplay,
    /// `SSL_OP_ALLOW_NO_DHE_KEX`: psk_ke resumption allowed.
    AllowNoDheKex,
}

impl Word for SslOption {
    const ALL: &'static [SslOption] = &[
        SslOption::NoTicket,
        SslOption::NoAntiReplay,
        SslOption::AllowNoDheKex,
    ];
    const WHAT: &'static str = "option";

    fn name(self) -> &'static str {
        match self {
            SslOption::NoTicket => "no_ticket",
            SslOption::NoAntiReplay => "no_anti_replay",
            SslOption::AllowNoDheKex => "allow_no_dhe_kex",
        }
    }
}

/// A set of options, printed in canonical order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Options {
    pub no_ticket: bool,
    pub no_anti_replay: bool,
    pub allow_no_dhe_kex: bool,
}

impl Options {
    fn slot(&mut self, o: SslOption) -> &mut bool {
        match o {
            SslOption::NoTicket => &mut self.no_ticket,
            SslOption::NoAntiReplay => &mut self.no_anti_replay,
            SslOption::AllowNoDheKex => &mut self.allow_no_dhe_kex,
        }
    }

    pub fn has(&self, o: SslOption) -> bool {
        let mut copy = *self;
        *copy.slot(o)
    }

    pub fn with(mut self, o: SslOption) -> Options {
        *self.slot(o) = true;
        self
    }

    pub fn is_empty(&self) -> bool {
        *self == Options::default()
    }

    pub fn iter(&self) -> impl Iterator<Item = SslOption> + '_ {
        SslOption::ALL.iter().copied().filter(|o| self.has(*o))
    }

    /// These options set on `self`.
    pub fn union(self, other: Options) -> Options {
        other.iter().fold(self, Options::with)
    }

    /// These options cleared on `self`.
    pub fn minus(mut self, other: Options) -> Options {
        for o in other.iter() {
            *self.slot(o) = false;
        }
        self
    }
}

impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, o) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(o.name())?;
        }
        Ok(())
    }
}

/// `SSL_CTX_set_session_cache_mode`'s two modes a program may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheMode {
    /// `SSL_SESS_CACHE_OFF`.
    Off,
    /// `SSL_SESS_CACHE_SERVER`, the default.
    Server,
}

impl Word for CacheMode {
    const ALL: &'static [CacheMode] = &[CacheMode::Off, CacheMode::Server];
    const WHAT: &'static str = "session cache mode";

    fn name(self) -> &'static str {
        match self {
            CacheMode::Off => "off",
            CacheMode::Server => "server",
        }
    }
}

/// What the ticket generate callback returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketGen {
    /// Returns 1.
    Ok,
    /// Returns 0.
    Fail,
}

impl Word for TicketGen {
    const ALL: &'static [TicketGen] = &[TicketGen::Ok, TicketGen::Fail];
    const WHAT: &'static str = "generate callback result";

    fn name(self) -> &'static str {
        match self {
            TicketGen::Ok => "ok",
            TicketGen::Fail => "fail",
        }
    }
}

/// What the ticket decrypt callback returns for a ticket that decrypted
/// (`SSL_TICKET_RETURN_*`); for any other status it returns `IGNORE_RENEW`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketDec {
    Use,
    UseRenew,
    Ignore,
    IgnoreRenew,
    Abort,
}

impl Word for TicketDec {
    const ALL: &'static [TicketDec] = &[
        TicketDec::Use,
        TicketDec::UseRenew,
        TicketDec::Ignore,
        TicketDec::IgnoreRenew,
        TicketDec::Abort,
    ];
    const WHAT: &'static str = "decrypt callback result";

    fn name(self) -> &'static str {
        match self {
            TicketDec::Use => "use",
            TicketDec::UseRenew => "use_renew",
            TicketDec::Ignore => "ignore",
            TicketDec::IgnoreRenew => "ignore_renew",
            TicketDec::Abort => "abort",
        }
    }
}

/// Highest `ctx_set_max_early_data`.
pub const MAX_EARLY_DATA: u64 = u32::MAX as u64;
/// Highest `connect early=N`.
pub const MAX_EARLY_WRITE: u64 = 1 << 20;

/// A version 2 server context op: it changes the `SSL_CTX`, which `SSL_new` copies at the next
/// `connect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtxConfig {
    /// `SSL_CTX_set_options`.
    SetOptions(Options),
    /// `SSL_CTX_clear_options`.
    ClearOptions(Options),
    /// `SSL_CTX_set_ciphersuites`.
    Ciphersuites(SuiteList),
    /// `SSL_CTX_set_max_early_data`; at most [`MAX_EARLY_DATA`] in a valid program.
    MaxEarlyData(u64),
    /// `SSL_CTX_set_session_cache_mode`.
    SessionCacheMode(CacheMode),
    /// `SSL_CTX_set_session_ticket_cb` with callbacks returning these.
    TicketCb(TicketGen, TicketDec),
}

/// Which session a `connect` offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resume {
    /// None.
    #[default]
    No,
    /// `resume`: the newest ticket received and not offered yet.
    Newest,
    /// `resume=again`: the ticket offered at the previous `connect`, as it was on arrival.
    Again,
}

impl Resume {
    pub fn is_some(self) -> bool {
        self != Resume::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_refuse_what_is_not_in_them() {
        let l = SuiteList::parse("TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256").unwrap();
        assert_eq!(l.first(), Suite::Aes256GcmSha384);
        assert_eq!(
            l.to_string(),
            "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(GroupList::parse("P-256").unwrap().first(), Group::P256);
        for bad in [
            "",
            "X25519:",
            "x25519",
            "X25519:P-384",
            "X25519:P-256:X25519",
        ] {
            let e = GroupList::parse(bad).unwrap_err();
            assert!(e.contains("group"), "{bad}: {e}");
        }
        let nine = ["TLS_AES_128_GCM_SHA256"; 9].join(":");
        assert!(SuiteList::parse(&nine).unwrap_err().contains("at most 8"));
        assert!(SuiteList::parse(&["TLS_AES_128_GCM_SHA256"; 8].join(":")).is_ok());
    }

    #[test]
    fn options_set_and_clear() {
        let a = Options::default().with(SslOption::NoTicket);
        let b = a.union(Options::default().with(SslOption::AllowNoDheKex));
        assert_eq!(b.to_string(), "no_ticket allow_no_dhe_kex");
        assert_eq!(b.minus(a).to_string(), "allow_no_dhe_kex");
        assert!(b.minus(b).is_empty());
    }
}
