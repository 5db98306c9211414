//! Entry points of the parser fuzz targets (`store_entry` and `worker_protocol` in `fuzz/`):
//! the two parsers that bytes from outside reach. A saved entry may be anything someone wrote
//! into the store; a worker's frames anything a broken or hostile worker sends, and a worker
//! reads whatever a broken ticketdiff sends it. Each must give an error, never a panic, and
//! what decodes must encode to bytes that decode to the same message.

use crate::worker::protocol::{read_frame, Hello, Reply, Request};
use std::path::Path;

/// `bytes` as the text of a store entry (invalid UTF-8 replaced, as a reader of a damaged file
/// would see it).
pub fn fuzz_store_entry(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let path = Path::new("diff/fuzzed.tkt");
    let _ = crate::store::read_entry(path, &text);
}

/// `bytes` as one frame in each direction, and as a stream of frames.
pub fn fuzz_worker_protocol(bytes: &[u8]) {
    decode_each(bytes);
    let mut stream = bytes;
    // A stream ends at its first error: a reader cannot resynchronise after a bad length.
    while let Ok(Some(frame)) = read_frame(&mut stream) {
        decode_each(&frame);
    }
}

fn decode_each(frame: &[u8]) {
    if let Ok(hello) = Hello::decode(frame) {
        let again = Hello::decode(&hello.encode()).expect("an encoded hello decodes");
        assert_eq!(again, hello, "hello round trip of {frame:?}");
    }
    if let Ok(request) = Request::decode(frame) {
        // Request holds a PKI and is not comparable: its encoding stands for it.
        let encoded = request.encode();
        let again = Request::decode(&encoded).expect("an encoded request decodes");
        assert_eq!(again.encode(), encoded, "request round trip of {frame:?}");
    }
    if let Ok(reply) = Reply::decode(frame) {
        let again = Reply::decode(&reply.encode()).expect("an encoded reply decodes");
        assert_eq!(again, reply, "reply round trip of {frame:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::protocol::{write_frame, VERSION};

    #[test]
    fn the_entry_points_take_what_ticketdiff_writes_and_garbage() {
        for path in ["diff", "corpus"] {
            for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
                fuzz_store_entry(&std::fs::read(e.path()).unwrap());
            }
        }
        fuzz_store_entry(b"# signature: \xff\n\0");
        let hello = Hello {
            version: VERSION,
            library: "OpenSSL 3.6.3".into(),
        };
        let mut stream = Vec::new();
        write_frame(&mut stream, &hello.encode()).unwrap();
        write_frame(&mut stream, &Reply::Count(7).encode()).unwrap();
        write_frame(&mut stream, &Request::Reset.encode()).unwrap();
        stream.extend_from_slice(&[0xff; 4]);
        fuzz_worker_protocol(&stream);
    }
}
