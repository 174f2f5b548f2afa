//! The probe writes each CPU's records to that CPU's ring buffer; this puts
//! them back into one time order.
//!
//! Each ring is in order of reservation, which is time order but for
//! records of programs that interrupted one another on one CPU, sub-µs
//! apart and never two steps of one process or one socket, so each ring's
//! order is kept as it is. One read of all the rings takes them one after
//! another, so a record read from a later ring can be later than records
//! an earlier ring only got after it was read. A read therefore releases
//! only records up to a watermark, the boot clock read just before it:
//! every record stamped before then was reserved before then. Later
//! records wait for the next read. What is released is merged by time, so
//! a process's fork comes before its child's exec even when the two ran on
//! different CPUs, and a connection's opening record before its close.

use crate::event::Message;

/// Records taken from each ring and not yet released: decoded, but kept as
/// the [`Message`]s they will be sent as (each move of one is a copy of a
/// couple of hundred bytes, on the path of every record: a record is moved
/// in when it is taken and out when it is released, no more).
pub(crate) struct Merge {
    rings: Vec<Vec<Message>>,
}

impl Merge {
    pub(crate) fn new(rings: usize) -> Merge {
        Merge {
            rings: (0..rings).map(|_| Vec::new()).collect(),
        }
    }

    /// A record read from `ring`, after those read from it before.
    pub(crate) fn push(&mut self, ring: usize, msg: Message) {
        self.rings[ring].push(msg);
    }

    /// Passes on, in time order, each ring's records up to the first one
    /// stamped after `watermark`; the rest wait. Ties go to the lower ring.
    pub(crate) fn release(&mut self, watermark: u64, mut out: impl FnMut(Message)) {
        let mut rings: Vec<_> = self
            .rings
            .iter_mut()
            .filter_map(|ring| {
                let cut = ring
                    .iter()
                    .position(|m| ktime(m) > watermark)
                    .unwrap_or(ring.len());
                (cut > 0).then(|| ring.drain(..cut))
            })
            .collect();
        // Few rings (one per CPU), most of them often empty: a scan for the
        // earliest head costs less than keeping a heap.
        loop {
            let mut next: Option<(u64, usize)> = None;
            for (i, ring) in rings.iter().enumerate() {
                if let Some(m) = ring.as_slice().first() {
                    let t = ktime(m);
                    if next.is_none_or(|(best, _)| t < best) {
                        next = Some((t, i));
                    }
                }
            }
            let Some((_, i)) = next else { break };
            if let Some(m) = rings[i].next() {
                out(m);
            }
        }
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.rings.iter().map(Vec::len).sum()
    }
}

/// When a record happened (boot clock).
fn ktime(m: &Message) -> u64 {
    match m {
        Message::Event(ev) => ev.ktime,
        Message::Lost { ktime, .. } => *ktime,
        Message::Gap(gap) => gap.stretch.to,
        Message::Seed(_) | Message::Socket(_) | Message::Cgroup { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, ProcKey};

    fn ev(ktime: u64, pid: u32) -> Message {
        Message::Event(Event {
            ktime,
            proc: ProcKey::new(pid, 1),
            tid: pid,
            parent: ProcKey::default(),
            uid: 0,
            gid: 0,
            cgroup: 0,
            comm: "t".into(),
            kind: EventKind::Fork,
        })
    }

    fn released(m: &mut Merge, watermark: u64) -> Vec<(u64, u32)> {
        let mut out = vec![];
        m.release(watermark, |m| match m {
            Message::Event(e) => out.push((e.ktime, e.proc.pid)),
            _ => unreachable!("only events pushed"),
        });
        out
    }

    #[test]
    fn rings_read_one_after_another_come_out_in_time_order() {
        let mut m = Merge::new(2);
        for t in [10, 30, 50] {
            m.push(0, ev(t, 1));
        }
        for t in [20, 40] {
            m.push(1, ev(t, 2));
        }
        assert_eq!(
            released(&mut m, 100),
            [(10, 1), (20, 2), (30, 1), (40, 2), (50, 1)]
        );
        assert_eq!(m.held(), 0);
    }

    #[test]
    fn records_after_the_watermark_wait_for_the_next_read() {
        let mut m = Merge::new(2);
        m.push(0, ev(10, 1));
        m.push(0, ev(60, 1));
        m.push(1, ev(20, 2));
        assert_eq!(released(&mut m, 50), [(10, 1), (20, 2)]);
        assert_eq!(m.held(), 1);
        // The next read brings a record of the other CPU from before the
        // one held back.
        m.push(1, ev(55, 2));
        m.push(1, ev(70, 2));
        assert_eq!(released(&mut m, 65), [(55, 2), (60, 1)]);
        assert_eq!(released(&mut m, u64::MAX), [(70, 2)]);
    }

    #[test]
    fn a_ring_keeps_its_own_order_and_ties_go_to_the_lower_ring() {
        let mut m = Merge::new(3);
        // A program interrupted on CPU 2 between its reservation and its
        // clock read: its record is stamped after the interrupting one's.
        m.push(2, ev(12, 3));
        m.push(2, ev(11, 4));
        m.push(1, ev(10, 2));
        m.push(0, ev(10, 1));
        assert_eq!(released(&mut m, 20), [(10, 1), (10, 2), (12, 3), (11, 4)]);
    }
}
