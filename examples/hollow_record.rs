//! A stand-in for `causeway record --output /dev/null` for
//! `bench/net_floor.sh`: the probe without its network programs, and in
//! their place programs on the same tracepoints that return at once (see
//! `src/bpf/hollow.bpf.c`). What attaching programs there costs the traced
//! code by itself, with nothing to record. Needs root. Ignores its
//! arguments; stops on SIGINT or SIGTERM.

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use causeway::bpf::ProbeOptions;
use causeway::live::Source;

fn main() -> Result<()> {
    let stop = causeway::record::stop_on_signals()?;
    let src = Source::start_with(ProbeOptions {
        no_network: true,
        ..ProbeOptions::default()
    })?;
    let hollow = std::thread::scope(|s| {
        let drain = s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(batch) = src.events.recv_timeout(Duration::from_millis(100)) {
                    src.probe.recycle(batch);
                }
            }
        });
        let attached = causeway::bpf::hollow::attach_until(&stop);
        // Also when attaching failed: the drain then stops too.
        stop.store(true, Ordering::Relaxed);
        let _ = drain.join();
        attached
    });
    src.probe.request_stop();
    for batch in src.events.iter() {
        src.probe.recycle(batch);
    }
    src.probe.stop()?;
    hollow
}
