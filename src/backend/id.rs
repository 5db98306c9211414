//! Which backend: the registry's key, the `--backend` value, the name in traces, entries and
//! signatures.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A backend. A signature's text starts with the backend's name and a `-`; names may contain
/// `-` themselves (`openssl-3.6`), so signatures are read by the longest name that fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum BackendId {
    /// The default oracle: the OpenSSL this build links, through the `openssl` crate.
    #[value(name = "openssl")]
    Openssl,
    /// The project's own TLS 1.3 server.
    #[value(name = "native")]
    Native,
    /// rustls behind OpenSSL's API.
    #[value(name = "rustls")]
    Rustls,
    /// The OpenSSL this build links, in a worker process: proves that a worker's traces are
    /// the in-process library's.
    #[value(name = "openssl@worker")]
    OpensslWorker,
    /// OpenSSL 3.6 (built from source by `openssl-src`), in a worker process.
    #[value(name = "openssl-3.6")]
    Openssl36,
    /// OpenSSL 4.0 (built from source by `openssl-src`), in a worker process.
    #[value(name = "openssl-4.0")]
    Openssl40,
}

impl BackendId {
    /// Every backend, the default oracle first.
    pub const ALL: [BackendId; 6] = [
        BackendId::Openssl,
        BackendId::Native,
        BackendId::Rustls,
        BackendId::OpensslWorker,
        BackendId::Openssl36,
        BackendId::Openssl40,
    ];

    /// What runs when no backend is named: the ones in this process (workers are built apart
    /// and named when wanted).
    pub const DEFAULT: [BackendId; 3] = [BackendId::Openssl, BackendId::Native, BackendId::Rustls];

    /// The library every other backend is compared with unless another is named.
    pub const ORACLE: BackendId = BackendId::Openssl;

    pub fn name(self) -> &'static str {
        match self {
            BackendId::Openssl => "openssl",
            BackendId::Native => "native",
            BackendId::Rustls => "rustls",
            BackendId::OpensslWorker => "openssl@worker",
            BackendId::Openssl36 => "openssl-3.6",
            BackendId::Openssl40 => "openssl-4.0",
        }
    }

    /// Whether the backend claims to behave exactly as the oracle: `replay` checks the corpus
    /// on it, and any divergence is a bug in it rather than a documented difference.
    pub fn conforms(self) -> bool {
        match self {
            BackendId::Native | BackendId::OpensslWorker => true,
            BackendId::Openssl
            | BackendId::Rustls
            | BackendId::Openssl36
            | BackendId::Openssl40 => false,
        }
    }

    /// Whether the backend is an OpenSSL release, so can be an entry's oracle.
    pub fn is_openssl(self) -> bool {
        match self {
            BackendId::Openssl
            | BackendId::OpensslWorker
            | BackendId::Openssl36
            | BackendId::Openssl40 => true,
            BackendId::Native | BackendId::Rustls => false,
        }
    }

    /// Every backend but the oracle.
    pub fn others() -> impl Iterator<Item = BackendId> {
        BackendId::ALL
            .into_iter()
            .filter(|b| *b != BackendId::ORACLE)
    }
}

impl fmt::Display for BackendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no backend's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (known: {known})", known = known_names())]
pub struct UnknownBackend(pub String);

fn known_names() -> String {
    let names: Vec<&str> = BackendId::ALL.iter().map(|b| b.name()).collect();
    names.join(", ")
}

impl FromStr for BackendId {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendId::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBackend(s.to_string()))
    }
}

impl Serialize for BackendId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_the_clap_values() {
        for b in BackendId::ALL {
            assert_eq!(b.name().parse::<BackendId>(), Ok(b));
            let clap_name = clap::ValueEnum::to_possible_value(&b).unwrap();
            assert_eq!(clap_name.get_name(), b.name());
        }
        let e = "boringssl".parse::<BackendId>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown backend `boringssl` (known: openssl, native, rustls, openssl@worker, openssl-3.6, openssl-4.0)"
        );
    }
}
