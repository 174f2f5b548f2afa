//! What `causeway record` spends on each probe record in user space, on
//! made-up records of the loopback churn (`bpf::synth::churn`): per cycle
//! a connect, an accept and two closes, on two rings. Not a timed test: it
//! prints figures.
//!
//!     cargo bench --bench record_path
//!
//! 1. Pipeline: decode, merge of the rings into time order, closes
//!    attributed (`bpf::pipeline::Pipeline`), in takes of 4,096 records,
//!    into batches of `MAX_BATCH`.
//! 2. Journal: those batches written as journal lines to a sink.
//! 3. Both, on one thread.
//! 4. Both as `record` runs them: the pipeline on one thread, the journal
//!    on another, batches crossing a channel.
//! 5. The view's share (what `causeway` without `record` does with each
//!    record after the pipeline): the batches applied to the causal tree
//!    alone, and to the view (`ui::App::apply`, tree and row index, settled
//!    after each batch).
//!
//! Each is run 15 times; the median and fastest ns per record are printed.

use std::io;
use std::time::Instant;

use causeway::bpf::pipeline::Pipeline;
use causeway::bpf::{MAX_BATCH, synth};
use causeway::event::Batch;
use causeway::graph::CausalTree;
use causeway::journal::{Header, Writer};
use causeway::ui::{App, SourceKind, users::Users};

const CYCLES: u64 = 200_000;
const TAKE: usize = 4096;
const ROUNDS: usize = 15;

fn header() -> Header {
    Header {
        version: 1,
        hostname: "bench".into(),
        kernel: "6.18".into(),
        boot_time_ns: 1_795_000_000_000_000_000,
        causeway: "bench".into(),
        continued: false,
        run: None,
        file: None,
    }
}

/// Runs the pipeline over `recs`, handing each full batch to `sink`.
fn pipeline(recs: &synth::Records, sink: impl FnMut(Batch)) {
    pipeline_into(recs, || None, sink);
}

/// [`pipeline`], filling the emptied batches `spare` gives back first.
fn pipeline_into(
    recs: &synth::Records,
    mut spare: impl FnMut() -> Option<Batch>,
    mut sink: impl FnMut(Batch),
) {
    let mut p = Pipeline::new(2);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut taken = 0;
    for (ring, data) in recs.iter() {
        p.take(ring, data).expect("decodes");
        taken += 1;
        if taken % TAKE == 0 {
            // As a take would: the newest cycle waits for the next.
            let watermark = synth::CHURN_START + (taken as u64 / 4).saturating_sub(1) * 1_000;
            p.release(watermark, |m| {
                batch.push(m);
                if batch.len() >= MAX_BATCH {
                    let next = spare().unwrap_or_else(|| Vec::with_capacity(MAX_BATCH));
                    sink(std::mem::replace(&mut batch, next));
                }
            });
        }
    }
    p.release(u64::MAX, |m| batch.push(m));
    sink(batch);
}

/// "median (fastest)".
fn median(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!("{:6.1} ({:5.1})", v[v.len() / 2], v[0])
}

fn main() {
    let recs = synth::churn(CYCLES, 4242);
    let n = recs.len() as f64;
    let mut batches = Vec::new();
    pipeline(&recs, |b| batches.push(b));
    let released: usize = batches.iter().map(Vec::len).sum();
    assert_eq!(released, recs.len(), "every record released");
    let (mut pipe, mut journal, mut both, mut threaded) = (vec![], vec![], vec![], vec![]);
    let (mut tree, mut view) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let mut count = 0;
        pipeline(&recs, |b| count += b.len());
        pipe.push(t.elapsed().as_nanos() as f64 / n);
        assert_eq!(count, recs.len());

        let mut w = Writer::new(io::sink(), &header()).expect("header");
        let t = Instant::now();
        for b in &batches {
            w.write_batch(b).expect("write");
        }
        journal.push(t.elapsed().as_nanos() as f64 / n);

        let mut w = Writer::new(io::sink(), &header()).expect("header");
        let t = Instant::now();
        pipeline(&recs, |b| w.write_batch(&b).expect("write"));
        both.push(t.elapsed().as_nanos() as f64 / n);

        // Emptied batches go back to be filled again, as `Probe::recycle`
        // does.
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(16);
        let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Batch>(4);
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut w = Writer::new(io::sink(), &header()).expect("header");
                for mut b in rx {
                    w.write_batch(&b).expect("write");
                    b.clear();
                    let _ = spare_tx.try_send(b);
                }
            });
            pipeline_into(
                &recs,
                || spare_rx.try_recv().ok(),
                |b| tx.send(b).expect("send"),
            );
            drop(tx);
        });
        threaded.push(t.elapsed().as_nanos() as f64 / n);

        let mut t_tree = CausalTree::new();
        let t = Instant::now();
        for b in &batches {
            for m in b {
                t_tree.apply(m);
            }
        }
        tree.push(t.elapsed().as_nanos() as f64 / n);
        assert_eq!(t_tree.conns().len() as u64, 2 * CYCLES);

        let mut app = App::new(
            CausalTree::new(),
            SourceKind::Live,
            header(),
            Users::default(),
        );
        let t = Instant::now();
        for b in &batches {
            for m in b {
                app.apply(m);
            }
            app.settle();
        }
        view.push(t.elapsed().as_nanos() as f64 / n);
    }
    println!(
        "record path, {} records ({CYCLES} churn cycles), ns per record, median (fastest) of {ROUNDS} rounds:",
        recs.len()
    );
    println!("  pipeline (decode, merge, attribute): {}", median(pipe));
    println!("  journal lines:                       {}", median(journal));
    println!("  both, one thread:                    {}", median(both));
    println!(
        "  both, two threads (as record runs):  {} (wall)",
        median(threaded)
    );
    println!("  the view's share, after the pipeline:");
    println!("    causal tree:                       {}", median(tree));
    println!("    tree and row index (App::apply):   {}", median(view));
}
