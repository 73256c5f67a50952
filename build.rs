//! Link options for the firelane binary.
//!
//! `-z pack-relative-relocs` (DT_RELR) stores the position-independent binary's ~44,000 relative
//! relocations in a few kilobytes instead of a 1 MB `.rela.dyn` table, which the dynamic loader
//! reads whole at every start: about 1 MiB less resident memory, the binary still PIE. It needs
//! glibc 2.36 at run time (the image's distroless/cc-debian12 has it; the binary built on
//! bookworm needs it anyway).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
