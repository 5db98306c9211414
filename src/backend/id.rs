//! Which backend: the registry's key, the `--backend` value, the name in traces, entries and
//! signatures.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A backend. Names never contain `-`: a signature's text starts with `BACKEND-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum BackendId {
    /// The oracle: OpenSSL 3 through the `openssl` crate.
    Openssl,
    /// The project's own TLS 1.3 server.
    Native,
    /// rustls behind OpenSSL's API.
    Rustls,
}

impl BackendId {
    /// Every backend, the oracle first.
    pub const ALL: [BackendId; 3] = [BackendId::Openssl, BackendId::Native, BackendId::Rustls];

    /// The library every other backend is compared with.
    pub const ORACLE: BackendId = BackendId::Openssl;

    pub fn name(self) -> &'static str {
        match self {
            BackendId::Openssl => "openssl",
            BackendId::Native => "native",
            BackendId::Rustls => "rustls",
        }
    }

    /// Whether the backend claims to behave exactly as the oracle: `replay` checks the corpus
    /// on it, and any divergence is a bug in it rather than a documented difference.
    pub fn conforms(self) -> bool {
        match self {
            BackendId::Native => true,
            BackendId::Openssl | BackendId::Rustls => false,
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
    fn names_round_trip_and_carry_no_dash() {
        for b in BackendId::ALL {
            assert_eq!(b.name().parse::<BackendId>(), Ok(b));
            assert!(!b.name().contains('-'));
            let clap_name = clap::ValueEnum::to_possible_value(&b).unwrap();
            assert_eq!(clap_name.get_name(), b.name());
        }
        let e = "boringssl".parse::<BackendId>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown backend `boringssl` (known: openssl, native, rustls)"
        );
    }
}
