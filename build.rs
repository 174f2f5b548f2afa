//! Compiles the BPF probe and generates its skeleton into OUT_DIR.
use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SRC: &str = "src/bpf/causeway.bpf.c";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("causeway.skel.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("CARGO_CFG_TARGET_ARCH is set by cargo");
    SkeletonBuilder::new()
        .source(SRC)
        .clang_args([
            "-I",
            "src/bpf",
            "-Wall",
            "-Wno-unused-function",
            // libbpf-cargo defines __TARGET_ARCH_*; vmlinux.h is x86_64-specific.
            &format!("-D__CAUSEWAY_ARCH_{arch}"),
        ])
        .build_and_generate(&out)
        .unwrap_or_else(|e| {
            panic!(
                "building the BPF probe failed: {e:#}\n\
                 causeway needs clang, libelf-dev, zlib1g-dev and pkg-config \
                 (see README, Quick start)"
            )
        });
    for f in [SRC, "src/bpf/causeway.h", "src/bpf/vmlinux.h"] {
        println!("cargo:rerun-if-changed={f}");
    }
}
