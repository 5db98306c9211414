//! `ticketdiff-openssl-4-0-src DIR`: builds OpenSSL 4.0 from the source `openssl-src` ships and
//! installs it in DIR (`DIR/include`, `DIR/lib`), so that `OPENSSL_DIR=DIR` builds the
//! `openssl-4.0` worker against it. `openssl-sys` cannot vendor 4.0 itself.

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: ticketdiff-openssl-4-0-src DIR");
        std::process::exit(2);
    };
    let target = env!("TARGET_TRIPLE");
    let artifacts = openssl_src::Build::new()
        .target(target)
        .host(target)
        .out_dir(std::path::Path::new(&dir).join("build"))
        .build();
    println!(
        "OpenSSL {} in {}",
        openssl_src::version(),
        artifacts.lib_dir().parent().unwrap_or(artifacts.lib_dir()).display()
    );
}
