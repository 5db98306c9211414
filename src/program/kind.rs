//! An op's keyword as a type: what a signature names, what crash frames are chosen by, and what
//! a trace step's op is parsed back from.

use super::{parse, CtxConfig, Op};
use std::fmt;
use std::str::FromStr;

/// The keyword of an [`Op`], without its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    CtxSetNumTickets,
    CtxGetNumTickets,
    Connect,
    SetNumTickets,
    GetNumTickets,
    Handshake,
    ClientStep,
    ServerStep,
    NewSessionTicket,
    ServerWrite,
    ServerRead,
    ServerDoHandshake,
    ClientRead,
    ClientWrite,
    VerifyClientPostHandshake,
    Shutdown,
    CtxSetOptions,
    CtxClearOptions,
    CtxSetCiphersuites,
    CtxSetMaxEarlyData,
    CtxSetSessionCacheMode,
    CtxSetTicketCb,
    ServerReadEarly,
    KeyUpdate,
}

impl OpKind {
    /// Every keyword, in the order of the format's tables.
    pub const ALL: [OpKind; 24] = [
        OpKind::CtxSetNumTickets,
        OpKind::CtxGetNumTickets,
        OpKind::Connect,
        OpKind::SetNumTickets,
        OpKind::GetNumTickets,
        OpKind::Handshake,
        OpKind::ClientStep,
        OpKind::ServerStep,
        OpKind::NewSessionTicket,
        OpKind::ServerWrite,
        OpKind::ServerRead,
        OpKind::ServerDoHandshake,
        OpKind::ClientRead,
        OpKind::ClientWrite,
        OpKind::VerifyClientPostHandshake,
        OpKind::Shutdown,
        OpKind::CtxSetOptions,
        OpKind::CtxClearOptions,
        OpKind::CtxSetCiphersuites,
        OpKind::CtxSetMaxEarlyData,
        OpKind::CtxSetSessionCacheMode,
        OpKind::CtxSetTicketCb,
        OpKind::ServerReadEarly,
        OpKind::KeyUpdate,
    ];

    /// The keyword as written in a program.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::CtxSetNumTickets => "ctx_set_num_tickets",
            OpKind::CtxGetNumTickets => "ctx_get_num_tickets",
            OpKind::Connect => "connect",
            OpKind::SetNumTickets => "set_num_tickets",
            OpKind::GetNumTickets => "get_num_tickets",
            OpKind::Handshake => "handshake",
            OpKind::ClientStep => "client_step",
            OpKind::ServerStep => "server_step",
            OpKind::NewSessionTicket => "new_session_ticket",
            OpKind::ServerWrite => "server_write",
            OpKind::ServerRead => "server_read",
            OpKind::ServerDoHandshake => "server_do_handshake",
            OpKind::ClientRead => "client_read",
            OpKind::ClientWrite => "client_write",
            OpKind::VerifyClientPostHandshake => "verify_client_post_handshake",
            OpKind::Shutdown => "shutdown",
            OpKind::CtxSetOptions => "ctx_set_options",
            OpKind::CtxClearOptions => "ctx_clear_options",
            OpKind::CtxSetCiphersuites => "ctx_set_ciphersuites",
            OpKind::CtxSetMaxEarlyData => "ctx_set_max_early_data",
            OpKind::CtxSetSessionCacheMode => "ctx_set_session_cache_mode",
            OpKind::CtxSetTicketCb => "ctx_set_ticket_cb",
            OpKind::ServerReadEarly => "server_read_early",
            OpKind::KeyUpdate => "key_update",
        }
    }

    /// Whether a positive return value is a byte count (reads and writes) rather than a code.
    pub fn moves_bytes(self) -> bool {
        matches!(
            self,
            OpKind::ServerWrite
                | OpKind::ServerRead
                | OpKind::ClientWrite
                | OpKind::ClientRead
                | OpKind::ServerReadEarly
        )
    }

    /// The OpenSSL call behind the keyword, for signatures: `server_step` and
    /// `server_do_handshake` are both `SSL_do_handshake` on the server, so one cause seen
    /// through either is one signature.
    pub fn call(self) -> OpKind {
        match self {
            OpKind::ServerStep => OpKind::ServerDoHandshake,
            other => other,
        }
    }
}

impl Op {
    /// The op's keyword.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::CtxSetNumTickets(_) => OpKind::CtxSetNumTickets,
            Op::CtxGetNumTickets => OpKind::CtxGetNumTickets,
            Op::Connect(_) => OpKind::Connect,
            Op::SetNumTickets(_) => OpKind::SetNumTickets,
            Op::GetNumTickets => OpKind::GetNumTickets,
            Op::Handshake => OpKind::Handshake,
            Op::ClientStep => OpKind::ClientStep,
            Op::ServerStep => OpKind::ServerStep,
            Op::NewSessionTicket => OpKind::NewSessionTicket,
            Op::ServerWrite(_) => OpKind::ServerWrite,
            Op::ServerRead => OpKind::ServerRead,
            Op::ServerDoHandshake => OpKind::ServerDoHandshake,
            Op::ClientRead => OpKind::ClientRead,
            Op::ClientWrite(_) => OpKind::ClientWrite,
            Op::VerifyClientPostHandshake => OpKind::VerifyClientPostHandshake,
            Op::Shutdown => OpKind::Shutdown,
            Op::Configure(c) => match c {
                CtxConfig::SetOptions(_) => OpKind::CtxSetOptions,
                CtxConfig::ClearOptions(_) => OpKind::CtxClearOptions,
                CtxConfig::Ciphersuites(_) => OpKind::CtxSetCiphersuites,
                CtxConfig::MaxEarlyData(_) => OpKind::CtxSetMaxEarlyData,
                CtxConfig::SessionCacheMode(_) => OpKind::CtxSetSessionCacheMode,
                CtxConfig::TicketCb(..) => OpKind::CtxSetTicketCb,
            },
            Op::ServerReadEarly => OpKind::ServerReadEarly,
            Op::KeyUpdate { .. } => OpKind::KeyUpdate,
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A keyword that is not an op's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown op `{0}`")]
pub struct UnknownOp(pub String);

impl FromStr for OpKind {
    type Err = UnknownOp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OpKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownOp(s.to_string()))
    }
}

/// One op in its text form, as a trace or an entry header writes it.
impl FromStr for Op {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let program = parse(s).map_err(|e| e.message)?;
        match program.stmts.as_slice() {
            [one] => Ok(one.op),
            _ => Err(format!("`{s}` is not exactly one op")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_round_trips() {
        for k in OpKind::ALL {
            assert_eq!(k.name().parse::<OpKind>(), Ok(k));
        }
        assert_eq!(
            "server_stepp".parse::<OpKind>(),
            Err(UnknownOp("server_stepp".into()))
        );
    }

    #[test]
    fn an_op_round_trips_through_its_text() {
        for text in [
            "connect resume pha",
            "server_write 16385",
            "shutdown",
            "connect resume=again tls12 psk_ke suites=TLS_AES_256_GCM_SHA384 groups=P-256:X25519 early=7",
            "ctx_set_options no_ticket no_anti_replay",
            "ctx_clear_options allow_no_dhe_kex",
            "ctx_set_ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
            "ctx_set_max_early_data 4294967295",
            "ctx_set_session_cache_mode off",
            "ctx_set_ticket_cb fail use_renew",
            "server_read_early",
            "key_update",
            "key_update requested",
        ] {
            let op: Op = text.parse().unwrap();
            assert_eq!(op.to_string(), text);
        }
        assert!("connect\nshutdown".parse::<Op>().is_err());
        assert!("".parse::<Op>().is_err());
    }
}
