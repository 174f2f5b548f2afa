//! Compiles the BPF programs and generates their skeletons into OUT_DIR:
//! the probe, and the hollow programs of one benchmark.
use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

/// Each BPF source and the skeleton generated from it.
const OBJECTS: [(&str, &str); 2] = [
    ("src/bpf/causeway.bpf.c", "causeway.skel.rs"),
    ("src/bpf/hollow.bpf.c", "hollow.skel.rs"),
];

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("CARGO_CFG_TARGET_ARCH is set by cargo");
    for (src, skel) in OBJECTS {
        SkeletonBuilder::new()
            .source(src)
            .clang_args([
                "-I",
                "src/bpf",
                "-Wall",
                "-Wno-unused-function",
                // libbpf-cargo defines __TARGET_ARCH_*; vmlinux.h is x86_64-specific.
                &format!("-D__CAUSEWAY_ARCH_{arch}"),
            ])
            .build_and_generate(out_dir.join(skel))
            .unwrap_or_else(|e| {
                panic!(
                    "building the BPF program {src} failed: {e:#}\n\
                     causeway needs clang, libelf-dev, zlib1g-dev and pkg-config \
                     (see README, Quick start)"
                )
            });
        println!("cargo:rerun-if-changed={src}");
    }
    for f in ["src/bpf/causeway.h", "src/bpf/vmlinux.h"] {
        println!("cargo:rerun-if-changed={f}");
    }
}
