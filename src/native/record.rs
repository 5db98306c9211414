//! Record protection (RFC 8446 section 5): AEAD, per-record nonces, inner content type.

use super::error::Error;
use super::key_schedule::Secret;
use super::msgs::content;
use ring::aead;

/// Largest plaintext fragment (2^14).
pub const MAX_FRAGMENT: usize = 16384;
/// Largest TLSCiphertext.length (2^14 + 256).
pub const MAX_CIPHERTEXT: usize = MAX_FRAGMENT + 256;
pub const HEADER_LEN: usize = 5;

/// One direction's traffic protection under one traffic secret.
pub struct RecordCipher {
    secret: Secret,
    key: aead::LessSafeKey,
    iv: [u8; 12],
    seq: u64,
}

impl RecordCipher {
    pub fn new(secret: Secret) -> Self {
        let suite = secret.suite();
        let key = secret.expand_label(b"key", b"", suite.key_len());
        let iv_v = secret.expand_label(b"iv", b"", 12);
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&iv_v);
        RecordCipher {
            secret,
            key: aead::LessSafeKey::new(
                aead::UnboundKey::new(suite.aead, &key).expect("key length matches suite"),
            ),
            iv,
            seq: 0,
        }
    }

    /// The cipher for the next generation of this secret (KeyUpdate, RFC 8446 7.2).
    pub fn updated(&self) -> Self {
        RecordCipher::new(self.secret.derive(b"traffic upd", b""))
    }

    /// The traffic secret this cipher was made from.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    fn nonce(&mut self) -> Result<aead::Nonce, Error> {
        if self.seq == u64::MAX {
            return Err(Error::Internal("sequence number exhausted"));
        }
        let mut n = self.iv;
        for (a, b) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *a ^= b;
        }
        self.seq += 1;
        Ok(aead::Nonce::assume_unique_for_key(n))
    }

    /// Protects one fragment of `typ` and appends the whole record to `out`.
    pub fn seal(&mut self, typ: u8, fragment: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.seal_padded(typ, fragment, 0, out)
    }

    /// Like [`seal`](Self::seal) with `padding` zero bytes after the content type.
    pub fn seal_padded(
        &mut self,
        typ: u8,
        fragment: &[u8],
        padding: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if fragment.len() + 1 + padding > MAX_FRAGMENT + 1 {
            return Err(Error::Internal("record too large"));
        }
        let len = fragment.len() + 1 + padding + self.secret.suite().aead.tag_len();
        let header = [content::APPLICATION_DATA, 3, 3, (len >> 8) as u8, len as u8];
        let nonce = self.nonce()?;
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(fragment);
        buf.push(typ);
        buf.resize(buf.len() + padding, 0);
        self.key
            .seal_in_place_append_tag(nonce, aead::Aad::from(header), &mut buf)
            .map_err(|_| Error::Internal("seal failed"))?;
        out.extend_from_slice(&header);
        out.extend_from_slice(&buf);
        Ok(())
    }

    /// The inner content type of a record, without consuming it (the sequence number stays).
    pub fn peek_type(&mut self, header: [u8; 5], payload: &[u8]) -> Option<u8> {
        let seq = self.seq;
        let typ = self.open(header, payload).ok().map(|(t, _)| t);
        self.seq = seq;
        typ
    }

    /// Removes protection from a record; returns (inner content type, plaintext).
    ///
    /// A failure does not consume a sequence number, so callers may skip the record (early data).
    pub fn open(&mut self, header: [u8; 5], payload: &[u8]) -> Result<(u8, Vec<u8>), Error> {
        if payload.len() > MAX_CIPHERTEXT {
            return Err(Error::RecordOverflow);
        }
        let seq = self.seq;
        let nonce = self.nonce()?;
        let mut buf = payload.to_vec();
        let plain_len = match self
            .key
            .open_in_place(nonce, aead::Aad::from(header), &mut buf)
        {
            Ok(p) => p.len(),
            Err(_) => {
                self.seq = seq;
                return Err(Error::BadRecordMac);
            }
        };
        buf.truncate(plain_len);
        if buf.len() > MAX_FRAGMENT + 1 {
            return Err(Error::RecordOverflow);
        }
        // Strip padding; the last non-zero byte is the content type.
        while let Some(&0) = buf.last() {
            buf.pop();
        }
        match buf.pop() {
            Some(typ) => Ok((typ, buf)),
            None => Err(Error::UnexpectedMessage("record with no content type")),
        }
    }
}

/// Appends plaintext records of `typ` holding `data` (split at 2^14).
pub fn write_plain(typ: u8, data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(MAX_FRAGMENT) {
        out.extend_from_slice(&[typ, 3, 3, (chunk.len() >> 8) as u8, chunk.len() as u8]);
        out.extend_from_slice(chunk);
    }
}
