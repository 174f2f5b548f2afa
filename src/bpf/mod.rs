//! The eBPF probe: its C program (`causeway.bpf.c`), the record header both
//! sides agree on (`causeway.h`) and the loader. Raw records are decoded
//! here into [`Message`]s; nothing outside this module sees an FFI type.

mod decode;
pub mod hollow;
mod inflight;
mod mapped;
mod merge;
mod owners;
pub mod pipeline;
mod sweep;
pub mod synth;
mod unclaimed;

/// A skeleton build.rs generated with libbpf-cargo, its lints off.
macro_rules! skeleton {
    ($name:ident, $file:literal) => {
        #[allow(
            clippy::all,
            clippy::pedantic,
            dead_code,
            unused_imports,
            unsafe_op_in_unsafe_fn,
            non_camel_case_types,
            non_snake_case
        )]
        mod $name {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}

skeleton!(skel, "causeway.skel.rs");
skeleton!(hollow_skel, "hollow.skel.rs");

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::{Receiver, Sender};
use libbpf_rs::libbpf_sys;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType, RingBufferBuilder};
use std::os::fd::{AsFd, AsRawFd};

pub use decode::{ARGS_LEN, DecodeError, decode, split_args};
pub use owners::Owners;
use pipeline::Pipeline;
use sweep::Sweeper;

use crate::cgroups::Cgroups;
use crate::event::{Batch, Event, EventKind, Message, NetKind};
use crate::seed::sockets::netns;
use skel::CausewaySkelBuilder;

/// How long the consumer sleeps between takes from the ring buffers: about
/// the longest a record waits there, and how often the stop flag is
/// checked. Each CPU's ring buffer (4 MiB or more) holds far more than the
/// busiest CPU writes in that time.
const POLL_INTERVAL: Duration = Duration::from_millis(30);
/// A take of at least this many records means the consumer is behind: it
/// takes again at once instead of sleeping.
const BEHIND: i32 = 16_384;
/// How often the lost-record counter is read.
const LOST_INTERVAL: Duration = Duration::from_millis(200);
/// The most messages in one batch: a poll that takes more from the ring
/// buffer sends several batches.
pub const MAX_BATCH: usize = 2048;
/// Emptied batches kept for the probe to fill again (see [`Spares`]).
const SPARE_BATCHES: usize = 4;

/// Counters the probe thread keeps; readable from any thread.
#[derive(Default, Debug)]
pub struct ProbeStats {
    /// Records taken from the ring buffer.
    pub received: AtomicU64,
    /// Records the kernel could not reserve (ring buffer full), and runs
    /// of the probe's programs the kernel skipped (see [`skipped_runs`]).
    pub lost: AtomicU64,
    /// Records that did not decode.
    pub malformed: AtomicU64,
}

/// What the probe could load on this kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Connections are observed (needs Linux 6.3 or later).
    pub network: bool,
    /// Exits come from the kernel's own "thread group died" flag (Linux
    /// 6.16 or later); otherwise from the live-thread count, where two
    /// threads exiting at once can report the exit twice.
    pub exact_exit: bool,
    /// The OOM killer's victims are named as such (Linux 6.8 or later).
    pub oom_killer: bool,
    /// Why a fuller variant did not load, when one did not.
    pub unavailable: Option<String>,
}

impl Features {
    /// A sentence for the user when something is missing, else `None`.
    pub fn warning(&self) -> Option<String> {
        (!self.network).then(|| {
            format!(
                "network connections and signals are not observed on this kernel ({})",
                self.unavailable
                    .as_deref()
                    .unwrap_or("the network programs did not load")
            )
        })
    }
}

/// How to start the probe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Use the exit program for kernels before 6.16 even where the newer one
    /// loads (to exercise the fallback on a new kernel).
    pub force_exit_compat: bool,
    /// Leave the network programs out.
    pub no_network: bool,
    /// List the TCP sockets that exist once the probe is attached and send
    /// them first, as [`Message::Socket`]s, so that their closes are
    /// reported too.
    pub list_sockets: bool,
}

/// A running probe. Dropping it stops it.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
    stats: Arc<ProbeStats>,
    features: Features,
    spares: Spares,
}

/// Where emptied batches go back to the probe, to be filled again instead
/// of allocating new ones (a batch is a few hundred KiB: the allocator
/// maps fresh pages for each, and the kernel faults every one of them in
/// and zeroes it). Any thread may hold one. Optional: a batch not handed
/// back is simply freed, as is one handed back when enough are waiting.
#[derive(Clone, Debug)]
pub struct Spares(Sender<Batch>);

impl Spares {
    /// A `Spares` and the other end of its channel, as the probe holds it.
    #[cfg(test)]
    pub(crate) fn channel(capacity: usize) -> (Spares, Receiver<Batch>) {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        (Spares(tx), rx)
    }

    /// Hands `batch` back, emptied.
    pub fn recycle(&self, mut batch: Batch) {
        batch.clear();
        let _ = self.0.try_send(batch);
    }
}

impl Probe {
    /// Loads and attaches the probe on its own thread and returns once it is
    /// attached (or failed to), and with [`ProbeOptions::list_sockets`],
    /// once the sockets open then are listed. Every record is sent on `tx` as a
    /// [`Message`], in batches of what one poll of the ring buffer took (at
    /// most [`MAX_BATCH`]); the send blocks when the channel is full, and
    /// what the kernel then cannot deliver is counted and sent as
    /// `Message::Lost`, alone in its batch.
    pub fn start(tx: Sender<Batch>) -> Result<Probe> {
        Self::start_with(tx, ProbeOptions::default())
    }

    /// [`Probe::start`] with options. The fullest set of programs that
    /// loads on this kernel is used; see [`Probe::features`].
    pub fn start_with(tx: Sender<Batch>, options: ProbeOptions) -> Result<Probe> {
        check_can_load()?;
        crate::logging::route_libbpf();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ProbeStats::default());
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<Features>>(1);
        let (spares, spares_rx) = crossbeam_channel::bounded(SPARE_BATCHES);
        let thread = {
            let stop = Arc::clone(&stop);
            let stats = Arc::clone(&stats);
            let out = Out {
                tx,
                spares: spares_rx,
            };
            std::thread::Builder::new()
                .name("causeway-probe".into())
                .spawn(move || run(&out, options, &stop, &stats, &ready_tx))
                .context("starting the probe thread")?
        };
        match ready_rx.recv() {
            Ok(Ok(features)) => {
                if let Some(w) = features.warning() {
                    log::warn!("{w}");
                }
                Ok(Probe {
                    stop,
                    thread: Some(thread),
                    stats,
                    features,
                    spares: Spares(spares),
                })
            }
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(match thread.join() {
                Ok(Err(e)) => e,
                _ => anyhow!("the probe thread died while loading"),
            }),
        }
    }

    /// Asks the probe to stop without waiting: it drains the ring buffer
    /// into the channel, then drops its sender. Keep receiving until the
    /// channel disconnects, then call [`Probe::stop`].
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    pub fn stats(&self) -> &Arc<ProbeStats> {
        &self.stats
    }

    /// Hands a batch that has been read back to the probe (see
    /// [`Spares`]).
    pub fn recycle(&self, batch: Batch) {
        self.spares.recycle(batch);
    }

    /// Where batches read on another thread go back (see [`Spares`]).
    pub fn spares(&self) -> &Spares {
        &self.spares
    }

    /// What loaded on this kernel.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// Stops polling after draining what the ring buffer holds, detaches,
    /// and reports the probe thread's error if it had one.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => bail!("the probe thread panicked"),
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// What loading the probe needs (privileges, the host's PID namespace,
/// the kernel's BTF), each refused in one sentence. `record` and `live
/// --record` ask before they create their journal: a refused start
/// leaves no file behind, and as nobody writing where it may not, the
/// privileges are what is said, not the file's `Permission denied`.
pub fn check_can_load() -> Result<()> {
    check_privileges()?;
    check_pid_namespace()?;
    check_btf()
}

/// Fails with one sentence when this process cannot load BPF programs.
pub fn check_privileges() -> Result<()> {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| eff & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    bail!(
        "loading the eBPF probe needs root (or CAP_BPF and CAP_PERFMON); \
         run it as root, e.g. `sudo causeway`, or open a recorded journal with `causeway replay FILE`"
    )
}

/// Where the kernel publishes its own type information (BTF).
const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The probe's programs attach by the kernel's BTF (`tp_btf`) and read
/// its structures by it (CO-RE): a kernel without it cannot run them, and
/// libbpf would say only that loading failed.
pub fn check_btf() -> Result<()> {
    match std::fs::metadata(KERNEL_BTF) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(()),
        Ok(_) => bail!(
            "{KERNEL_BTF} (the kernel's type information, BTF) is empty or not a file; \
             the probe needs a kernel built with CONFIG_DEBUG_INFO_BTF=y"
        ),
        Err(e) => bail!(
            "this kernel has no BTF type information ({KERNEL_BTF}: {e}); \
             the probe needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, as most distributions' kernels are"
        ),
    }
}

/// The inode number of the host's (the first) PID namespace:
/// `PROC_PID_INIT_INO`, the same on every kernel since 3.8.
const HOST_PID_NAMESPACE: u64 = 0xEFFF_FFFC;

/// The probe names processes by their pids in the host's PID namespace;
/// the /proc scan, the socket sweep and the usage sampler read /proc by
/// the pids of causeway's own. In a nested namespace (a container without
/// the host's pids) the two disagree about every process: the scan finds
/// causeway as pid 1 and the kernel's events name processes it never saw.
/// Refused rather than shown wrong.
pub fn check_pid_namespace() -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/self/ns/pid")
        .context("cannot tell which PID namespace causeway is in (/proc/self/ns/pid)")?;
    if ns.ino() == HOST_PID_NAMESPACE {
        return Ok(());
    }
    bail!(
        "the probe needs the host's PID namespace, and this is a nested one (a container's?) \
         whose pids are not the kernel's: run causeway on the host, or start its container with --pid=host"
    )
}

/// Where the probe thread's batches go, and come back from.
struct Out {
    tx: Sender<Batch>,
    /// Emptied batches handed back through [`Spares`].
    spares: Receiver<Batch>,
}

impl Out {
    /// Sends the messages gathered so far, if any, leaving an empty batch
    /// in their place. False when the receiver is gone.
    fn send(&self, batch: &mut Batch) -> bool {
        if batch.is_empty() {
            return true;
        }
        let next = self.spares.try_recv().unwrap_or_else(|_| {
            // The next poll most likely takes about as many.
            Vec::with_capacity(batch.len())
        });
        let full = std::mem::replace(batch, next);
        self.tx.send(full).is_ok()
    }
}

fn run(
    out: &Out,
    options: ProbeOptions,
    stop: &AtomicBool,
    stats: &ProbeStats,
    ready: &Sender<Result<Features>>,
) -> Result<()> {
    let mut storages: Vec<MaybeUninit<libbpf_rs::OpenObject>> =
        std::iter::repeat_with(MaybeUninit::uninit)
            .take(VARIANTS.len())
            .collect();
    let mut first_error = None;
    let mut loaded = None;
    for (storage, &variant) in storages.iter_mut().zip(VARIANTS.iter()) {
        if (options.force_exit_compat && !variant.exit_compat)
            || (options.no_network && variant.network)
        {
            continue;
        }
        match load_and_attach(storage, variant) {
            Ok((skel, rings)) => {
                loaded = Some((skel, rings, variant));
                break;
            }
            Err(e) => {
                log::warn!("probe variant {variant:?} did not load: {e:#}");
                first_error.get_or_insert(e);
            }
        }
    }
    let Some((skel, rings, variant)) = loaded else {
        let e = first_error.unwrap_or_else(|| anyhow!("no probe variant was tried"));
        let _ = ready.send(Err(e));
        return Ok(());
    };
    let features = Features {
        network: variant.network,
        exact_exit: !variant.exit_compat,
        oom_killer: variant.oom,
        unavailable: first_error.map(|e| format!("{e:#}")),
    };

    // Records taken by the current read, added to the stats after it.
    let received = Cell::new(0u64);
    let pipeline = RefCell::new(Pipeline::new(rings.len()));
    let take = |ring: usize, data: &[u8]| -> i32 {
        received.set(received.get() + 1);
        if let Err(e) = pipeline.borrow_mut().take(ring, data) {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
            log::warn!("dropped a probe record: {e}");
        }
        0
    };
    // libbpf maps each ring twice over, plus two pages: when the address
    // space is too small for that, its error comes back garbled
    // (`Unknown error -12`, and a panic in libbpf-rs's debug builds).
    let two_pages = 2 * 4096;
    let each = 2 * ring_size(rings.len()) as usize + two_pages;
    crate::memory::room_for(each * rings.len()).context("setting up the ring buffer")?;
    let mut builder = RingBufferBuilder::new();
    for (i, ring) in rings.iter().enumerate() {
        let take = &take;
        builder
            .add(ring, move |data: &[u8]| take(i, data))
            .context("setting up the ring buffer")?;
    }
    let ring = builder.build().context("setting up the ring buffer")?;
    let attached = crate::journal::boot_clock_ns().context("reading the boot clock")?;
    let network = features.network;
    // Each cgroup named before the first message of a process in it.
    let mut cgroups = Cgroups::new();

    // The accepted sockets no process has used yet (see unclaimed.rs).
    let table = if network {
        unclaimed::Table::map(&skel.maps.unclaimed)
            .map_err(|e| log::warn!("connections accepted and left unused will not show: {e:#}"))
            .ok()
    } else {
        None
    };
    // The connects in flight (see inflight.rs).
    let connects = if network {
        inflight::Table::map(&skel.maps.connecting, &skel.maps.connector)
            .map_err(|e| log::warn!("connects in flight will not show until they end: {e:#}"))
            .ok()
    } else {
        None
    };
    if options.list_sockets && network {
        // Before any record is released: a listed socket's close may
        // already be in the rings.
        let listed = crate::journal::boot_clock_ns()
            .and_then(|seen| crate::seed::sockets::scan(attached, seen).map_err(Into::into));
        match listed {
            Ok(scan) => {
                match table.as_ref().map(|t| t.mark(&scan.waiting)) {
                    Some(0) => {}
                    Some(n) => log::warn!(
                        "{n} connections waiting to be accepted will not show when accepted: \
                         their slots were taken"
                    ),
                    None => {}
                }
                let sockets = scan.sockets;
                for s in &sockets {
                    pipeline.borrow_mut().owners().listed(s);
                }
                let mut listed = Batch::with_capacity(sockets.len());
                for s in sockets {
                    let msg = Message::Socket(s);
                    cgroups.announce(&msg, &mut listed);
                    listed.push(msg);
                }
                if !listed.is_empty() && out.tx.send(listed).is_err() {
                    return Ok(());
                }
            }
            Err(e) => {
                log::warn!("the TCP sockets open before the probe attached are not shown: {e:#}")
            }
        }
    }
    // Ready once the listing is done: what the caller does next cannot
    // race it.
    let _ = ready.send(Ok(features));
    let mut batch = Batch::new();
    let mut sweeper = Sweeper::new();
    let mut unused = unclaimed::Unused::default();
    let mut in_flight = inflight::InFlight::new();
    // Sends what was released up to `watermark`, its closes attributed, and
    // with `sweep` the sockets a finished sweep found gone, in batches
    // (and starts the next sweep when it is due); false when the receiver
    // is gone.
    let mut release = |watermark: u64, sweep: bool| -> bool {
        stats.received.fetch_add(received.take(), Ordering::Relaxed);
        let mut connected = true;
        let mut pipeline = pipeline.borrow_mut();
        pipeline.release(watermark, |msg| {
            if connected {
                cgroups.announce(&msg, &mut batch);
                batch.push(msg);
                if batch.len() >= MAX_BATCH {
                    connected = out.send(&mut batch);
                }
            }
        });
        let owners = pipeline.owners();
        if connected && sweep {
            // Stamped with the watermark: after every line released, before
            // every line to come.
            let connecting = connects
                .as_ref()
                .map_or_else(Vec::new, |t| in_flight.step(t, owners, watermark));
            let finished = sweeper.finish(owners, watermark, table.as_ref());
            for msg in finished
                .into_iter()
                .chain(connecting.into_iter().map(Message::Socket))
            {
                cgroups.announce(&msg, &mut batch);
                batch.push(msg);
            }
            let due = table
                .as_ref()
                .map_or_else(Vec::new, |t| unused.due(t, watermark));
            sweeper.maybe_start(owners, due);
        }
        connected && out.send(&mut batch)
    };
    let mut lost_seen = 0u64;
    let mut last_lost_check = Instant::now();
    // Valid while `skel` lives.
    let programs: Vec<i32> = skel
        .object()
        .progs()
        .filter(|p| p.autoload())
        .map(|p| p.as_fd().as_raw_fd())
        .collect();
    let report_lost = |seen: &mut u64| -> Result<()> {
        let total = read_lost(&skel.maps.lost)? + skipped_runs(&programs);
        if total > *seen {
            let count = total - *seen;
            *seen = total;
            stats.lost.store(total, Ordering::Relaxed);
            let ktime = crate::journal::boot_clock_ns().unwrap_or(0);
            // A gone receiver is noticed by the next batch's send.
            let _ = out.tx.send(vec![Message::Lost { ktime, count }]);
        }
        Ok(())
    };
    loop {
        if stop.load(Ordering::Acquire) {
            // Deliver what is already in the rings before detaching.
            let _ = ring.consume();
            if release(u64::MAX, false) {
                report_lost(&mut lost_seen)?;
            }
            return Ok(());
        }
        // The probe never wakes us (a wakeup per record costs the traced
        // code an interrupt): take what accumulated, then sleep a little
        // unless we are falling behind.
        let watermark = crate::journal::boot_clock_ns().context("reading the boot clock")?;
        let taken = ring.consume_raw();
        if !release(watermark, network) {
            return Ok(());
        }
        if taken < 0 && taken != -libc::EINTR {
            return Err(std::io::Error::from_raw_os_error(-taken))
                .context("reading the ring buffer");
        }
        if taken < BEHIND {
            std::thread::sleep(POLL_INTERVAL);
        }
        if last_lost_check.elapsed() >= LOST_INTERVAL {
            last_lost_check = Instant::now();
            report_lost(&mut lost_seen)?;
        }
    }
}

/// A `listen()` on a socket never bound is traced before the kernel picks
/// its port: the listener's port is then read from the kernel's list of
/// the sockets of its network namespace, by cookie (one netlink dump; such
/// listeners are rare). It stays 0 if the listener is gone by then.
fn bind_listener(ev: &mut Event) {
    let EventKind::Net(n) = &mut ev.kind else {
        return;
    };
    if n.kind != NetKind::Listen || n.local.port() != 0 || n.cookie == 0 {
        return;
    }
    // In its own network namespace, entered through the process that
    // listened, unless that is ours.
    use crate::seed::sockets::{Wanted, list_tcp, list_tcp_in};
    let listed = match i32::try_from(ev.proc.pid) {
        Ok(pid) if netns("self") != Some(n.netns) => list_tcp_in(n.netns, pid, Wanted::Listening),
        _ => list_tcp(Wanted::Listening),
    };
    if let Some(s) = listed
        .unwrap_or_default()
        .iter()
        .find(|s| s.cookie == n.cookie)
    {
        n.local = s.local;
    }
}

/// Which of the probe's programs one load attempt enables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Variant {
    /// The exit program for kernels before 6.16, whose exit tracepoint does
    /// not say whether the thread group died.
    exit_compat: bool,
    /// The network programs and the signal program (Linux 6.3 or later).
    network: bool,
    /// The OOM killer's program (its tracepoint names the task since
    /// Linux 6.8).
    oom: bool,
}

/// Tried in order; the first that loads and attaches is used.
const VARIANTS: [Variant; 6] = [
    Variant {
        exit_compat: false,
        network: true,
        oom: true,
    },
    Variant {
        exit_compat: false,
        network: true,
        oom: false,
    },
    Variant {
        exit_compat: true,
        network: true,
        oom: true,
    },
    Variant {
        exit_compat: true,
        network: true,
        oom: false,
    },
    Variant {
        exit_compat: false,
        network: false,
        oom: false,
    },
    Variant {
        exit_compat: true,
        network: false,
        oom: false,
    },
];

/// The probe, attached, and its ring buffers (one per possible CPU).
type Loaded<'obj> = (skel::CausewaySkel<'obj>, Vec<MapHandle>);

/// Bytes of each CPU's ring buffer: 32 MiB in all, split over the CPUs, but
/// no less than 4 MiB each (a power of two, as the kernel requires).
fn ring_size(cpus: usize) -> u32 {
    const TOTAL: usize = 32 << 20;
    const MIN: usize = 4 << 20;
    let each = (TOTAL / cpus.max(1)).max(MIN).next_power_of_two();
    u32::try_from(each).unwrap_or(MIN as u32)
}

fn load_and_attach(
    storage: &mut MaybeUninit<libbpf_rs::OpenObject>,
    variant: Variant,
) -> Result<Loaded<'_>> {
    let mut rings = Vec::new();
    let mut open = CausewaySkelBuilder::default()
        .open(storage)
        .context("opening the eBPF probe")?;
    let cpus = libbpf_rs::num_possible_cpus().context("counting the CPUs")?;
    open.maps
        .rings
        .set_max_entries(u32::try_from(cpus).context("counting the CPUs")?)
        .context("sizing the ring buffers")?;
    let progs = &mut open.progs;
    progs.handle_exit.set_autoload(!variant.exit_compat);
    progs.handle_exit_compat.set_autoload(variant.exit_compat);
    progs.handle_oom.set_autoload(variant.oom);
    // The signal program reads through bpf_core_cast too (Linux 6.3).
    for prog in [
        &mut progs.handle_sock_state,
        &mut progs.handle_recv,
        &mut progs.handle_send,
        &mut progs.handle_signal,
    ] {
        prog.set_autoload(variant.network);
    }
    let mut skel = open
        .load()
        .map_err(|e| crate::logging::with_libbpf_detail(e.into()))
        .context("loading the eBPF probe into the kernel")?;
    let size = ring_size(cpus);
    let opts = libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as libbpf_sys::size_t,
        ..Default::default()
    };
    for cpu in 0..cpus as u32 {
        let ring = MapHandle::create(MapType::RingBuf, Some("cw_ring"), 0, 0, size, &opts)
            .context("creating a ring buffer")?;
        skel.maps
            .rings
            .update(
                &cpu.to_ne_bytes(),
                &ring.as_fd().as_raw_fd().to_ne_bytes(),
                MapFlags::ANY,
            )
            .context("installing a ring buffer")?;
        rings.push(ring);
    }
    skel.attach()
        .map_err(|e| crate::logging::with_libbpf_detail(e.into()))
        .context("attaching the eBPF probe to its tracepoints")?;
    Ok((skel, rings))
}

/// Runs of these programs the kernel skipped. The kernel never runs a
/// program on a CPU while it is already running there: when an interrupt
/// arrives during a run in process context and the softirq it triggers
/// hits the same tracepoint (a packet changing another socket's state),
/// that run is skipped and counted. Each may have been an event, so they
/// count as lost. (Rare: a run takes well under a microsecond.)
fn skipped_runs(programs: &[i32]) -> u64 {
    programs
        .iter()
        .map(|&fd| {
            let mut info = libbpf_sys::bpf_prog_info::default();
            let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
            // SAFETY: `fd` is a loaded program's, open while the skeleton
            // lives; `info` is a writable bpf_prog_info of `len` bytes, and
            // none of its pointer fields is set, so the kernel writes into
            // `info` only.
            let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
            if rc == 0 { info.recursion_misses } else { 0 }
        })
        .sum()
}

fn read_lost(map: &impl MapCore) -> Result<u64> {
    let values = map
        .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
        .context("reading the lost-record counter")?
        .unwrap_or_default();
    Ok(values
        .iter()
        .filter_map(|v| v.get(..8)?.try_into().ok().map(u64::from_ne_bytes))
        .sum())
}
