//! Every backend by its [`BackendId`], ready to run programs on this thread. A new backend
//! does not compile until it is registered here.

use crate::backend::{native, openssl, rustls, Backend, BackendId};
use crate::harness::Harness;

/// A backend, with a fresh context, for this thread.
pub fn backend(id: BackendId) -> Box<dyn Backend> {
    match id {
        BackendId::Openssl => Box::new(Harness::new(openssl::OpensslServer::new())),
        BackendId::Native => Box::new(Harness::new(native::NativeServer::new())),
        BackendId::Rustls => Box::new(Harness::new(rustls::RustlsServer::new())),
    }
}
