//! The row index against a naive flatten of the whole forest.

use super::synth::{self, Rng, Synth};
use crate::event::{ExitStatus, Message, ProcKey};
use crate::graph::{CausalTree, NodeId};
use crate::ui::rows::{Item, Rows, VisibleRow};

/// Every shown row, by walking the whole forest.
fn naive(tree: &CausalTree, rows: &Rows) -> Vec<VisibleRow> {
    fn walk(
        tree: &CausalTree,
        rows: &Rows,
        item: Item,
        more: Vec<bool>,
        out: &mut Vec<VisibleRow>,
    ) {
        let kids: Vec<Item> = match item {
            Item::Node(n) => shown(tree, rows, tree.children(n)),
            Item::Orphans => shown(tree, rows, tree.orphans()),
        };
        let collapsed = match item {
            Item::Node(n) => rows.is_collapsed(n),
            Item::Orphans => rows.orphans_collapsed(),
        };
        out.push(VisibleRow {
            item,
            depth: more.len(),
            more: more.clone(),
            has_children: !kids.is_empty(),
            expanded: !kids.is_empty() && !collapsed,
        });
        if collapsed {
            return;
        }
        for (i, k) in kids.iter().enumerate() {
            let mut m = more.clone();
            m.push(i + 1 < kids.len());
            walk(tree, rows, *k, m, out);
        }
    }
    let mut out = Vec::new();
    for r in shown(tree, rows, tree.roots()) {
        walk(tree, rows, r, Vec::new(), &mut out);
    }
    if !shown(tree, rows, tree.orphans()).is_empty() {
        walk(tree, rows, Item::Orphans, Vec::new(), &mut out);
    }
    out
}

/// The processes of a list that had started by the rows' cutoff and that
/// the filter passes, found one by one (not by the index's prefix search
/// or its filtered lists).
fn shown(tree: &CausalTree, rows: &Rows, list: &[NodeId]) -> Vec<Item> {
    list.iter()
        .filter(|&&n| rows.cutoff().is_none_or(|t| tree.node(n).key.start <= t))
        .filter(|&&n| rows.passes(n))
        .map(|&n| Item::Node(n))
        .collect()
}

fn check(tree: &CausalTree, rows: &Rows) {
    let all = naive(tree, rows);
    assert_eq!(rows.total(tree), all.len(), "total");
    assert_eq!(rows.visible(tree, 0, all.len() + 5), all, "visible from 0");
    for (i, r) in all.iter().enumerate() {
        assert_eq!(rows.item_at(tree, i), Some(r.item), "item_at({i})");
        assert_eq!(rows.row_of(tree, r.item), Some(i), "row_of({:?})", r.item);
    }
    assert_eq!(rows.item_at(tree, all.len()), None);
    // A window in the middle equals the same slice of the whole.
    if all.len() > 10 {
        let mid = all.len() / 2;
        assert_eq!(
            rows.visible(tree, mid, 7),
            all[mid..(mid + 7).min(all.len())]
        );
    }
    // Hidden nodes have no row.
    let shown: std::collections::HashSet<Item> = all.iter().map(|r| r.item).collect();
    for (id, _) in tree.nodes() {
        if !shown.contains(&Item::Node(id)) {
            assert_eq!(rows.row_of(tree, Item::Node(id)), None);
        }
    }
}

#[test]
fn empty_tree_has_no_rows() {
    let tree = CausalTree::new();
    let rows = Rows::new(&tree);
    assert_eq!(rows.total(&tree), 0);
    assert_eq!(rows.item_at(&tree, 0), None);
    assert!(rows.visible(&tree, 0, 10).is_empty());
}

#[test]
fn incremental_index_matches_a_full_flatten() {
    let msgs = synth::host(300, 7);
    let mut tree = CausalTree::new();
    let mut rows = Rows::new(&tree);
    let mut rng = Rng::new(99);
    for (i, m) in msgs.iter().enumerate() {
        let before = tree.len();
        tree.apply(m);
        if tree.len() != before {
            rows.sync(&tree);
        }
        // Fold and unfold as we go, so counts must follow both.
        if i % 7 == 0 && !tree.is_empty() {
            let id = NodeId(rng.below(tree.len() as u64) as u32);
            let c = rows.is_collapsed(id);
            rows.set_collapsed(&tree, Item::Node(id), !c);
        }
        if i % 50 == 0 {
            check(&tree, &rows);
        }
    }
    check(&tree, &rows);
    // A rebuild from scratch with the same folds agrees.
    let mut again = rows.clone();
    again.rebuild(&tree);
    check(&tree, &again);
    assert_eq!(again.total(&tree), rows.total(&tree));
}

#[test]
fn orphans_sit_under_the_marker_and_move_when_adopted() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    // A child whose parent (pid 50) has not been seen yet.
    let parent = ProcKey::new(50, 50 * 10_000_000);
    let orphan = ProcKey::new(60, s.now);
    s.exec(orphan, parent, 0, "/bin/orphan", &["orphan"]);
    let grandchild = s.spawn(orphan, 0, "/bin/gc", &["gc"]);
    let _ = grandchild;
    let mut tree = CausalTree::new();
    let mut rows = Rows::new(&tree);
    for m in &s.messages {
        tree.apply(m);
        rows.sync(&tree);
    }
    assert_eq!(tree.orphans().len(), 1);
    check(&tree, &rows);
    let all = naive(&tree, &rows);
    assert_eq!(all[1].item, Item::Orphans);
    assert_eq!(all[2].depth, 1);
    // Folding the marker hides its processes.
    rows.set_collapsed(&tree, Item::Orphans, true);
    check(&tree, &rows);
    assert_eq!(rows.total(&tree), 2);
    rows.set_collapsed(&tree, Item::Orphans, false);
    // The parent turns up (seeded late): the orphan moves under it and
    // the marker goes away.
    let late = Message::Seed(crate::event::SeedProcess {
        proc: parent,
        parent: Some(init),
        comm: "late".into(),
        ..Default::default()
    });
    tree.apply(&late);
    rows.sync(&tree);
    assert!(tree.orphans().is_empty(), "adopted");
    check(&tree, &rows);
    assert_eq!(rows.total(&tree), 4);
}

#[test]
fn kthreadd_starts_folded() {
    let msgs = synth::demo();
    let tree = CausalTree::from_messages(&msgs);
    let rows = Rows::new(&tree);
    let k = tree.find_pid(2).expect("kthreadd");
    assert!(rows.is_collapsed(k));
    check(&tree, &rows);
}

#[test]
fn reveal_unfolds_every_ancestor() {
    let msgs = synth::chain(30);
    let tree = CausalTree::from_messages(&msgs);
    let mut rows = Rows::new(&tree);
    for (id, _) in tree.nodes() {
        rows.set_collapsed(&tree, Item::Node(id), true);
    }
    let last = Item::Node(NodeId(29));
    assert_eq!(rows.row_of(&tree, last), None);
    rows.reveal(&tree, last);
    assert_eq!(rows.row_of(&tree, last), Some(29));
    check(&tree, &rows);
}

#[test]
fn a_batch_without_sync_is_recounted() {
    let msgs = synth::host(200, 3);
    let mut tree = CausalTree::new();
    let mut rows = Rows::new(&tree);
    for m in &msgs[..50] {
        tree.apply(m);
    }
    rows.sync(&tree);
    check(&tree, &rows);
    for m in &msgs[50..] {
        tree.apply(m);
        rows.sync(&tree);
    }
    check(&tree, &rows);
    let _ = ExitStatus::Code(0);
}

#[test]
fn when_the_tree_forgets_processes_the_view_keeps_its_selection_and_folds() {
    use crate::graph::MAX_CONNS;

    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let shell = s.spawn(init, 1000, "/bin/bash", &["bash"]);
    let make = s.spawn(shell, 1000, "/usr/bin/make", &["make"]);
    let cc = s.spawn(make, 1000, "/usr/bin/cc", &["cc"]);
    let tail = s.spawn(shell, 1000, "/usr/bin/tail", &["tail", "-f", "log"]);
    s.spawn(tail, 1000, "/usr/bin/grep", &["grep", "x"]);
    s.exit(cc, make, ExitStatus::Code(0));
    s.exit(make, shell, ExitStatus::Code(0));
    let first: Vec<Message> = std::mem::take(&mut s.messages);
    let mut app = super::live_in(CausalTree::with_limits(60, MAX_CONNS), &first);
    // The operator looks at the finished compiler, and folds `tail`.
    let cc_id = app.tree.find(cc).expect("cc");
    app.selected = Some(Item::Node(cc_id));
    let tail_id = app.tree.find(tail).expect("tail");
    app.rows.set_collapsed(&app.tree, Item::Node(tail_id), true);
    // Then hundreds of short commands.
    for _ in 0..400 {
        let c = s.spawn(shell, 1000, "/bin/true", &["true"]);
        s.exit(c, shell, ExitStatus::Code(0));
    }
    for m in &s.messages {
        app.apply(m);
    }
    app.settle();
    assert!(
        app.tree.forgotten() > 300,
        "{} forgotten",
        app.tree.forgotten()
    );
    assert!(app.tree.len() <= 60);
    let now = app.selected_node().expect("a selection");
    assert_eq!(app.tree.node(now).key, cc, "the selected process stays");
    assert_eq!(
        app.tree.ancestors(now).len(),
        4,
        "with its chain: init, bash, make, cc"
    );
    let tail_id = app.tree.find(tail).expect("alive");
    assert!(app.rows.is_collapsed(tail_id), "its fold is kept");
    check(&app.tree, &app.rows);
}

#[test]
fn scrubbed_back_the_index_shows_only_what_had_started() {
    let msgs = synth::host(400, 11);
    let tree = CausalTree::from_messages(&msgs);
    let mut rows = Rows::new(&tree);
    let (first, last) = (synth::Synth::new().now, tree.last_ktime());
    let mut rng = Rng::new(5);
    for k in 0..12 {
        let t = first + (last - first) * k / 11;
        rows.set_cutoff(&tree, Some(t));
        // Fold a few, so counts must follow folds under the cutoff too.
        for _ in 0..3 {
            let id = NodeId(rng.below(tree.len() as u64) as u32);
            let c = rows.is_collapsed(id);
            rows.set_collapsed(&tree, Item::Node(id), !c);
        }
        check(&tree, &rows);
    }
    rows.set_cutoff(&tree, None);
    check(&tree, &rows);
}

#[test]
fn while_scrubbed_back_new_processes_wait_hidden() {
    let msgs = synth::host(300, 3);
    let half = msgs.len() / 2;
    let mut tree = CausalTree::from_messages(&msgs[..half]);
    let mut rows = Rows::new(&tree);
    let t = tree.last_ktime();
    rows.set_cutoff(&tree, Some(t));
    let before = rows.total(&tree);
    for m in &msgs[half..] {
        let n = tree.len();
        tree.apply(m);
        if tree.len() != n {
            rows.sync(&tree);
        }
    }
    check(&tree, &rows);
    assert_eq!(rows.total(&tree), before, "nothing newer shows");
    rows.set_cutoff(&tree, None);
    check(&tree, &rows);
    assert!(rows.total(&tree) > before);
}

/// Marks `picks` and every ancestor of each, as the view's filter does.
fn with_ancestors(tree: &CausalTree, picks: &[NodeId]) -> Vec<bool> {
    let mut shown = vec![false; tree.len()];
    for &p in picks {
        for a in tree.ancestors(p) {
            shown[a.index()] = true;
        }
    }
    shown
}

#[test]
fn filtered_the_index_shows_the_marked_processes_and_folds_still_count() {
    let msgs = synth::host(400, 11);
    let tree = CausalTree::from_messages(&msgs);
    let mut rows = Rows::new(&tree);
    let mut rng = Rng::new(5);
    let picks: Vec<NodeId> = (0..12)
        .map(|_| NodeId(rng.below(tree.len() as u64) as u32))
        .collect();
    rows.set_filter(&tree, Some(with_ancestors(&tree, &picks)));
    assert!(rows.is_filtered());
    check(&tree, &rows);
    let total = rows.total(&tree);
    assert!(total < tree.len(), "fewer rows than processes");
    for &p in &picks {
        rows.reveal(&tree, Item::Node(p));
        assert!(rows.row_of(&tree, Item::Node(p)).is_some(), "{p:?} shown");
    }
    // Folding, also a process the filter hides, and scrubbing back.
    for _ in 0..40 {
        let id = NodeId(rng.below(tree.len() as u64) as u32);
        let c = rows.is_collapsed(id);
        rows.set_collapsed(&tree, Item::Node(id), !c);
        check(&tree, &rows);
    }
    let mid = tree.node(NodeId(tree.len() as u32 / 2)).key.start;
    rows.set_cutoff(&tree, Some(mid));
    check(&tree, &rows);
    rows.set_cutoff(&tree, None);
    check(&tree, &rows);
    // Cleared: every process again.
    rows.set_filter(&tree, None);
    assert!(!rows.is_filtered());
    check(&tree, &rows);
}

#[test]
fn filtered_new_processes_wait_hidden_until_marked() {
    let msgs = synth::host(200, 3);
    let (first, rest) = msgs.split_at(100);
    let mut tree = CausalTree::from_messages(first);
    let mut rows = Rows::new(&tree);
    let pick = NodeId(tree.len() as u32 - 1);
    rows.set_filter(&tree, Some(with_ancestors(&tree, &[pick])));
    let before = rows.total(&tree);
    for m in rest {
        tree.apply(m);
        rows.sync(&tree);
    }
    assert_eq!(rows.total(&tree), before, "new ones hidden");
    check(&tree, &rows);
    let newest = NodeId(tree.len() as u32 - 1);
    rows.set_filter(&tree, Some(with_ancestors(&tree, &[pick, newest])));
    rows.reveal(&tree, Item::Node(newest));
    assert!(rows.row_of(&tree, Item::Node(newest)).is_some());
    check(&tree, &rows);
}

/// init, and a shell that starts `n` short processes.
fn storm(n: usize) -> (Synth, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let sh = s.spawn(init, 0, "/bin/sh", &["sh", "storm.sh"]);
    for _ in 0..n {
        let t = s.spawn(sh, 0, "/bin/true", &["true"]);
        s.exit(t, sh, ExitStatus::Code(0));
    }
    (s, sh)
}

#[test]
fn a_crowd_of_children_folds_its_parent_once() {
    use crate::ui::rows::CROWD;
    let (mut s, sh) = storm(CROWD + 50);
    // Applied one message at a time, as the live view does.
    let mut tree = CausalTree::new();
    let mut rows = Rows::new(&tree);
    let mut folded_at = None;
    for m in &s.messages {
        tree.apply(m);
        rows.sync(&tree);
        let id = tree.find(sh);
        if folded_at.is_none() && id.is_some_and(|id| rows.is_collapsed(id)) {
            folded_at = id.map(|id| tree.children(id).len());
        }
    }
    assert_eq!(folded_at, Some(CROWD + 1), "folded as it passed the crowd");
    assert_eq!(rows.total(&tree), 2, "init, and the shell folded");
    check(&tree, &rows);
    // Unfolded by hand, it stays so as more arrive.
    let sh_id = tree.find(sh).expect("the shell");
    rows.set_collapsed(&tree, Item::Node(sh_id), false);
    let from = s.messages.len();
    for _ in 0..10 {
        s.spawn(sh, 0, "/bin/true", &["true"]);
    }
    for m in &s.messages[from..] {
        tree.apply(m);
        rows.sync(&tree);
    }
    assert!(!rows.is_collapsed(sh_id));
    assert_eq!(rows.total(&tree), 2 + CROWD + 60);
    check(&tree, &rows);

    // A journal opened whole: folded from the start.
    let tree = CausalTree::from_messages(&s.messages);
    let rows = Rows::new(&tree);
    assert!(rows.is_collapsed(tree.find(sh).expect("the shell")));
    check(&tree, &rows);
    // A crowd's size exactly: not folded.
    let (s, sh) = storm(CROWD);
    let tree = CausalTree::from_messages(&s.messages);
    let rows = Rows::new(&tree);
    assert!(!rows.is_collapsed(tree.find(sh).expect("the shell")));

    // Nor init, however many children it has (a container host's shims).
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    for _ in 0..=CROWD {
        s.spawn(init, 0, "/usr/bin/containerd-shim", &["containerd-shim"]);
    }
    let tree = CausalTree::from_messages(&s.messages);
    let rows = Rows::new(&tree);
    assert!(!rows.is_collapsed(tree.find(init).expect("init")));
    assert_eq!(rows.total(&tree), CROWD + 2);
}
