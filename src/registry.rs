//! Every backend by its [`BackendId`], ready to run programs on this thread. A new backend
//! does not compile until it is registered here.

use crate::backend::{native, openssl, rustls, Backend, BackendId, Server};
use crate::harness::Harness;
use crate::worker::{self, process::WorkerServer, Unavailable};

/// An in-process backend's server, for this process or a worker (`None` for a worker's id).
pub fn in_process(id: BackendId) -> Option<Box<dyn Server>> {
    match id {
        BackendId::Openssl => Some(Box::new(openssl::OpensslServer::new())),
        BackendId::Native => Some(Box::new(native::NativeServer::new())),
        BackendId::Rustls => Some(Box::new(rustls::RustlsServer::new())),
        BackendId::OpensslWorker | BackendId::Openssl36 | BackendId::Openssl40 => None,
    }
}

/// A backend, with a fresh context, for this thread; a worker backend starts its process.
pub fn backend(id: BackendId) -> Result<Box<dyn Backend>, Unavailable> {
    if let Some(server) = in_process(id) {
        return Ok(Box::new(Harness::new(server)));
    }
    let spec = worker::spec(id).expect("a backend not in process runs in a worker");
    worker::check(id)?;
    let path = worker::executable(spec);
    let server = WorkerServer::start(id, spec.host, &path).map_err(|e| Unavailable {
        id,
        problem: format!("does not start: {e}"),
        build: e.outdated(),
    })?;
    Ok(Box::new(Harness::new(Box::new(server) as Box<dyn Server>)))
}
