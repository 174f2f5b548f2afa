//! The rows the tree pane can show: folds, and an index of how many rows
//! each subtree takes, kept up to date as processes arrive.
//!
//! The tree is shown as a forest: the roots (init, kthreadd, ...) at the
//! top level, then one "unknown parent" marker row whose children are the
//! processes whose parent was never seen. Every node keeps the number of
//! rows its subtree takes when shown (itself, plus its children's counts
//! when it is expanded). A new node or a fold changes the counts along one
//! ancestor chain only, so finding row *i*, or the row of a process, walks
//! one path from the top and never the whole tree. Drawing a frame visits
//! the rows it shows and nothing else.

use std::collections::HashMap;

use crate::graph::{CausalTree, NodeId, ParentLink};

/// One row of the tree pane.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Item {
    Node(NodeId),
    /// The "unknown parent" marker; its children are the tree's orphans.
    Orphans,
}

/// A list of siblings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum List {
    /// The roots, then the marker (when there are orphans).
    Top,
    Orphans,
    Children(NodeId),
}

/// Fold state and subtree row counts, parallel to a [`CausalTree`].
#[derive(Clone, Debug, Default)]
pub struct Rows {
    /// Rows the subtree of each node takes (the node itself included).
    count: Vec<u32>,
    collapsed: Vec<bool>,
    /// Nodes whose fold [`CROWD`] no longer decides: set by hand (or by
    /// [`Rows::reveal`]), or folded by that rule once already.
    fold_set: Vec<bool>,
    /// Sum of the roots' counts.
    roots_rows: u64,
    /// Sum of the orphans' counts (shown only when the marker is expanded).
    orphan_rows: u64,
    orphans_collapsed: bool,
    /// Scrubbed back to this time (boot-clock ns): only processes started
    /// by then are shown. Every list of processes is in start order, so
    /// what is shown of it is a prefix.
    cutoff: Option<u64>,
    /// Filtered: only the processes this marks (by node index; those past
    /// its end are not) are shown, and the lists they are in.
    filter: Option<Filtered>,
}

/// The lists a filter leaves: each one's marked processes, in order.
#[derive(Clone, Debug, Default)]
struct Filtered {
    shown: Vec<bool>,
    roots: Vec<NodeId>,
    orphans: Vec<NodeId>,
    children: HashMap<NodeId, Vec<NodeId>>,
}

/// A shown row, with what the guide lines need.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VisibleRow {
    pub item: Item,
    /// 0 for the top level.
    pub depth: usize,
    /// For each level from 1 to `depth`: whether the ancestor's list at that
    /// level goes on below this row (draws `│`). The last entry is this
    /// row's own list (draws `├─` rather than `└─`).
    pub more: Vec<bool>,
    pub has_children: bool,
    pub expanded: bool,
}

/// A process with more children than this is folded when it passes it: in
/// a fork storm the tree stays readable (`▸ 8784 bash (40,000)`, not
/// 40,000 rows), and the parent is what the operator is looking for. Not
/// a root (init), not one whose fold was set by hand, nor again once
/// unfolded.
pub const CROWD: usize = 1000;

/// Processes whose subtree is folded when they first appear: kthreadd's
/// hundreds of kernel workers rarely matter in an investigation.
fn folded_by_default(tree: &CausalTree, id: NodeId) -> bool {
    let n = tree.node(id);
    n.key.pid == 2 && n.causal_parent == ParentLink::Root
}

impl Rows {
    /// The index of a tree as it stands, every node expanded except the
    /// default folds.
    pub fn new(tree: &CausalTree) -> Self {
        let mut rows = Rows::default();
        rows.rebuild(tree);
        rows
    }

    /// Recomputes every count, keeping the folds of nodes already known.
    pub fn rebuild(&mut self, tree: &CausalTree) {
        self.grow(tree);
        for i in 0..tree.len() {
            if self.crowded(tree, NodeId(i as u32)) {
                self.collapsed[i] = true;
            }
        }
        self.count = vec![0; tree.len()];
        if let Some(f) = self.filter.take() {
            self.filter = Some(self.filtered(tree, f.shown));
        }
        // Children start after their parents, and ids grow with arrival,
        // but an adopted orphan can have a smaller id than its parent: count
        // bottom-up over a post-order instead of by id.
        let mut order = Vec::with_capacity(tree.len());
        let mut stack: Vec<NodeId> = self
            .roots(tree)
            .iter()
            .chain(self.orphans(tree))
            .copied()
            .collect();
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend_from_slice(self.children(tree, n));
        }
        for &n in order.iter().rev() {
            self.count[n.index()] = self.own_count(tree, n);
        }
        self.roots_rows = self.roots(tree).iter().map(|&r| self.c(r)).sum();
        self.orphan_rows = self.orphans(tree).iter().map(|&r| self.c(r)).sum();
    }

    /// After the tree forgot processes and renumbered the rest
    /// ([`CausalTree::renumbered`]): keeps the folds of the nodes that
    /// remain and counts afresh.
    /// A filter is dropped: its marks were by the old numbers (the caller
    /// sets it again).
    pub fn renumber(&mut self, tree: &CausalTree) {
        self.filter = None;
        // Nodes this index has not seen yet get their default fold.
        let mut collapsed: Vec<bool> = (0..tree.len())
            .map(|i| folded_by_default(tree, NodeId(i as u32)))
            .collect();
        let mut fold_set = vec![false; tree.len()];
        for (old, new) in tree.renumbered().iter().enumerate() {
            if let (Some(new), Some(&c), Some(&set)) =
                (new, self.collapsed.get(old), self.fold_set.get(old))
            {
                collapsed[new.index()] = c;
                fold_set[new.index()] = set;
            }
        }
        self.collapsed = collapsed;
        self.fold_set = fold_set;
        self.rebuild(tree);
    }

    /// Shows the tree as of `at` (only processes started by then), or
    /// whole with `None`; recounts.
    pub fn set_cutoff(&mut self, tree: &CausalTree, at: Option<u64>) {
        if self.cutoff != at {
            self.cutoff = at;
            self.rebuild(tree);
        }
    }

    pub fn cutoff(&self) -> Option<u64> {
        self.cutoff
    }

    /// Shows only the processes `shown` marks (by node index; the caller
    /// marks each match and its ancestors, so that every chain shown is
    /// whole), or every one with `None`; recounts.
    pub fn set_filter(&mut self, tree: &CausalTree, shown: Option<Vec<bool>>) {
        self.filter = shown.map(|shown| Filtered {
            shown,
            ..Filtered::default()
        });
        self.rebuild(tree);
    }

    pub fn is_filtered(&self) -> bool {
        self.filter.is_some()
    }

    /// Whether the filter, if any, shows `id`.
    pub fn passes(&self, id: NodeId) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.shown.get(id.index()).copied().unwrap_or(false))
    }

    /// The lists `shown` leaves of those shown now.
    fn filtered(&self, tree: &CausalTree, shown: Vec<bool>) -> Filtered {
        let keep = |list: &[NodeId]| -> Vec<NodeId> {
            self.by_time(tree, list)
                .iter()
                .copied()
                .filter(|n| shown.get(n.index()).copied().unwrap_or(false))
                .collect()
        };
        let mut f = Filtered {
            roots: keep(tree.roots()),
            orphans: keep(tree.orphans()),
            ..Filtered::default()
        };
        let mut stack: Vec<NodeId> = f.roots.iter().chain(&f.orphans).copied().collect();
        while let Some(n) = stack.pop() {
            let kids = keep(tree.children(n));
            stack.extend_from_slice(&kids);
            if !kids.is_empty() {
                f.children.insert(n, kids);
            }
        }
        f.shown = shown;
        f
    }

    /// The part of a list of processes (in start order) started by the
    /// moment shown.
    fn by_time<'t>(&self, tree: &CausalTree, list: &'t [NodeId]) -> &'t [NodeId] {
        match self.cutoff {
            None => list,
            Some(t) => &list[..list.partition_point(|&n| tree.node(n).key.start <= t)],
        }
    }

    fn roots<'a>(&'a self, tree: &'a CausalTree) -> &'a [NodeId] {
        match &self.filter {
            Some(f) => &f.roots,
            None => self.by_time(tree, tree.roots()),
        }
    }

    /// The orphans shown (all, unless scrubbed back or filtered).
    pub fn shown_orphans<'a>(&'a self, tree: &'a CausalTree) -> &'a [NodeId] {
        self.orphans(tree)
    }

    fn orphans<'a>(&'a self, tree: &'a CausalTree) -> &'a [NodeId] {
        match &self.filter {
            Some(f) => &f.orphans,
            None => self.by_time(tree, tree.orphans()),
        }
    }

    /// How many children of `id` its fold hides or shows: as many as
    /// scrubbing back and a filter leave.
    pub fn children_shown(&self, tree: &CausalTree, id: NodeId) -> usize {
        self.children(tree, id).len()
    }

    fn children<'a>(&'a self, tree: &'a CausalTree, id: NodeId) -> &'a [NodeId] {
        match &self.filter {
            Some(f) => f.children.get(&id).map_or(&[], Vec::as_slice),
            None => self.by_time(tree, tree.children(id)),
        }
    }

    fn c(&self, id: NodeId) -> u64 {
        u64::from(self.count.get(id.index()).copied().unwrap_or(0))
    }

    /// A node's count from its children's.
    fn own_count(&self, tree: &CausalTree, id: NodeId) -> u32 {
        if self.is_collapsed(id) {
            1
        } else {
            let kids: u64 = self.children(tree, id).iter().map(|&k| self.c(k)).sum();
            u32::try_from(1 + kids).unwrap_or(u32::MAX)
        }
    }

    /// Brings the index up to date after messages were applied. Each
    /// message adds at most one node; call this after every `apply` that
    /// grew the tree (it handles any number of new nodes, but costs one
    /// ancestor walk per node).
    pub fn sync(&mut self, tree: &CausalTree) {
        let known = self.count.len();
        if known > tree.len() {
            // A different tree: start over.
            *self = Rows::new(tree);
            return;
        }
        if self.filter.is_some() {
            // Filtered: a new process is not shown until the filter marks
            // it (and the caller sets it again).
            self.grow(tree);
            self.count.resize(tree.len(), 0);
            return;
        }
        if let Some(t) = self.cutoff {
            // Scrubbed back: what arrives now started later and is not
            // shown; anything else (a process seen late) is counted afresh.
            if (known..tree.len()).all(|i| tree.node(NodeId(i as u32)).key.start > t) {
                self.grow(tree);
                self.count.resize(tree.len(), 0);
            } else {
                self.rebuild(tree);
            }
            return;
        }
        if tree.len() - known > 1 {
            // Several nodes at once (a batch applied before a sync): links
            // among them can point either way, so count them afresh.
            self.rebuild(tree);
            return;
        }
        for i in known..tree.len() {
            self.insert(tree, NodeId(i as u32));
        }
    }

    fn insert(&mut self, tree: &CausalTree, id: NodeId) {
        self.grow(tree);
        self.count.push(0);
        // Its children, if any, are orphans it adopted: they leave the
        // orphans list.
        let adopted: u64 = self.children(tree, id).iter().map(|&k| self.c(k)).sum();
        self.orphan_rows = self.orphan_rows.saturating_sub(adopted);
        let own = self.own_count(tree, id);
        self.count[id.index()] = own;
        self.propagate(tree, id, i64::from(own));
        if let ParentLink::Known(p) = tree.node(id).causal_parent {
            if self.crowded(tree, p) {
                self.set_collapsed(tree, Item::Node(p), true);
            }
        }
    }

    /// The fold state of nodes this index has not seen yet: their default.
    fn grow(&mut self, tree: &CausalTree) {
        self.collapsed.truncate(tree.len());
        for i in self.collapsed.len()..tree.len() {
            self.collapsed
                .push(folded_by_default(tree, NodeId(i as u32)));
        }
        self.fold_set.resize(tree.len(), false);
    }

    /// Whether [`CROWD`] folds `id` now: it has passed that many children
    /// and its fold was never set. Marks it as set, so that it folds once.
    /// Never a root: init's children on a busy host (a container's shim
    /// each, daemons reparented to it) are the tree itself.
    fn crowded(&mut self, tree: &CausalTree, id: NodeId) -> bool {
        if tree.node(id).causal_parent == ParentLink::Root {
            return false;
        }
        match self.fold_set.get_mut(id.index()) {
            Some(set) if !*set && tree.children(id).len() > CROWD => {
                *set = true;
                true
            }
            _ => false,
        }
    }

    /// Adds `delta` rows to every expanded ancestor of `id` and to its
    /// top-level list, stopping at the first folded ancestor.
    fn propagate(&mut self, tree: &CausalTree, id: NodeId, delta: i64) {
        if delta == 0 {
            return;
        }
        let mut link = tree.node(id).causal_parent;
        // A damaged journal must not make us loop: a chain is never longer
        // than the tree.
        for _ in 0..=tree.len() {
            match link {
                ParentLink::Root => {
                    self.roots_rows = add(self.roots_rows, delta);
                    return;
                }
                ParentLink::Unknown(_) => {
                    self.orphan_rows = add(self.orphan_rows, delta);
                    return;
                }
                ParentLink::Known(p) => {
                    if self.is_collapsed(p) {
                        return;
                    }
                    let c = &mut self.count[p.index()];
                    *c = u32::try_from(add(u64::from(*c), delta)).unwrap_or(u32::MAX);
                    link = tree.node(p).causal_parent;
                }
            }
        }
    }

    pub fn is_collapsed(&self, id: NodeId) -> bool {
        self.collapsed.get(id.index()).copied().unwrap_or(false)
    }

    pub fn orphans_collapsed(&self) -> bool {
        self.orphans_collapsed
    }

    /// Whether the item shows its children (false if it has none).
    pub fn is_expanded(&self, tree: &CausalTree, item: Item) -> bool {
        match item {
            Item::Node(n) => !self.is_collapsed(n) && !self.children(tree, n).is_empty(),
            Item::Orphans => !self.orphans_collapsed && !self.orphans(tree).is_empty(),
        }
    }

    pub fn has_children(&self, tree: &CausalTree, item: Item) -> bool {
        match item {
            Item::Node(n) => !self.children(tree, n).is_empty(),
            Item::Orphans => !self.orphans(tree).is_empty(),
        }
    }

    /// Folds or unfolds an item.
    pub fn set_collapsed(&mut self, tree: &CausalTree, item: Item, collapsed: bool) {
        match item {
            Item::Orphans => self.orphans_collapsed = collapsed,
            Item::Node(n) => {
                if n.index() >= self.count.len() {
                    return;
                }
                if let Some(set) = self.fold_set.get_mut(n.index()) {
                    *set = true;
                }
                if self.collapsed[n.index()] == collapsed {
                    return;
                }
                self.collapsed[n.index()] = collapsed;
                if self.cutoff.is_some_and(|t| tree.node(n).key.start > t) || !self.passes(n) {
                    // Not shown: its fold counts once it is.
                    return;
                }
                let old = i64::from(self.count[n.index()]);
                let new = self.own_count(tree, n);
                self.count[n.index()] = new;
                self.propagate(tree, n, i64::from(new) - old);
            }
        }
    }

    /// Rows the whole forest takes.
    pub fn total(&self, tree: &CausalTree) -> usize {
        let orphans = if self.orphans(tree).is_empty() {
            0
        } else if self.orphans_collapsed {
            1
        } else {
            1 + self.orphan_rows
        };
        usize::try_from(self.roots_rows + orphans).unwrap_or(usize::MAX)
    }

    fn item_rows(&self, item: Item) -> u64 {
        match item {
            Item::Node(n) => self.c(n),
            Item::Orphans if self.orphans_collapsed => 1,
            Item::Orphans => 1 + self.orphan_rows,
        }
    }

    fn list_len(&self, tree: &CausalTree, list: List) -> usize {
        match list {
            List::Top => self.roots(tree).len() + usize::from(!self.orphans(tree).is_empty()),
            List::Orphans => self.orphans(tree).len(),
            List::Children(n) => self.children(tree, n).len(),
        }
    }

    fn list_get(&self, tree: &CausalTree, list: List, i: usize) -> Item {
        match list {
            List::Top => match self.roots(tree).get(i) {
                Some(&n) => Item::Node(n),
                None => Item::Orphans,
            },
            List::Orphans => Item::Node(self.orphans(tree)[i]),
            List::Children(p) => Item::Node(self.children(tree, p)[i]),
        }
    }

    fn child_list(&self, tree: &CausalTree, item: Item) -> Option<List> {
        if !self.is_expanded(tree, item) {
            return None;
        }
        Some(match item {
            Item::Node(n) => List::Children(n),
            Item::Orphans => List::Orphans,
        })
    }

    /// The item shown at `row`, if there is one.
    pub fn item_at(&self, tree: &CausalTree, row: usize) -> Option<Item> {
        self.seek(tree, row)
            .map(|stack| stack.last().map(|f| self.list_get(tree, f.0, f.1)))?
    }

    /// The path from the top to the item at `row`: each level's list and
    /// the index in it.
    fn seek(&self, tree: &CausalTree, row: usize) -> Option<Vec<(List, usize)>> {
        let mut remaining = row as u64;
        let mut list = List::Top;
        let mut stack = Vec::new();
        loop {
            let len = self.list_len(tree, list);
            let mut found = None;
            for i in 0..len {
                let item = self.list_get(tree, list, i);
                let c = self.item_rows(item);
                if remaining < c {
                    found = Some((i, item));
                    break;
                }
                remaining -= c;
            }
            let (i, item) = found?;
            stack.push((list, i));
            if remaining == 0 {
                return Some(stack);
            }
            remaining -= 1;
            list = self.child_list(tree, item)?;
        }
    }

    /// Up to `n` rows from `first` on, with their guide-line information.
    pub fn visible(&self, tree: &CausalTree, first: usize, n: usize) -> Vec<VisibleRow> {
        let mut out = Vec::with_capacity(n);
        let Some(mut stack) = self.seek(tree, first) else {
            return out;
        };
        while out.len() < n {
            let Some(&(list, i)) = stack.last() else {
                break;
            };
            let item = self.list_get(tree, list, i);
            let more = stack
                .iter()
                .skip(1)
                .map(|&(l, j)| j + 1 < self.list_len(tree, l))
                .collect();
            let expanded = self.is_expanded(tree, item);
            out.push(VisibleRow {
                item,
                depth: stack.len() - 1,
                more,
                has_children: self.has_children(tree, item),
                expanded,
            });
            // Step to the next row in pre-order.
            if let Some(kids) = self.child_list(tree, item) {
                stack.push((kids, 0));
                continue;
            }
            while let Some(&(l, j)) = stack.last() {
                if j + 1 < self.list_len(tree, l) {
                    if let Some(top) = stack.last_mut() {
                        top.1 = j + 1;
                    }
                    break;
                }
                stack.pop();
            }
        }
        out
    }

    /// The row an item is shown at, `None` if a fold hides it.
    pub fn row_of(&self, tree: &CausalTree, item: Item) -> Option<usize> {
        let id = match item {
            Item::Orphans => {
                return (!self.orphans(tree).is_empty()).then_some(self.roots_rows as usize);
            }
            Item::Node(id) => id,
        };
        if id.index() >= tree.len() {
            return None;
        }
        let chain = tree.ancestors(id);
        let top = *chain.first()?;
        let mut row = match tree.node(top).causal_parent {
            ParentLink::Unknown(_) => {
                if self.orphans_collapsed {
                    return None;
                }
                self.roots_rows + 1 + self.rows_before(self.orphans(tree), top)?
            }
            _ => self.rows_before(self.roots(tree), top)?,
        };
        for pair in chain.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if self.is_collapsed(parent) {
                return None;
            }
            row += 1 + self.rows_before(self.children(tree, parent), child)?;
        }
        usize::try_from(row).ok()
    }

    /// Rows taken by the siblings before `id` in `list`; `None` if `id` is
    /// not in it.
    fn rows_before(&self, list: &[NodeId], id: NodeId) -> Option<u64> {
        let mut sum = 0;
        for &n in list {
            if n == id {
                return Some(sum);
            }
            sum += self.c(n);
        }
        None
    }

    /// Unfolds every ancestor of `item`, so that it is shown.
    pub fn reveal(&mut self, tree: &CausalTree, item: Item) {
        let Item::Node(id) = item else {
            return;
        };
        if id.index() >= tree.len() {
            return;
        }
        let chain = tree.ancestors(id);
        if let Some(&top) = chain.first() {
            if matches!(tree.node(top).causal_parent, ParentLink::Unknown(_)) {
                self.orphans_collapsed = false;
            }
        }
        // Top down, so that each unfold adds its rows to already-open
        // ancestors.
        for &a in chain.iter().take(chain.len().saturating_sub(1)) {
            self.set_collapsed(tree, Item::Node(a), false);
        }
    }

    /// The item's parent row: the causal parent, or the marker for a
    /// top-level orphan; `None` for roots and the marker.
    pub fn parent_item(tree: &CausalTree, item: Item) -> Option<Item> {
        match item {
            Item::Orphans => None,
            Item::Node(n) => match tree.get(n)?.causal_parent {
                ParentLink::Known(p) => Some(Item::Node(p)),
                ParentLink::Unknown(_) => Some(Item::Orphans),
                ParentLink::Root => None,
            },
        }
    }
}

fn add(v: u64, delta: i64) -> u64 {
    if delta >= 0 {
        v.saturating_add(delta.unsigned_abs())
    } else {
        v.saturating_sub(delta.unsigned_abs())
    }
}
