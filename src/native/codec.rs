//! Byte-level reading and writing of TLS structures (RFC 8446 section 3).

use super::error::Error;

/// A cursor over received bytes; every shortfall is a `decode_error`.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const TRUNCATED: Error = Error::Decode("truncated message");

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    pub fn expect_empty(&self, what: &'static str) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Decode(what))
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() - self.pos < n {
            return Err(TRUNCATED);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Result<usize, Error> {
        let b = self.take(3)?;
        Ok(((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize)
    }

    pub fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// `opaque x<0..2^8-1>`
    pub fn vec8(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// `opaque x<0..2^16-1>`
    pub fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    /// `opaque x<0..2^24-1>`
    pub fn vec24(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u24()?;
        self.take(n)
    }

    /// A list of u16 values inside a length-prefixed block; must be non-empty and even.
    pub fn u16_list(block: &[u8]) -> Result<Vec<u16>, Error> {
        if block.is_empty() || !block.len().is_multiple_of(2) {
            return Err(Error::Decode("bad u16 list"));
        }
        Ok(block
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect())
    }
}

pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn put_u24(out: &mut Vec<u8>, v: usize) {
    debug_assert!(v < 1 << 24);
    out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes `f`'s output preceded by its length in `len_bytes` (1, 2 or 3) bytes.
pub fn with_len(out: &mut Vec<u8>, len_bytes: usize, f: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend(std::iter::repeat_n(0u8, len_bytes));
    f(out);
    let n = out.len() - start - len_bytes;
    let be = (n as u32).to_be_bytes();
    debug_assert!(n < 1 << (8 * len_bytes));
    out[start..start + len_bytes].copy_from_slice(&be[4 - len_bytes..]);
}
