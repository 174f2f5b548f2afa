//! A stand-in for `causeway record --output /dev/null` whose network
//! programs are attached but hollow (each returns at once): what attaching
//! them costs the traced code by itself, with nothing to record. Used by
//! `bench/net_floor.sh`; needs root. Ignores its arguments; stops on
//! SIGINT or SIGTERM.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use causeway::bpf::ProbeOptions;
use causeway::live::Source;

fn main() -> Result<()> {
    let stop = causeway::record::stop_on_signals()?;
    let src = Source::start_with(ProbeOptions {
        hollow_network: true,
        ..ProbeOptions::default()
    })?;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(batch) = src.events.recv_timeout(Duration::from_millis(100)) {
            src.probe.recycle(batch);
        }
    }
    src.probe.request_stop();
    for batch in src.events.iter() {
        src.probe.recycle(batch);
    }
    src.probe.stop()
}
