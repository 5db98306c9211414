fn main() {
    // The host this helper is built for is the target OpenSSL is built for.
    println!(
        "cargo:rustc-env=TARGET_TRIPLE={}",
        std::env::var("TARGET").expect("cargo sets TARGET")
    );
}
