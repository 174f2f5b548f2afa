//! The README against the repository: what it lists is what is there.

use std::path::Path;

/// Every benchmark script is in the README's list of bench commands, with
/// a line of its own.
#[test]
fn every_bench_script_is_listed_in_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let listed: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("bench/"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("bench")).expect("bench/") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".sh") && !listed.contains(&name.as_ref()) {
            missing.push(name.into_owned());
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "not in the README's bench list: {missing:?}"
    );
}
