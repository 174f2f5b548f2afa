//! The probe's `unclaimed` table of accepted sockets no process has used
//! yet. Connections already waiting in a listener's accept queue when the
//! probe starts are marked in it, so that the process that accepts and
//! first uses one is reported as accepting it, as for a connection that
//! arrives later; and it is read every few seconds for connections left
//! unused ([`Unused`]). The table is mapped into this process,
//! and each cookie takes a slot with the same compare-and-swap the probe's
//! programs use (`claim_slot` in causeway.bpf.c), so a program marking or
//! freeing a slot at the same moment is never overwritten.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use libbpf_rs::MapCore;

use super::mapped::Mapping;

/// As `SLOTS` and `ACCEPT_WINDOW` in causeway.bpf.c.
const SLOTS: u64 = 16_384;
const ACCEPT_WINDOW: usize = 8;
const TABLE: usize = SLOTS as usize + ACCEPT_WINDOW - 1;

/// The probe's `unclaimed` table, mapped into this process for as long as
/// this lives.
pub(super) struct Table(Mapping);

impl Table {
    /// Maps `map` (the probe's `unclaimed` table).
    pub(super) fn map(map: &impl MapCore) -> Result<Table> {
        Mapping::map(map, TABLE, 8, "unclaimed sockets").map(Table)
    }

    fn slots(&self) -> &[AtomicU64] {
        self.0.words()
    }

    /// Marks each of `cookies`. Returns how many found every slot of their
    /// window taken, and were left unmarked (a program would take the
    /// first slot and count the socket in it lost: at start, leaving the
    /// newcomer out is the smaller loss).
    pub(super) fn mark(&self, cookies: &[u64]) -> usize {
        let table = self.slots();
        cookies.iter().filter(|&&c| !claim(table, c)).count()
    }

    /// The sockets in the table now: accepted (or waiting to be) and not
    /// yet used by any process.
    pub(super) fn cookies(&self) -> HashSet<u64> {
        cookies_in(self.slots())
    }
}

fn cookies_in(table: &[AtomicU64]) -> HashSet<u64> {
    table
        .iter()
        .map(|slot| slot.load(Ordering::Relaxed))
        .filter(|&c| c != 0)
        .collect()
}

/// How long an accepted socket stays unused before it is looked for in
/// the kernel's list of sockets and shown (see [`Unused`]).
pub(super) const UNUSED_AFTER: Duration = Duration::from_secs(2);

/// Accepted sockets that no process has used for a while. The probe
/// reports an accept at the socket's first use (see causeway.bpf.c), so a
/// server that accepts and then never reads, or never accepts (its
/// accept queue fills: a hung worker), would leave its connections
/// unseen until they end. The table is read every [`UNUSED_AFTER`]; a
/// socket found in two readings in a row is due to be shown (through the
/// sweep's listing, which gives its addresses), once.
#[derive(Default)]
pub(super) struct Unused {
    last: Option<Instant>,
    /// What the last reading found, with when it was first found
    /// (boot-time ns).
    seen: HashMap<u64, u64>,
    /// Found in two readings in a row and handed on; forgotten once out of
    /// the table.
    shown: HashSet<u64>,
}

impl Unused {
    /// Reads `table` if a reading is due (`now`: boot-time ns); returns the
    /// sockets now due to be shown, with when each was first found.
    pub(super) fn due(&mut self, table: &Table, now: u64) -> Vec<(u64, u64)> {
        if self.last.is_some_and(|t| t.elapsed() < UNUSED_AFTER) {
            return Vec::new();
        }
        self.last = Some(Instant::now());
        self.read(table.cookies(), now)
    }

    fn read(&mut self, found: HashSet<u64>, now: u64) -> Vec<(u64, u64)> {
        self.shown.retain(|c| found.contains(c));
        let before = std::mem::take(&mut self.seen);
        let mut due = Vec::new();
        for cookie in found {
            let since = before.get(&cookie).copied();
            self.seen.insert(cookie, since.unwrap_or(now));
            if let Some(since) = since {
                if self.shown.insert(cookie) {
                    due.push((cookie, since));
                }
            }
        }
        due
    }
}

/// Takes the first slot of `cookie`'s window that is free, or finds the
/// one already its own, as `claim_slot` does; false when the whole window
/// is taken by other sockets.
fn claim(table: &[AtomicU64], cookie: u64) -> bool {
    // Below SLOTS: the window ends within the table.
    let first = (cookie % SLOTS) as usize;
    table[first..first + ACCEPT_WINDOW].iter().any(|slot| {
        let v = slot.load(Ordering::Relaxed);
        v == cookie
            || (v == 0
                && slot
                    .compare_exchange(0, cookie, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<AtomicU64> {
        (0..TABLE).map(|_| AtomicU64::new(0)).collect()
    }

    fn values(t: &[AtomicU64], from: usize, n: usize) -> Vec<u64> {
        t[from..from + n]
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .collect()
    }

    #[test]
    fn a_socket_in_two_readings_in_a_row_is_due_once() {
        let set = |c: &[u64]| c.iter().copied().collect::<HashSet<u64>>();
        let mut u = Unused::default();
        assert!(u.read(set(&[1, 2]), 100).is_empty(), "first found");
        // 1 was used meanwhile; 2 is still unused, 3 is new.
        assert_eq!(u.read(set(&[2, 3]), 200), [(2, 100)]);
        assert_eq!(u.read(set(&[2, 3]), 300), [(3, 200)], "2 only once");
        // 2 leaves the table (used, or closed): it is forgotten.
        assert!(u.read(set(&[3]), 400).is_empty());
        assert!(!u.shown.contains(&2) && u.shown.contains(&3));
        let t = table();
        t[5].store(42, Ordering::Relaxed);
        assert_eq!(cookies_in(&t), set(&[42]));
    }

    #[test]
    fn a_cookie_takes_the_first_free_slot_of_its_window_once() {
        let t = table();
        let c = 3 * SLOTS + 100;
        t[100].store(7, Ordering::Relaxed);
        assert!(claim(&t, c));
        assert!(claim(&t, c), "already marked");
        assert_eq!(values(&t, 100, 3), [7, c, 0]);
    }

    #[test]
    fn a_full_window_leaves_the_cookie_unmarked_and_the_others_alone() {
        let t = table();
        let first = SLOTS as usize - 1;
        for (i, slot) in t[first..].iter().enumerate() {
            slot.store(1000 + i as u64, Ordering::Relaxed);
        }
        let before = values(&t, first, ACCEPT_WINDOW);
        assert!(!claim(&t, 5 * SLOTS + SLOTS - 1), "the last window, full");
        assert_eq!(values(&t, first, ACCEPT_WINDOW), before);
        t[first + ACCEPT_WINDOW - 1].store(0, Ordering::Relaxed);
        assert!(
            claim(&t, SLOTS - 1),
            "the window's last slot, at the table's end"
        );
        assert_eq!(t[TABLE - 1].load(Ordering::Relaxed), SLOTS - 1);
    }
}
