//! Just enough DER to read what TLS needs from an X.509 certificate: the algorithm its issuer
//! signed it with (for `signature_algorithms_cert`) and its issuer and subject names (for
//! `certificate_authorities`). Certificates are checked by webpki; this only looks.

/// One TLV and what follows it.
struct Tlv<'a> {
    tag: u8,
    /// Header and contents.
    whole: &'a [u8],
    contents: &'a [u8],
    rest: &'a [u8],
}

fn tlv(buf: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = buf.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81..=0x83 => {
            let n = usize::from(first & 0x7f);
            let bytes = rest.get(..n)?;
            let len = bytes.iter().fold(0usize, |a, b| a << 8 | usize::from(*b));
            (len, &rest[n..])
        }
        _ => return None,
    };
    let header = buf.len() - rest.len();
    Some(Tlv {
        tag,
        whole: buf.get(..header + len)?,
        contents: rest.get(..len)?,
        rest: &rest[len..],
    })
}

/// The next TLV, which must have `tag`.
fn expect(buf: &[u8], tag: u8) -> Option<Tlv<'_>> {
    tlv(buf).filter(|t| t.tag == tag)
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const VERSION: u8 = 0xa0;

/// The parts of a certificate this server reads.
pub struct CertInfo<'a> {
    /// The OID of the issuer's signature algorithm (contents only).
    pub signature_oid: &'a [u8],
    /// The issuer and subject Names, as whole DER encodings (what `certificate_authorities`
    /// carries).
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
}

/// Reads a certificate's signature algorithm and names; `None` if it is not DER as expected.
pub fn cert_info(cert: &[u8]) -> Option<CertInfo<'_>> {
    let cert = expect(cert, SEQUENCE)?.contents;
    let tbs = expect(cert, SEQUENCE)?;
    let alg = expect(tbs.rest, SEQUENCE)?.contents;
    let signature_oid = expect(alg, OID)?.contents;
    let mut fields = tbs.contents;
    if fields.first() == Some(&VERSION) {
        fields = tlv(fields)?.rest;
    }
    let serial = tlv(fields)?;
    let sig = tlv(serial.rest)?;
    let issuer = expect(sig.rest, SEQUENCE)?;
    let validity = tlv(issuer.rest)?;
    let subject = expect(validity.rest, SEQUENCE)?;
    Some(CertInfo {
        signature_oid,
        issuer: issuer.whole,
        subject: subject.whole,
    })
}

/// The TLS SignatureScheme that names the algorithm a certificate was signed with, as OpenSSL
/// matches it against `signature_algorithms_cert` (digest and key type; the curve is not part of
/// it). `None` for an algorithm this server has no scheme for.
pub fn signature_scheme(oid: &[u8]) -> Option<u16> {
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    match oid {
        [0x2b, 0x65, 0x70] => Some(0x0807),
        [e @ .., last] if e == ECDSA => match last {
            2 => Some(0x0403),
            3 => Some(0x0503),
            4 => Some(0x0603),
            _ => None,
        },
        [p @ .., last] if p == PKCS1 => match last {
            11 => Some(0x0401),
            12 => Some(0x0501),
            13 => Some(0x0601),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_and_garbage() {
        assert_eq!(tlv(&[0x30, 0x01, 0xaa, 0xbb]).unwrap().contents, &[0xaa]);
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(vec![7; 256]);
        assert_eq!(tlv(&long).unwrap().contents.len(), 256);
        assert!(tlv(&[0x30, 0x05, 1]).is_none());
        assert!(tlv(&[0x30, 0x84, 0, 0, 0, 1, 0]).is_none());
        assert!(cert_info(b"not a certificate").is_none());
        assert_eq!(signature_scheme(&[0x2b, 0x65, 0x70]), Some(0x0807));
        assert_eq!(signature_scheme(&[1, 2, 3]), None);
    }
}
