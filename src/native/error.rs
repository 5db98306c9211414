//! Errors of the native server, each mapped to the alert RFC 8446 names for it.

use std::fmt;

/// TLS alert descriptions (RFC 8446 section 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertDescription {
    CloseNotify,
    UnexpectedMessage,
    BadRecordMac,
    RecordOverflow,
    HandshakeFailure,
    BadCertificate,
    UnsupportedCertificate,
    CertificateRevoked,
    CertificateExpired,
    CertificateUnknown,
    IllegalParameter,
    UnknownCa,
    AccessDenied,
    DecodeError,
    DecryptError,
    ProtocolVersion,
    InsufficientSecurity,
    InternalError,
    InappropriateFallback,
    UserCanceled,
    MissingExtension,
    UnsupportedExtension,
    UnrecognizedName,
    BadCertificateStatusResponse,
    UnknownPskIdentity,
    CertificateRequired,
    NoApplicationProtocol,
    Other(u8),
}

impl AlertDescription {
    pub fn to_u8(self) -> u8 {
        use AlertDescription::*;
        match self {
            CloseNotify => 0,
            UnexpectedMessage => 10,
            BadRecordMac => 20,
            RecordOverflow => 22,
            HandshakeFailure => 40,
            BadCertificate => 42,
            UnsupportedCertificate => 43,
            CertificateRevoked => 44,
            CertificateExpired => 45,
            CertificateUnknown => 46,
            IllegalParameter => 47,
            UnknownCa => 48,
            AccessDenied => 49,
            DecodeError => 50,
            DecryptError => 51,
            ProtocolVersion => 70,
            InsufficientSecurity => 71,
            InternalError => 80,
            InappropriateFallback => 86,
            UserCanceled => 90,
            MissingExtension => 109,
            UnsupportedExtension => 110,
            UnrecognizedName => 112,
            BadCertificateStatusResponse => 113,
            UnknownPskIdentity => 115,
            CertificateRequired => 116,
            NoApplicationProtocol => 120,
            Other(x) => x,
        }
    }

    pub fn from_u8(x: u8) -> Self {
        use AlertDescription::*;
        match x {
            0 => CloseNotify,
            10 => UnexpectedMessage,
            20 => BadRecordMac,
            22 => RecordOverflow,
            40 => HandshakeFailure,
            42 => BadCertificate,
            43 => UnsupportedCertificate,
            44 => CertificateRevoked,
            45 => CertificateExpired,
            46 => CertificateUnknown,
            47 => IllegalParameter,
            48 => UnknownCa,
            49 => AccessDenied,
            50 => DecodeError,
            51 => DecryptError,
            70 => ProtocolVersion,
            71 => InsufficientSecurity,
            80 => InternalError,
            86 => InappropriateFallback,
            90 => UserCanceled,
            109 => MissingExtension,
            110 => UnsupportedExtension,
            112 => UnrecognizedName,
            113 => BadCertificateStatusResponse,
            115 => UnknownPskIdentity,
            116 => CertificateRequired,
            120 => NoApplicationProtocol,
            x => Other(x),
        }
    }
}

/// Everything that can go wrong on a connection.
///
/// Protocol faults carry a short static reason; [`Error::alert`] gives the alert sent to the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Malformed or truncated message: `decode_error`.
    Decode(&'static str),
    /// Message or record not allowed here: `unexpected_message`.
    UnexpectedMessage(&'static str),
    /// Syntactically fine but semantically invalid: `illegal_parameter`.
    IllegalParameter(&'static str),
    /// A mandatory extension is absent: `missing_extension`.
    MissingExtension(&'static str),
    /// The client offers no TLS 1.3: `protocol_version`.
    ProtocolVersion,
    /// No acceptable parameters: `handshake_failure`.
    HandshakeFailure(&'static str),
    /// A record failed to decrypt: `bad_record_mac`.
    BadRecordMac,
    /// A record exceeded the size limit: `record_overflow`.
    RecordOverflow,
    /// Binder, Finished or signature check failed: `decrypt_error`.
    DecryptError(&'static str),
    /// The client's certificate was rejected: `bad_certificate`.
    BadCertificate(&'static str),
    /// The client's certificate chains to no trusted CA: `unknown_ca`.
    UnknownCa,
    /// A client certificate was required and none was sent: `certificate_required`.
    CertificateRequired,
    /// Local failure: `internal_error`.
    Internal(&'static str),
    /// The peer sent this fatal alert (nothing is sent back).
    PeerAlert(AlertDescription),
    /// API misuse (wrong state for the call); no alert, connection unaffected.
    InvalidState(&'static str),
}

impl Error {
    /// The alert this error sends, if any.
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Error::Decode(_) => A::DecodeError,
            Error::UnexpectedMessage(_) => A::UnexpectedMessage,
            Error::IllegalParameter(_) => A::IllegalParameter,
            Error::MissingExtension(_) => A::MissingExtension,
            Error::ProtocolVersion => A::ProtocolVersion,
            Error::HandshakeFailure(_) => A::HandshakeFailure,
            Error::BadRecordMac => A::BadRecordMac,
            Error::RecordOverflow => A::RecordOverflow,
            Error::DecryptError(_) => A::DecryptError,
            Error::BadCertificate(_) => A::BadCertificate,
            Error::UnknownCa => A::UnknownCa,
            Error::CertificateRequired => A::CertificateRequired,
            Error::Internal(_) => A::InternalError,
            Error::PeerAlert(_) | Error::InvalidState(_) => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(m) => write!(f, "malformed message: {m}"),
            Error::UnexpectedMessage(m) => write!(f, "unexpected message: {m}"),
            Error::IllegalParameter(m) => write!(f, "illegal parameter: {m}"),
            Error::MissingExtension(m) => write!(f, "missing extension: {m}"),
            Error::ProtocolVersion => f.write_str("the client offers no TLS 1.3"),
            Error::HandshakeFailure(m) => write!(f, "no acceptable parameters: {m}"),
            Error::BadRecordMac => f.write_str("a record failed to decrypt"),
            Error::RecordOverflow => f.write_str("a record exceeded the size limit"),
            Error::DecryptError(m) => write!(f, "verification failed: {m}"),
            Error::BadCertificate(m) => write!(f, "client certificate rejected: {m}"),
            Error::UnknownCa => f.write_str("the client certificate chains to no trusted CA"),
            Error::CertificateRequired => {
                f.write_str("a client certificate was required and none was sent")
            }
            Error::Internal(m) => write!(f, "internal error: {m}"),
            Error::PeerAlert(a) => write!(f, "the peer sent a fatal alert ({a:?})"),
            Error::InvalidState(m) => write!(f, "not allowed in this state: {m}"),
        }?;
        match self.alert() {
            Some(a) => write!(f, "; alert {a:?} sent"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {}
