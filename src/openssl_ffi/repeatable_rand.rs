//! Repeatable randomness for OpenSSL, so that the same program gives the same trace every time.
//!
//! OpenSSL draws each TLS 1.3 ticket's `ticket_age_add` at random and writes it into the
//! ticket's DER session as a minimal INTEGER, of five bytes for half the values, four for
//! nearly all the others, three or fewer for one in 512. Where a session's DER length sits on a
//! 16-byte boundary of the ticket's CBC encryption, a ticket is then 16 bytes longer or shorter
//! than the others (measured with OpenSSL 3.0.19: 257-byte NewSessionTickets with a 241-byte one
//! among them, in about one run of two of a program writing 235 tickets). On a wire filled to
//! the byte, one ticket more or less then fits. Key shares, randoms, session ids and ticket
//! keys are drawn the same way and change nothing observable, but drawing them from one
//! repeatable stream costs nothing. The stream is also shaped, so that a ticket's length never
//! depends on the value drawn.
//!
//! [`install`] replaces the process's `RAND_METHOD` (OpenSSL 3.0's `RAND_bytes_ex` and
//! `RAND_priv_bytes_ex` use a method set with `RAND_set_rand_method` instead of the library
//! context's DRBG; deprecated in 3.0, still there in 3.6 and 4.0) with one that reads a
//! per-thread stream, and [`restart`] puts the calling thread's stream back to its start: the
//! harness does both before each program, which runs on one thread. So every run of a program
//! draws the same bytes. Only the program harness installs it: `ticketdiff serve`, which
//! answers real clients, never does, and keeps OpenSSL's own DRBG.

use std::cell::Cell;
use std::ffi::{c_double, c_int, c_uchar, c_void};
use std::sync::Once;

/// OpenSSL's `struct rand_meth_st`.
#[repr(C)]
struct RandMethod {
    seed: Option<unsafe extern "C" fn(buf: *const c_void, num: c_int) -> c_int>,
    bytes: Option<unsafe extern "C" fn(buf: *mut c_uchar, num: c_int) -> c_int>,
    cleanup: Option<unsafe extern "C" fn()>,
    add:
        Option<unsafe extern "C" fn(buf: *const c_void, num: c_int, randomness: c_double) -> c_int>,
    pseudorand: Option<unsafe extern "C" fn(buf: *mut c_uchar, num: c_int) -> c_int>,
    status: Option<unsafe extern "C" fn() -> c_int>,
}

extern "C" {
    fn RAND_set_rand_method(meth: *const RandMethod) -> c_int;
}

static METHOD: RandMethod = RandMethod {
    seed: None,
    bytes: Some(bytes),
    cleanup: None,
    add: None,
    pseudorand: Some(bytes),
    status: Some(status),
};

/// Where every thread's stream starts.
const START: u64 = 0x7469_636b_6574_6469;

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(START) };
}

/// SplitMix64: repeatability is the point here, not unpredictability.
fn next(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` from the calling thread's stream. Every byte is in 0x40..=0x7f, so that a
/// random 32-bit number OpenSSL writes as a minimal DER INTEGER (a ticket's `ticket_age_add`)
/// always takes four bytes, whichever its byte order: which value a run draws must not decide
/// how long a ticket is, or the native server (which draws its own) could not be as long as
/// OpenSSL's. Four, not five (a value of 2^31 or more): the native server's tickets are as long
/// as OpenSSL's with a four-byte one (measured: with TLS_AES_128_GCM_SHA256 and early data, a
/// five-byte one makes OpenSSL's ticket 16 bytes longer).
fn fill(out: &mut [u8]) {
    STATE.with(|state| {
        for chunk in out.chunks_mut(8) {
            let word = next(state).to_le_bytes();
            for (byte, random) in chunk.iter_mut().zip(word) {
                *byte = 0x40 | (random & 0x3f);
            }
        }
    });
}

unsafe extern "C" fn bytes(buf: *mut c_uchar, num: c_int) -> c_int {
    let Ok(len) = usize::try_from(num) else {
        return 0;
    };
    if len > 0 {
        if buf.is_null() {
            return 0;
        }
        // SAFETY: OpenSSL passes a writable buffer of `num` bytes.
        fill(unsafe { std::slice::from_raw_parts_mut(buf, len) });
    }
    1
}

unsafe extern "C" fn status() -> c_int {
    1
}

/// Makes OpenSSL draw its randomness from the calling thread's repeatable stream, from now on
/// and in the whole process (once; later calls do nothing).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `METHOD` is a static of OpenSSL's layout that lives as long as the process.
        let ok = unsafe { RAND_set_rand_method(&METHOD) };
        assert_eq!(ok, 1, "RAND_set_rand_method");
    });
}

/// Puts the calling thread's stream back to its start.
pub fn restart() {
    STATE.with(|state| state.set(START));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_stream_repeats_and_threads_have_their_own() {
        restart();
        let mut a = [0u8; 37];
        fill(&mut a);
        let mut b = [0u8; 37];
        fill(&mut b);
        assert_ne!(a, b);
        restart();
        let mut again = [0u8; 37];
        fill(&mut again);
        assert_eq!(a, again);
        assert!(a.iter().all(|b| (0x40..=0x7f).contains(b)));
        let other = std::thread::spawn(|| {
            let mut c = [0u8; 37];
            fill(&mut c);
            c
        })
        .join()
        .unwrap();
        assert_eq!(other, a);
    }

    #[test]
    fn openssl_draws_from_the_stream_once_installed() {
        install();
        restart();
        let mut first = [0u8; 48];
        openssl::rand::rand_bytes(&mut first).unwrap();
        restart();
        let mut again = [0u8; 48];
        openssl::rand::rand_bytes(&mut again).unwrap();
        assert_eq!(first, again);
        restart();
        let mut ours = [0u8; 48];
        fill(&mut ours);
        assert_eq!(first, ours);
    }
}
