//! Bounding the tree's processes. A live view left running on a busy host
//! (a build farm forking thousands of processes a second) would otherwise
//! grow by megabytes a second. Once the tree holds [`MAX_PROCS`]
//! processes, it forgets exited ones, those whose whole subtree ended
//! longest ago first, down to three quarters of the limit, with their
//! connections. Never forgotten: a live process, one with a connection
//! still open, an ancestor of either, and the process the view has pinned
//! (the selection) with its ancestors. Chains stay whole: a process is
//! forgotten only with all its descendants. Each kept parent counts the
//! children it lost ([`super::Node::forgotten_children`]); the journal
//! keeps everything.
//!
//! Forgetting renumbers the nodes that remain, in the same order:
//! [`CausalTree::node_generation`] changes and
//! [`CausalTree::renumbered`] maps each old id to its new one.

use std::cmp::Reverse;

use super::{CausalTree, NodeId, ParentLink};

/// The most processes a tree holds by default: under 100 MiB, at the
/// 0.75 KiB or so a process with a short command line takes with the
/// tree's indexes (`cargo bench --bench ui_frame`, process churn).
pub const MAX_PROCS: usize = 100_000;

#[derive(Debug)]
pub(super) struct ProcBound {
    limit: usize,
    /// How many processes make the next check: the limit, or more when
    /// the last check found too little it could forget (live processes).
    next_check: usize,
    generation: u64,
    /// By old id, the new id after the last forgetting; `None`: forgotten.
    renumbered: Vec<Option<NodeId>>,
    pinned: Option<NodeId>,
}

impl Default for ProcBound {
    fn default() -> Self {
        ProcBound {
            limit: MAX_PROCS,
            next_check: MAX_PROCS,
            generation: 0,
            renumbered: Vec::new(),
            pinned: None,
        }
    }
}

impl CausalTree {
    /// A tree that holds at most `procs` processes (see [`MAX_PROCS`]) and
    /// `conns` connections (see [`super::MAX_CONNS`]).
    pub fn with_limits(procs: usize, conns: usize) -> Self {
        let mut tree = Self::with_conn_limit(conns);
        tree.bound.limit = procs.max(1);
        tree.bound.next_check = tree.bound.limit;
        tree
    }

    /// Changes whenever processes were forgotten, which renumbers the
    /// rest: a [`NodeId`] held across a change may name another process
    /// (map it with [`CausalTree::renumbered`]).
    pub fn node_generation(&self) -> u64 {
        self.bound.generation
    }

    /// For the last forgetting: each old id's new id, `None` if forgotten.
    pub fn renumbered(&self) -> &[Option<NodeId>] {
        &self.bound.renumbered
    }

    /// Keeps `id` and its ancestors whatever the limit (the process the
    /// view shows); `None` pins nothing.
    pub fn pin(&mut self, id: Option<NodeId>) {
        self.bound.pinned = id;
    }

    /// Processes forgotten so far.
    pub fn forgotten(&self) -> u64 {
        self.stats.forgotten
    }

    /// After a message: forgets processes if the tree is over its limit.
    pub(super) fn bound_procs(&mut self) {
        if self.nodes.len() >= self.bound.next_check {
            self.forget_exited();
        }
    }

    /// The forest, children before their parents.
    fn post_order(&self) -> Vec<NodeId> {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<NodeId> = self.roots.iter().chain(&self.orphans).copied().collect();
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend_from_slice(&self.nodes[n.index()].children);
        }
        order.reverse();
        order
    }

    fn forget_exited(&mut self) {
        let n = self.nodes.len();
        let limit = self.bound.limit;
        let target = limit - limit / 4;
        let order = self.post_order();
        // What must stay, and when each subtree last saw a process end.
        let mut keep = vec![false; n];
        let mut last = vec![0u64; n];
        for &id in &order {
            let node = &self.nodes[id.index()];
            let mut k = node.is_alive() || node.conn_counts.open > 0;
            let mut l = node.exit_time.unwrap_or(u64::MAX);
            for &c in &node.children {
                k |= keep[c.index()];
                l = l.max(last[c.index()]);
            }
            keep[id.index()] = k;
            last[id.index()] = l;
        }
        if let Some(p) = self.bound.pinned.filter(|p| p.index() < n) {
            for a in self.ancestors(p) {
                keep[a.index()] = true;
            }
        }
        let mut candidates: Vec<usize> = (0..n).filter(|&i| !keep[i]).collect();
        let excess = n.saturating_sub(target).min(candidates.len());
        // The subtrees that ended longest ago; at equal times the later
        // started (children) first.
        let age = |&i: &usize| (last[i], Reverse(self.nodes[i].key.start), Reverse(i));
        if excess < candidates.len() {
            candidates.select_nth_unstable_by_key(excess, age);
            candidates.truncate(excess);
        }
        let mut forget = vec![false; n];
        for i in candidates {
            forget[i] = true;
        }
        // Only with all its children: children come first in `order`.
        for &id in &order {
            let i = id.index();
            if forget[i] && self.nodes[i].children.iter().any(|c| !forget[c.index()]) {
                forget[i] = false;
            }
        }
        let gone = forget.iter().filter(|&&f| f).count();
        self.bound.next_check = limit.max(n - gone + limit / 4);
        if gone > 0 {
            self.drop_nodes(&forget);
        }
    }

    /// Drops the nodes marked in `forget` and their connections, and
    /// renumbers the rest wherever the tree holds their ids.
    fn drop_nodes(&mut self, forget: &[bool]) {
        let conns: Vec<bool> = self
            .net_owners()
            .map(|owner| forget[owner.index()])
            .collect();
        if conns.iter().any(|&f| f) {
            self.renumber(&conns);
        }
        // Kept parents count what they lost.
        let lost_by: Vec<NodeId> = (0..forget.len())
            .filter(|&i| forget[i])
            .filter_map(|i| self.nodes[i].parent_id())
            .filter(|p| !forget[p.index()])
            .collect();
        for p in lost_by {
            self.nodes[p.index()].forgotten_children += 1;
        }
        self.stats.forgotten += forget.iter().filter(|&&f| f).count() as u64;
        let new_id: Vec<Option<NodeId>> = super::drop_marked(&mut self.nodes, forget)
            .into_iter()
            .map(|n| n.map(NodeId))
            .collect();
        let remap = |id: &mut NodeId| match new_id[id.index()] {
            Some(new) => {
                *id = new;
                true
            }
            None => false,
        };
        for node in &mut self.nodes {
            if let ParentLink::Known(p) = &mut node.causal_parent {
                // A kept node's parent is kept.
                remap(p);
            }
            node.children.retain_mut(remap);
        }
        self.roots.retain_mut(remap);
        self.orphans.retain_mut(remap);
        self.waiting.retain(|_, kids| {
            kids.retain_mut(remap);
            !kids.is_empty()
        });
        self.index.retain(|_, id| remap(id));
        // A pid reused within a tick: the index names the newest kept.
        let index = &mut self.index;
        self.same_tick.retain(|ident, all| {
            all.retain_mut(remap);
            if let Some(&newest) = all.last() {
                index.insert(*ident, newest);
            }
            all.len() > 1
        });
        self.remap_owners(|owner| {
            // A kept connection's owner is kept.
            remap(owner);
        });
        self.bound.pinned = self.bound.pinned.and_then(|p| new_id[p.index()]);
        self.bound.renumbered = new_id;
        self.bound.generation += 1;
    }
}
