//! The live feed: the probe attached, /proc scanned, and every message in
//! order on one channel (seeds first, then events), optionally written to a
//! journal as it passes. Channels carry messages in [`Batch`]es, so one
//! channel operation moves what one poll of the probe took.
//!
//! Attach first, then scan: a process born during the scan is seen by the
//! probe and may also be read from /proc; the tree merges the two by
//! identity, and the scan leaves out what started after the probe attached.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow};
use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};

use crate::bpf::{Features, MAX_BATCH, Probe, ProbeOptions, ProbeStats, Spares};
use crate::event::{Batch, Message, SeedProcess};
use crate::journal::{Header, Writer, boot_clock_ns};

/// Capacity of the channels between the probe and its consumers, in
/// batches (each at most [`MAX_BATCH`] messages, so at most 32,768
/// messages wait in one channel). A full channel makes the probe wait, and
/// the kernel then counts lost records; nothing is dropped silently.
pub const CHANNEL_CAPACITY: usize = 16;

/// The probe attached and /proc scanned: what a consumer of the host needs.
pub struct Source {
    pub header: Header,
    /// Events from the probe, from the moment it attached, in batches.
    /// Declared before `probe` so that dropping a `Source` disconnects the
    /// channel first: a probe waiting on a full channel then stops instead
    /// of waiting forever.
    pub events: Receiver<Batch>,
    pub probe: Probe,
    /// Processes that existed before the probe attached.
    pub seeds: Vec<SeedProcess>,
}

impl Source {
    /// Attaches the probe, then scans /proc.
    pub fn start() -> Result<Source> {
        Self::start_with(ProbeOptions::default())
    }

    /// [`Source::start`] with probe options.
    pub fn start_with(options: ProbeOptions) -> Result<Source> {
        let header = Header::for_this_host()?;
        let (tx, events) = bounded(CHANNEL_CAPACITY);
        let options = ProbeOptions {
            list_sockets: true,
            ..options
        };
        let probe = Probe::start_with(tx, options)?;
        let attached = boot_clock_ns()?;
        let seeds = crate::seed::scan(attached);
        Ok(Source {
            header,
            probe,
            seeds,
            events,
        })
    }
}

/// `seeds` as messages, each cgroup named (a [`Message::Cgroup`]) before
/// the first process in it.
pub fn seed_messages(seeds: impl IntoIterator<Item = SeedProcess>) -> Vec<Message> {
    let mut cgroups = crate::cgroups::Cgroups::new();
    let mut out = Vec::new();
    for seed in seeds {
        let msg = Message::Seed(seed);
        cgroups.announce(&msg, &mut out);
        out.push(msg);
    }
    out
}

/// A live source for the view: seeds, then events, on one channel.
pub struct LiveFeed {
    rx: Receiver<Batch>,
    header: Header,
    features: Features,
    stats: Arc<ProbeStats>,
    spares: Spares,
    probe: Option<Probe>,
    forward: Option<JoinHandle<Result<()>>>,
}

impl LiveFeed {
    /// Attaches the probe, scans /proc and starts forwarding. With `record`,
    /// every message is also written to a journal at that path.
    pub fn start(record: Option<&Path>) -> Result<LiveFeed> {
        let journal = record
            .map(|p| {
                crate::journal::create(p)
                    .map(BufWriter::new)
                    .with_context(|| format!("cannot create the journal {}", p.display()))
            })
            .transpose()?;
        let src = Source::start()?;
        let journal = journal
            .map(|w| Writer::new(w, &src.header))
            .transpose()
            .context("writing the journal header")?;
        let (tx, rx) = bounded(CHANNEL_CAPACITY);
        let Source {
            header,
            probe,
            seeds,
            events,
        } = src;
        let forward = std::thread::Builder::new()
            .name("causeway-feed".into())
            .spawn(move || forward(seeds, &events, &tx, journal))
            .context("starting the feed thread")?;
        Ok(LiveFeed {
            rx,
            header,
            features: probe.features().clone(),
            stats: Arc::clone(probe.stats()),
            spares: probe.spares().clone(),
            probe: Some(probe),
            forward: Some(forward),
        })
    }

    /// Seeds first, then live events, in order, in batches. Disconnected
    /// once the probe has stopped and everything was delivered.
    pub fn receiver(&self) -> &Receiver<Batch> {
        &self.rx
    }

    /// Where batches read from [`LiveFeed::receiver`] go back to the probe
    /// (see [`Spares`]).
    pub fn spares(&self) -> &Spares {
        &self.spares
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What the probe could load on this kernel.
    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn stats(&self) -> &Arc<ProbeStats> {
        &self.stats
    }

    /// Stops the probe, flushes the journal, and reports the first error.
    pub fn stop(mut self) -> Result<()> {
        // Nobody reads any more: the feed thread keeps draining the probe
        // into the journal, so the probe never waits on a full channel.
        let (_, dead) = bounded(0);
        drop(std::mem::replace(&mut self.rx, dead));
        let probe = self.probe.take().map_or(Ok(()), Probe::stop);
        let forward = match self.forward.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(anyhow!("the feed thread panicked")),
        };
        probe.and(forward)
    }
}

/// Seeds then events to `tx`, teeing into the journal; flushes the journal
/// whenever the probe has nothing more for the moment.
fn forward(
    seeds: Vec<SeedProcess>,
    events: &Receiver<Batch>,
    tx: &Sender<Batch>,
    mut journal: Option<Writer<BufWriter<File>>>,
) -> Result<()> {
    let mut viewer = true;
    let mut pass = |batch: Batch, journal: &mut Option<Writer<BufWriter<File>>>| -> Result<()> {
        if let Some(w) = journal.as_mut() {
            w.write_batch(&batch).context("writing the journal")?;
        }
        if viewer && tx.send(batch).is_err() {
            viewer = false;
        }
        Ok(())
    };
    let mut seeds = seed_messages(seeds).into_iter().peekable();
    while seeds.peek().is_some() {
        pass(seeds.by_ref().take(MAX_BATCH).collect(), &mut journal)?;
    }
    loop {
        let batch = match events.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => {
                if let Some(w) = journal.as_mut() {
                    w.flush().context("writing the journal")?;
                }
                match events.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        pass(batch, &mut journal)?;
    }
    if let Some(mut w) = journal {
        w.flush().context("writing the journal")?;
        w.into_inner()
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .context("writing the journal")?;
    }
    Ok(())
}
