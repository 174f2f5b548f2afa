//! The hollow programs of `bench/net_floor.sh` (`hollow.bpf.c`): one on
//! each tracepoint the probe's network programs use, each returning at
//! once. For that benchmark only.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

use super::hollow_skel as skel;

/// Loads and attaches the hollow programs, keeps them attached until
/// `stop` is set, then detaches them.
pub fn attach_until(stop: &AtomicBool) -> Result<()> {
    super::check_privileges()?;
    let mut storage = MaybeUninit::uninit();
    let open = skel::HollowSkelBuilder::default()
        .open(&mut storage)
        .context("opening the hollow programs")?;
    let mut skel = open.load().context("loading the hollow programs")?;
    skel.attach().context("attaching the hollow programs")?;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
