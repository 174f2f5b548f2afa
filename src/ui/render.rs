//! Drawing: a pure function of the state. No I/O, no clock, no allocation
//! that grows with the tree: only the rows on screen are built.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, SourceKind};
use super::at::{conn_end, conn_state, node_at, opened_as};
use super::format;
use super::keys::{HELP, LEGEND, Mode};
use super::layout::{Areas, MIN_HEIGHT, MIN_WIDTH};
use super::rows::{Item, VisibleRow};
use crate::event::{
    Direction, ExitStatus, Failure, ProcKey, Protocol, SignalInfo, errno_name, printable,
    signal_name,
};
use crate::graph::{
    ConnCounts, ConnId, ConnState, Node, NodeId, ParentLink, RunAs, printable_name,
};

/// Widths of the tree pane's right-hand columns.
const USER_W: usize = 8;
const START_W: usize = 8;
const STATE_W: usize = 12;
/// Execs and connections listed in the detail pane before "… N more".
const DETAIL_LIST_MAX: usize = 8;
/// Signals (sent to it, or by it) listed in the detail pane, the newest.
const SIGNALS_SHOWN: usize = 3;
/// argv characters shown in the detail pane.
const ARGV_MAX: usize = 4096;

/// Draws the whole view.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let areas = super::layout::layout(area, app.banner().is_some());
    if areas.too_small {
        too_small(frame, area);
        return;
    }
    status_bar(frame.buffer_mut(), app, areas.status);
    if let Some(b) = app.banner() {
        let line = Line::from(Span::styled(format!(" ⚠ {b}"), app.theme.warning()));
        frame
            .buffer_mut()
            .set_style(areas.banner, app.theme.warning());
        frame
            .buffer_mut()
            .set_line(areas.banner.x, areas.banner.y, &line, areas.banner.width);
    }
    tree_pane(frame, app, &areas);
    detail_pane(frame, app, &areas);
    footer(frame.buffer_mut(), app, areas.footer);
    if app.help {
        help_overlay(frame, app, area);
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::from(Span::styled(
            "Terminal too small",
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{}x{} here;", area.width, area.height)),
        Line::from(format!("causeway needs {MIN_WIDTH}x{MIN_HEIGHT}.")),
        Line::from("Enlarge it, or press q to quit."),
    ];
    // Rows once wrapped to the width: a narrow terminal wraps the last
    // line, which a height of one row a line cut short.
    let w = usize::from(area.width.max(1));
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(w).max(1)).sum();
    let h = u16::try_from(rows).unwrap_or(u16::MAX).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    let p = Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    frame.render_widget(p, Rect::new(area.x, y, area.width, h));
}

// ---- status bar and footer ----------------------------------------------

fn status_bar(buf: &mut Buffer, app: &App, area: Rect) {
    let t = app.theme;
    buf.set_style(area, t.status_bar());
    let stats = app.tree.stats();
    let mut spans = Vec::new();
    let sep = || Span::raw(" │ ");
    match &app.source {
        SourceKind::Live => spans.push(Span::styled(" LIVE ", t.mode_live())),
        SourceKind::Replay { .. } => spans.push(Span::styled(" REPLAY ", t.mode_replay())),
    }
    spans.push(Span::raw(" "));
    match (&app.source, app.status.rate) {
        (SourceKind::Live, Some(r)) => {
            spans.push(Span::raw(format!(
                "{} ev/s",
                format::count(r.round() as u64)
            )));
        }
        (SourceKind::Live, None) => spans.push(Span::raw("- ev/s")),
        (SourceKind::Replay { .. }, _) => {
            spans.push(Span::raw(format!("{} events", format::count(stats.events))));
        }
    }
    spans.push(sep());
    if let Some(at) = app.at {
        spans.push(Span::styled(
            format!(" AT {} ", datetime(app, at)),
            t.alert(),
        ));
        spans.push(Span::styled(
            format!(
                " {} before {}",
                format::duration(app.now_ktime().saturating_sub(at)),
                if app.is_live() { "now" } else { "the end" }
            ),
            t.dim(),
        ));
        spans.push(sep());
    }
    let gone = app.gone_count();
    let alive = if app.at.is_some() {
        app.alive_at
    } else {
        stats.alive.saturating_sub(gone)
    };
    spans.push(Span::raw(format!("{} alive", format::count(alive))));
    if gone > 0 {
        spans.push(Span::styled(
            format!(" ({} gone)", format::count(gone)),
            t.dim(),
        ));
    }
    // Scrubbed back: those that had started by then.
    let procs = if app.at.is_some() {
        app.started_at
    } else {
        app.tree.len() as u64
    };
    spans.push(Span::raw(format!(" / {} procs", format::count(procs))));
    if stats.forgotten > 0 {
        spans.push(Span::styled(
            format!(" (+{} old forgotten)", format::count(stats.forgotten)),
            t.dim(),
        ));
    }
    // Where to look first: `\ !oom` and `\ !` show who.
    if stats.oom_kills > 0 && app.at.is_none() {
        spans.push(sep());
        spans.push(Span::styled(
            format!("OOM killed {}", format::count(stats.oom_kills)),
            t.failure(),
        ));
    }
    if stats.failed_conns > 0 && app.at.is_none() {
        spans.push(sep());
        spans.push(Span::styled(
            format!("✗ {} conns failed", format::count(stats.failed_conns)),
            t.failure(),
        ));
    }
    spans.push(sep());
    if stats.lost > 0 {
        spans.push(Span::styled(
            format!(" LOST {} ", format::count(stats.lost)),
            t.alert(),
        ));
    } else {
        spans.push(Span::raw("lost 0"));
    }
    spans.push(sep());
    spans.push(Span::raw(match app.status.mem {
        Some(m) => format!("mem {}", format::bytes(m)),
        None => "mem -".to_string(),
    }));
    if app.follow {
        spans.push(sep());
        spans.push(Span::styled(
            "FOLLOW",
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    // On a narrow terminal the last figures are left out whole, not cut
    // in the middle ("mem 79.7").
    let mut used = 0;
    let fits = spans
        .iter()
        .take_while(|s| {
            used += s.width();
            used <= usize::from(area.width)
        })
        .count();
    spans.truncate(fits);
    if spans.last().is_some_and(|s| s.content == " │ ") {
        spans.pop();
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

fn footer(buf: &mut Buffer, app: &App, area: Rect) {
    let t = app.theme;
    if let Some(f) = &app.flash {
        // Cut to the width with an ellipsis: the cut shows.
        let said = format::fit(&format!(" {f}"), usize::from(area.width));
        let line = Line::from(Span::styled(said, t.title()));
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    let prompt = match app.input_mode() {
        Mode::Search => Some((
            " find: ",
            "   Enter find  Esc cancel  (pid, name, argv, cgroup, address, :port)",
        )),
        Mode::Filter => Some((
            " filter: ",
            "   Enter filter (empty: all)  ^U clear  Esc cancel  (pid, name, argv, cgroup, address, :port)",
        )),
        Mode::Time => Some((
            " go to: ",
            "   Enter go  Esc cancel  (14:02, 14:02:30, -5m, 2026-12-07 14:02)",
        )),
        _ => None,
    };
    if let Some((what, hint)) = prompt {
        let line = Line::from(vec![
            Span::styled(what, t.key()),
            Span::raw(format!("{}█", app.query)),
            Span::styled(hint, t.dim()),
        ]);
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    let hints: &[(&str, &str)] = match app.input_mode() {
        Mode::Help | Mode::Search | Mode::Filter | Mode::Time => &[("Esc", "close"), ("q", "quit")],
        Mode::Connections => &[
            ("↑↓", "move"),
            ("Enter", "jump to peer"),
            ("x", "export"),
            ("Esc", "back"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::Tree => &[
            ("↑↓", "move"),
            ("←→", "fold"),
            ("p", "parent"),
            ("c", "conns"),
            ("x", "export"),
            ("f", "follow"),
            ("/", "find"),
            ("?", "help"),
            ("q", "quit"),
        ],
    };
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in hints {
        spans.push(Span::styled(*k, t.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

// ---- tree pane ----------------------------------------------------------

fn tree_pane(frame: &mut Frame, app: &App, areas: &Areas) {
    let t = app.theme;
    let total = app.rows.total(&app.tree);
    let mut title = vec![Span::styled(" Processes ", t.title())];
    if let SourceKind::Replay { name, .. } = &app.source {
        title.push(Span::raw(format!("· {name} ")));
    }
    if !app.header.hostname.is_empty() {
        title.push(Span::styled(
            format!("· {} ", printable(&app.header.hostname)),
            t.dim(),
        ));
    }
    if let Some(f) = &app.filter {
        title.push(Span::styled(
            format!(
                "· filter \"{f}\": {} found ",
                format::count(app.filter_found as u64)
            ),
            t.marker(),
        ));
    }
    let pos = match app.selected.and_then(|s| app.rows.row_of(&app.tree, s)) {
        Some(r) => format!(
            " {}/{} ",
            format::count(r as u64 + 1),
            format::count(total as u64)
        ),
        None => String::new(),
    };
    let border = if app.mode != Mode::Connections {
        t.title()
    } else {
        t.dim()
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(border)
        .title(Line::from(title))
        .title(Line::from(pos).right_aligned());
    frame.render_widget(block, areas.tree);

    let body = areas.tree_body;
    if total == 0 {
        let msg = match (&app.filter, &app.source) {
            (Some(f), _) => format!(
                "Nothing matches the filter \"{}\" yet: processes show as it finds them (\\ Ctrl-U Enter clears it).",
                printable(f)
            ),
            (None, SourceKind::Live) => "Waiting for processes…".to_string(),
            (None, SourceKind::Replay { .. }) => "This journal holds no processes.".to_string(),
        };
        let p = Paragraph::new(Line::from(Span::styled(msg, t.dim())));
        frame.render_widget(p, body);
        return;
    }
    let rows = app
        .rows
        .visible(&app.tree, app.offset, usize::from(body.height));
    let width = usize::from(body.width);
    let cut = Cut::of(&rows, guide_budget(width));
    let buf = frame.buffer_mut();
    for (i, vr) in rows.iter().enumerate() {
        let y = body.y + i as u16;
        let line = tree_line(app, vr, cut, width);
        buf.set_line(body.x, y, &line, body.width);
        if app.selected == Some(vr.item) {
            let row = Rect::new(body.x, y, body.width, 1);
            buf.set_style(row, t.selected());
        }
    }
}

/// How the guides of one frame's rows fit their share of the row: how
/// many outer levels every row leaves out, and the width of the mark that
/// says so. One cut for the whole frame, so that rows keep lining up with
/// each other (a cut of its own per row shifts each row's guides by its
/// depth, and a child no longer sits to the right of its parent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cut {
    /// Levels left out (0: none, no mark).
    pub first: usize,
    /// Width of the mark (`…d12 `), the same on every row.
    pub mark: usize,
}

impl Cut {
    /// The cut for `rows` within `budget` columns: the fewest levels left
    /// out that keep the deepest row's name in view.
    pub fn of(rows: &[VisibleRow], budget: usize) -> Cut {
        let deepest = rows.iter().map(|r| r.depth).max().unwrap_or(0);
        if 3 * deepest <= budget {
            return Cut::default();
        }
        let mark = format!("…d{deepest} ").chars().count();
        let keep = (budget.saturating_sub(mark) / 3).clamp(1, deepest);
        Cut {
            first: deepest - keep,
            mark,
        }
    }
}

/// The indentation and guide lines of a row, cut as `cut` says. A row
/// whose outer levels are left out starts with the depth they end at
/// (`…d812 `); a row shallower than the cut with its own (`←d3 `), a
/// root with nothing.
pub fn guides(vr: &VisibleRow, cut: Cut) -> String {
    let d = vr.depth;
    let level = |l: usize, own: bool| match (own, vr.more.get(l).copied().unwrap_or(false)) {
        (true, true) => "├─ ",
        (true, false) => "└─ ",
        (false, true) => "│  ",
        (false, false) => "   ",
    };
    let mut s = String::new();
    let first = if d < cut.first {
        if d > 0 {
            s.push_str(&format!("←d{d}"));
        }
        d
    } else {
        if cut.first > 0 {
            s.push_str(&format!("…d{}", cut.first));
        }
        cut.first
    };
    let pad = cut.mark.saturating_sub(s.chars().count());
    s.extend(std::iter::repeat_n(' ', pad));
    for l in first..d {
        s.push_str(level(l, l + 1 == d));
    }
    s
}

fn conn_marker(counts: ConnCounts) -> Option<String> {
    if counts.total() == 0 {
        return None;
    }
    let mut s = String::new();
    for (n, glyph) in [
        (counts.outbound, "↗"),
        (counts.inbound, "↙"),
        (counts.listen, "◉"),
    ] {
        if n > 0 {
            s.push_str(&format!(" {glyph}{n}"));
        }
    }
    Some(s)
}

/// The row's columns right of the name: user, start, state.
const RIGHT_W: usize = 1 + USER_W + 1 + START_W + 1 + STATE_W;

/// The columns a row's guides may take: two thirds of what the user,
/// start and state columns leave, so the name keeps a third (at 80
/// columns, 10 levels before a cut and 16 columns of name).
fn guide_budget(width: usize) -> usize {
    width.saturating_sub(RIGHT_W) * 2 / 3
}

fn tree_line(app: &App, vr: &VisibleRow, cut: Cut, width: usize) -> Line<'static> {
    let t = app.theme;
    let left_w = width.saturating_sub(RIGHT_W);
    let fold = match (vr.has_children, vr.expanded) {
        (false, _) => "  ",
        (true, true) => "▾ ",
        (true, false) => "▸ ",
    };
    let guide = guides(vr, cut);
    let id = match vr.item {
        Item::Orphans => {
            let n = app.rows.shown_orphans(&app.tree).len() as u64;
            let text = format!(
                "  {guide}{fold}? unknown parent — {} {} whose parent was never seen",
                format::count(n),
                if n == 1 { "process" } else { "processes" }
            );
            return Line::from(Span::styled(format::fit(&text, width), t.marker()));
        }
        Item::Node(id) => id,
    };
    let at = node_at(&app.tree, id, app.at);
    let node = at.node;
    let exited = !at.is_alive();
    let new = app.is_new(id);
    let base = if exited { t.exited() } else { Theme::plain() };
    let (flag, flag_style) = if new {
        ("+", t.new_process())
    } else if node.seeded {
        ("s", t.seeded())
    } else {
        (" ", base)
    };
    let name_style = if new {
        t.new_process()
    } else if exited {
        base
    } else {
        t.title()
    };
    let mut left: Vec<(Span<'static>, Part)> = vec![
        (Span::styled(flag, flag_style), Part::Keep),
        (Span::raw(" "), Part::Keep),
        (
            Span::styled(format!("{guide}{fold}"), t.guide()),
            Part::Keep,
        ),
        (Span::styled(format!("{} ", node.key.pid), base), Part::Keep),
    ];
    // A process that became something else says what it began as: the
    // shell that forked its children before it became `sleep`, or before
    // it exec'd its last command (a subshell's).
    if let Some(began) = at.began() {
        left.push((Span::styled(began, t.dim()), Part::Name));
    }
    left.push((
        Span::styled(format::name(at.display_name()), name_style),
        Part::Name,
    ));
    // Its program had no file left (deleted, a memfd): fileless. Kept
    // whole, as a marker is.
    if at.deleted() {
        left.push((Span::styled(" (deleted)", t.alert()), Part::Keep));
    }
    // Run as another name: a symlink's (`dash (as sh)`), or passing for
    // another process (`(argv0 [kworker/u4:2])`).
    match at.run_as() {
        Some(RunAs::Alias(name)) => left.push((
            Span::styled(format!(" (as {name})"), t.dim()),
            Part::Free(")"),
        )),
        Some(RunAs::Disguise(name)) => left.push((
            Span::styled(format!(" (argv0 {name})"), t.alert()),
            Part::Alert(")"),
        )),
        None => {}
    }
    // Renamed itself: what top shows, and maybe a disguise.
    if let Some(comm) = at.renamed_to(app.at) {
        left.push((
            Span::styled(format!(" (comm {comm})"), t.alert()),
            Part::Alert(")"),
        ));
    }
    // Folded: how many children it hides.
    if vr.has_children && !vr.expanded {
        let n = app.rows.children_shown(&app.tree, id) as u64;
        left.push((
            Span::styled(format!(" ({})", format::count(n)), t.dim()),
            Part::Keep,
        ));
    }
    let counts = at.counts(&app.tree, app.at);
    if let Some(m) = conn_marker(counts) {
        left.push((Span::styled(m, t.net()), Part::Keep));
    }
    // Connects in flight for a while: what a hung client waits on.
    if counts.connecting > 0 {
        let m = format!(" ⇢{}", counts.connecting);
        left.push((Span::styled(m, t.alert()), Part::Keep));
    }
    // Held with the peer gone: what a leaking server piles up.
    if counts.close_wait > 0 {
        let m = format!(" ◐{}", counts.close_wait);
        left.push((Span::styled(m, t.alert()), Part::Keep));
    }
    if counts.failed > 0 {
        let m = format!(" ✗{}", counts.failed);
        left.push((Span::styled(m, t.failure()), Part::Keep));
    }
    // Children that failed, again and again: a crash loop's supervisor.
    if let Some(m) = restart_marker(app, id) {
        left.push((Span::styled(m, t.failure()), Part::Keep));
    }
    if let Some(unit) = cgroup_boundary(app, node) {
        left.push((
            Span::styled(format!(" ⟨{unit}⟩"), t.label()),
            Part::Free("⟩"),
        ));
    }
    if let Some(exec) = at.current_exec() {
        if exec.argv.len() > 1 {
            left.push((
                Span::styled(
                    format!("  {}", format::argv(&exec.argv[1..], left_w)),
                    t.dim(),
                ),
                Part::Free(""),
            ));
        }
    }
    let mut spans = fit_row(left, left_w);
    // Ended unseen: between two recordings, or (live) missing from /proc.
    let gone = if exited {
        node.gone.is_some()
    } else {
        app.gone_since(node.key).is_some()
    };
    let state = match app.usage_now(node.key) {
        _ if gone => "gone".to_string(),
        Some(u) if !exited => format::usage_short(u),
        _ => format::state_short(at.exit),
    };
    let state_style = if gone {
        t.dim()
    } else if format::is_failure(at.exit) {
        t.failure()
    } else if exited {
        base
    } else {
        t.running()
    };
    spans.push(Span::styled(
        format!(
            " {:<USER_W$} {:<START_W$} ",
            format::fit(&app.users.display(node.uid), USER_W),
            clock(app, node.start()),
        ),
        base,
    ));
    spans.push(Span::styled(format::fit(&state, STATE_W), state_style));
    Line::from(spans)
}

use super::theme::Theme;

/// Where a service, container or pod begins: the [`unit`] of a process's
/// cgroup (`nginx.service`, `docker-3f2a9c8b1d2e.scope`), when it is in a
/// cgroup other than its causal parent's and the path is known (not the
/// root's).
///
/// [`unit`]: crate::cgroups::unit
fn cgroup_boundary(app: &App, node: &Node) -> Option<String> {
    const MAX: usize = 24;
    let parent = node.parent_id().map(|p| app.tree.node(p).cgroup);
    if parent == Some(node.cgroup) {
        return None;
    }
    let unit = crate::cgroups::unit(app.tree.cgroup_path(node.cgroup)?)?;
    Some(format::text(unit.as_bytes(), MAX))
}

/// A process's children the view shows at the moment shown: those started
/// by then (in start order), whether the filter shows them or not.
fn children_by(app: &App, id: NodeId) -> &[NodeId] {
    let kids = app.tree.children(id);
    match app.at {
        None => kids,
        Some(t) => &kids[..kids.partition_point(|&c| app.tree.node(c).key.start <= t)],
    }
}

/// Failed children, at least, for a row's [`restart_marker`].
const RESTART_MIN: usize = 3;

/// Children a row's [`restart_marker`] looks at, the newest: a frame's
/// work stays bounded (a fork storm's parent has 40,000).
const RESTART_SCAN: usize = 1_000;

/// ` ↻58`: how many of a process's children had failed by the moment
/// shown (exited non-zero or killed), when [`RESTART_MIN`] or more: a
/// supervisor restarting a crashing service, a retry loop. Of its newest
/// [`RESTART_SCAN`] children, with `+` when it had more (at least so
/// many).
fn restart_marker(app: &App, id: NodeId) -> Option<String> {
    let kids = children_by(app, id);
    let newest = &kids[kids.len().saturating_sub(RESTART_SCAN)..];
    let failed = newest
        .iter()
        .filter(|&&c| {
            let n = app.tree.node(c);
            let ended = n.exit_time.is_some_and(|e| app.at.is_none_or(|t| e <= t));
            ended && format::is_failure(n.exit)
        })
        .count();
    let more = if newest.len() < kids.len() { "+" } else { "" };
    (failed >= RESTART_MIN).then(|| format!(" ↻{}{more}", format::count(failed as u64)))
}

/// `children 61: 57 exit 1, 2 SIGSEGV; 1 running`: how the children of a
/// process ended, by the moment shown, once [`format::CHILDREN_TALLIED`]
/// have; in at most two lines of `width`.
fn children_line(app: &App, id: NodeId, width: usize) -> Option<Line<'static>> {
    let kids = children_by(app, id);
    let mut ended = Vec::new();
    let mut running = 0;
    let mut failed = false;
    for &c in kids {
        let n = app.tree.node(c);
        match n.exit_time.filter(|&e| app.at.is_none_or(|t| e <= t)) {
            None => running += 1,
            Some(_) if n.gone.is_some() => ended.push("gone".to_string()),
            Some(_) => {
                failed |= format::is_failure(n.exit);
                ended.push(format::ended_short(n.exit));
            }
        }
    }
    if (ended.len() as u64) < format::CHILDREN_TALLIED {
        return None;
    }
    let room = 2 * width.saturating_sub(9);
    let mut said = String::new();
    for max in (1..=6).rev() {
        said = format::children_ended(ended.iter().cloned(), running, max);
        if said.chars().count() <= room {
            break;
        }
    }
    let style = if failed {
        app.theme.failure()
    } else {
        Theme::plain()
    };
    Some(Line::from(vec![
        label(app, "children"),
        Span::styled(said, style),
    ]))
}

/// What a span of a tree row is to fitting the row to its width.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    /// Kept whole: the pid and guides, and the markers that say something
    /// (connection counts, failures, close-wait, a folded row's count).
    Keep,
    /// The program's name: cut only when the row has no room even without
    /// the free text.
    Name,
    /// Free text (a name it was run as, a cgroup, its arguments): cut
    /// first, in the order it comes, keeping this closing part.
    Free(&'static str),
    /// Free text that is an alert (a name it gave itself, an `argv[0]`
    /// passing for another process): cut as free text is, but where even
    /// the name has no room, kept to [`FREE_MIN`] columns before the name
    /// is cut (the name's part saying what it began as first).
    Alert(&'static str),
}

/// Columns a [`Part::Free`] span with a closing part is cut to at least
/// (` (comm k…)`), else left out.
const FREE_MIN: usize = 10;

/// A tree row's name column in `width` columns: what says something about
/// the process (its markers) survives, and the free text goes first, then
/// the name is cut (an ellipsis marks a cut); padded to exactly `width`.
/// At 80 columns a renamed process deep in the tree keeps its `↗30`
/// rather than its whole `(comm …)`.
fn fit_row(mut parts: Vec<(Span<'static>, Part)>, width: usize) -> Vec<Span<'static>> {
    let total: usize = parts.iter().map(|(s, _)| s.width()).sum();
    let fixed: usize = (parts.iter())
        .filter(|(_, p)| !matches!(p, Part::Free(_) | Part::Alert(_)))
        .map(|(s, _)| s.width())
        .sum();
    if total <= width {
        return fit_spans(parts.into_iter().map(|(s, _)| s).collect(), width);
    }
    let mut out = Vec::with_capacity(parts.len());
    if fixed <= width {
        let mut room = width - fixed;
        let mut cut = false;
        for (span, part) in parts {
            let (Part::Free(end) | Part::Alert(end)) = part else {
                out.push(span);
                continue;
            };
            let w = span.width();
            if cut {
                continue;
            }
            if w <= room {
                room -= w;
                out.push(span);
                continue;
            }
            // The first that does not fit is cut, and what follows it left
            // out.
            cut = true;
            let end_w = Span::raw(end).width();
            let least = if end.is_empty() { 4 } else { FREE_MIN };
            if room < least {
                continue;
            }
            let body = span.content.strip_suffix(end).unwrap_or(&span.content);
            let said = format!("{}{end}", format::fit(body, room - end_w));
            room = room.saturating_sub(Span::raw(said.as_str()).width());
            out.push(Span::styled(said, span.style));
        }
        return fit_spans(out, width);
    }
    // No room even for the name: the free text goes, an alert is cut to
    // its least, and the name is cut so that the markers after it stay in
    // view: what it began as first, then the program's name.
    let alert_w = |span: &Span<'static>| span.width().min(FREE_MIN);
    let alerts: usize = (parts.iter())
        .filter(|(_, p)| matches!(p, Part::Alert(_)))
        .map(|(s, _)| alert_w(s))
        .sum();
    let names: Vec<usize> = (parts.iter())
        .filter(|(_, p)| *p == Part::Name)
        .map(|(s, _)| s.width())
        .collect();
    let name_w: usize = names.iter().sum();
    let mut room = width.saturating_sub(fixed - name_w + alerts);
    if room < 2 {
        // Not even that: the alerts go too (the detail pane says them).
        room = width.saturating_sub(fixed - name_w);
        if room < 2 {
            return fit_spans(parts.into_iter().map(|(s, _)| s).collect(), width);
        }
        parts.retain(|(_, p)| !matches!(p, Part::Alert(_)));
    }
    // The program's name (the last name part) has the room first.
    let mut shares = vec![0; names.len()];
    for (share, w) in shares.iter_mut().zip(&names).rev() {
        *share = (*w).min(room);
        room -= *share;
    }
    let mut shares = shares.into_iter();
    for (span, part) in parts {
        match part {
            Part::Keep => out.push(span),
            Part::Free(_) => {}
            Part::Alert(end) => {
                if span.width() <= FREE_MIN {
                    out.push(span);
                } else {
                    let body = span.content.strip_suffix(end).unwrap_or(&span.content);
                    let end_w = Span::raw(end).width();
                    let said = format!("{}{end}", format::fit(body, FREE_MIN - end_w));
                    out.push(Span::styled(said, span.style));
                }
            }
            Part::Name => {
                let said = format::fit(&span.content, shares.next().unwrap_or(0));
                if !said.is_empty() {
                    out.push(Span::styled(said, span.style));
                }
            }
        }
    }
    fit_spans(out, width)
}

/// Cuts spans to `width` columns (an ellipsis marks a cut), then pads
/// them to exactly `width`.
fn fit_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::with_capacity(spans.len() + 1);
    let mut used = 0;
    for s in spans {
        let w = s.width();
        if used + w <= width {
            used += w;
            out.push(s);
            continue;
        }
        let room = width - used;
        let cut = format::fit(&s.content, room);
        used += Span::raw(cut.as_str()).width();
        out.push(Span::styled(cut, s.style));
        break;
    }
    if used < width {
        out.push(Span::raw(" ".repeat(width - used)));
    }
    out
}

/// `HH:MM:SS` in the view's time zone.
fn clock(app: &App, ktime: u64) -> String {
    app.header
        .wall_time(ktime)
        .with_timezone(&app.tz)
        .format("%H:%M:%S")
        .to_string()
}

/// Date and time to the millisecond, with the zone's offset.
fn datetime(app: &App, ktime: u64) -> String {
    app.header
        .wall_time(ktime)
        .with_timezone(&app.tz)
        .format("%Y-%m-%d %H:%M:%S%.3f %:z")
        .to_string()
}

// ---- detail pane --------------------------------------------------------

fn detail_pane(frame: &mut Frame, app: &App, areas: &Areas) {
    let t = app.theme;
    let borders = if areas.side_by_side {
        Borders::TOP | Borders::LEFT
    } else {
        Borders::TOP
    };
    let border = if app.mode == Mode::Connections {
        t.title()
    } else {
        t.dim()
    };
    let node = app.selected_node();
    // Named as it was at the moment shown.
    let title = match (node, app.mode) {
        (Some(id), Mode::Connections) => format!(" Connections of {} ", node_ref(app, id)),
        (Some(id), _) => format!(" {} ", node_ref(app, id)),
        (None, _) => " Details ".to_string(),
    };
    let block = Block::new()
        .borders(borders)
        .border_style(border)
        .title(Span::styled(title, t.title()));
    frame.render_widget(block, areas.detail);
    let body = areas.detail_body;
    let lines = match (node, app.selected) {
        (Some(id), _) if app.mode == Mode::Connections => {
            conn_list(frame.buffer_mut(), app, id, body);
            return;
        }
        (Some(id), _) => node_detail(app, id, body.width, body.height),
        (None, Some(Item::Orphans)) => vec![
            Line::from("Processes whose parent was never seen: their parent"),
            Line::from("exited before causeway started, or its fork was lost."),
            Line::from("They are not guessed into the tree."),
        ],
        (None, _) => vec![Line::from(Span::styled("Nothing selected.", t.dim()))],
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
}

/// A list of signals in the detail pane (`rows`: time, signal, from or to
/// whom; oldest first): `what` and how many, then the newest
/// [`SIGNALS_SHOWN`]. Nothing for none.
fn signal_lines(app: &App, what: &str, rows: &[(u64, i32, String)]) -> Vec<Line<'static>> {
    let t = app.theme;
    if rows.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::from(vec![
        label(app, what),
        Span::raw(rows.len().to_string()),
    ])];
    lines.extend(earlier(app, rows.len().saturating_sub(SIGNALS_SHOWN)));
    for (time, signal, who) in rows.iter().rev().take(SIGNALS_SHOWN).rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<12} ", clock(app, *time)), t.dim()),
            Span::styled(signal_name(*signal), t.failure()),
            Span::raw(who.clone()),
        ]));
    }
    lines
}

/// `  … N earlier`, dim, when `n` items of a list are left out (its oldest).
fn earlier(app: &App, n: usize) -> Option<Line<'static>> {
    (n > 0).then(|| Line::from(Span::styled(format!("  … {n} earlier"), app.theme.dim())))
}

/// An argv as [`format::argv`] writes it, cut to about `room` characters,
/// saying how many more there were.
fn cut_chars(argv: &[Vec<u8>], room: usize) -> String {
    let bytes: usize = argv.iter().map(|a| a.len() + 3).sum();
    if bytes <= room {
        return format::argv(argv, room);
    }
    let whole = format::argv(argv, usize::MAX);
    let total = whole.chars().count();
    if total <= room {
        return whole;
    }
    // Room for the note, whose count has at most 13 characters.
    let keep = room.saturating_sub(48).max(1);
    let mut out: String = whole.chars().take(keep).collect();
    let _ = write!(
        out,
        "… ({} more characters: x exports them)",
        format::count((total - keep) as u64)
    );
    out
}

fn label(app: &App, l: &str) -> Span<'static> {
    Span::styled(format!("{l:<9}"), app.theme.label())
}

/// Who sent a signal: the process (as the tree knows it, else as the probe
/// named it) and its user, or the kernel.
fn sender(app: &App, s: &SignalInfo, to: ProcKey) -> String {
    let Some(from) = &s.sender else {
        return "the kernel".to_string();
    };
    let who = match app.tree.find(from.proc) {
        Some(id) => node_ref(app, id),
        None => format!("{} {}", from.proc.pid, printable(from.comm.as_str())),
    };
    let who = format!("{who} ({})", app.users.display(from.uid));
    match (s.oom, from.proc == to) {
        (true, true) => "the OOM killer, when it needed memory".to_string(),
        (true, false) => format!("the OOM killer, when {who} needed memory"),
        (false, true) => "itself".to_string(),
        (false, false) => who,
    }
}

/// A process by pid and name, as it was at the moment shown.
fn node_ref(app: &App, id: NodeId) -> String {
    let n = node_at(&app.tree, id, app.at);
    format!("{} {}", n.node.key.pid, n.display_name())
}

/// A process by pid and name as its row names it at the moment shown,
/// with what it began as: `8250 bash→curl`.
fn full_ref(app: &App, id: NodeId) -> String {
    let n = node_at(&app.tree, id, app.at);
    format!("{} {}", n.node.key.pid, n.full_name())
}

fn node_detail(app: &App, id: NodeId, width: u16, height: u16) -> Vec<Line<'static>> {
    let (width, height) = (usize::from(width), usize::from(height));
    let t = app.theme;
    // As of the moment shown (now, unless scrubbed back).
    let at = node_at(&app.tree, id, app.at);
    let n = at.node;
    let now = app.view_time();
    let mut lines = Vec::new();

    let name = at.display_name();
    let mut ident = vec![
        label(app, "process"),
        Span::styled(name.clone(), t.title()),
        Span::raw(format!("  pid {}", n.key.pid)),
    ];
    let comm = printable(n.comm.as_str());
    // The comm is as last seen: scrubbed back to before an exec, it is
    // the later program's.
    let later_exec = at.execs.len() < n.execs.len();
    // Nor, before it renamed itself, the name it took.
    let later_name = n.renamed_at.is_some_and(|r| app.at.is_some_and(|t| t < r));
    // The comm is kept decoded, bytes that are not UTF-8 as U+FFFD: a
    // program named `t\xff` has the comm `t�`, its own name.
    let decoded = (at.current_exec())
        .filter(|e| !e.exe.is_empty())
        .map(|e| printable(&String::from_utf8_lossy(crate::graph::basename(&e.exe))));
    let own = comm == name || decoded.is_some_and(|d| d == comm);
    if !own && !comm.is_empty() && !later_exec && !later_name {
        // A name it gave itself stands out; another (a kernel thread's,
        // a script's interpreter's) does not.
        let style = if at.renamed_to(app.at).is_some() {
            t.alert()
        } else {
            t.dim()
        };
        ident.push(Span::styled(format!("  comm {comm}"), style));
    }
    if n.seeded {
        let when = if n.started_unseen {
            "  seeded (started between two recordings, unseen)"
        } else if app.header.continued {
            "  seeded (running when this journal file began)"
        } else {
            "  seeded (running before causeway began)"
        };
        ident.push(Span::styled(when, t.seeded()));
    }
    lines.push(Line::from(ident));
    lines.push(Line::from(vec![
        label(app, "started"),
        Span::raw(datetime(app, n.start())),
        Span::styled(
            format!(
                "  ({} ago)",
                format::duration(now.saturating_sub(n.start()))
            ),
            t.dim(),
        ),
    ]));
    match (at.exit_time, at.exit) {
        (Some(end), None) if n.gone.is_some() => {
            let from = n.gone.unwrap_or(end);
            // A journal's recorder that had stopped before a live view
            // began: the stretch ends at the view, not at a recording.
            let between = match app.tree.gaps().iter().find(|g| g.stretch.from == from) {
                Some(g) if g.stretch.after == crate::live::LIVE_VIEW => {
                    format!("between the end of {} and the live view", g.stretch.before)
                }
                _ => "between two recordings".to_string(),
            };
            lines.push(Line::from(vec![
                label(app, "ended"),
                Span::styled("gone", t.dim()),
                Span::raw(format!(
                    ": ended unseen {between}, after {} and before {}",
                    datetime(app, from),
                    datetime(app, end)
                )),
            ]));
        }
        (Some(end), status) => {
            let how = status.map_or_else(|| "exited".to_string(), |s| s.to_string());
            let style = if format::is_failure(status) {
                t.failure()
            } else {
                Theme::plain()
            };
            let when = if n.defunct {
                // Found so at the scan: its end came before.
                format!(
                    "before {}, its parent yet to collect it (a zombie)  ",
                    datetime(app, end)
                )
            } else {
                format!(
                    "{}  after {}  ",
                    datetime(app, end),
                    format::duration(end.saturating_sub(n.start()))
                )
            };
            let mut ended = vec![
                label(app, "ended"),
                Span::raw(when),
                Span::styled(how, style),
            ];
            // Killed: by whom, when the signal that did it was seen sent.
            if matches!(status, Some(ExitStatus::Signal { .. })) {
                if let Some(s) = n.killed_by() {
                    ended.push(Span::raw(format!(
                        "  sent by {}",
                        sender(app, &s.info, n.key)
                    )));
                }
            }
            lines.push(Line::from(ended));
        }
        (None, _) => {
            lines.push(Line::from(match app.gone_since(n.key) {
                Some(since) => vec![
                    label(app, "state"),
                    Span::styled("gone", t.dim()),
                    Span::raw(format!(
                        ": not in /proc since {}; its end was not seen (records lost?)",
                        datetime(app, since)
                    )),
                ],
                None => vec![
                    label(app, "state"),
                    Span::styled("running", t.running()),
                    Span::raw(format!(
                        " for {}",
                        format::duration(now.saturating_sub(n.start()))
                    )),
                ],
            }));
            if let Some(u) = app.usage_now(n.key) {
                let now = u.cpu.map_or_else(
                    || "CPU now: measured in a second".to_string(),
                    |c| format!("{} of a CPU now", format::cpu(c)),
                );
                lines.push(Line::from(vec![
                    label(app, "usage"),
                    Span::raw(format!(
                        "{now} · {} of CPU in all · {} resident",
                        format::duration(u64::try_from(u.cpu_total.as_nanos()).unwrap_or(u64::MAX)),
                        format::bytes(u.rss)
                    )),
                ]));
            }
        }
    }
    // How its children ended: a crash loop, summed up.
    lines.extend(children_line(app, id, width));
    // Parents.
    let causal = match n.causal_parent {
        ParentLink::Known(p) => node_ref(app, p),
        ParentLink::Unknown(k) => format!("pid {} (never seen)", k.pid),
        ParentLink::Root => "none (a root)".to_string(),
    };
    let mut parent = vec![label(app, "parent"), Span::raw(causal)];
    // A parent that has exec'd since: what it ran when it forked this one.
    if let ParentLink::Known(p) = n.causal_parent {
        let then = app.tree.program_at(p, n.start());
        let parent_at = node_at(&app.tree, p, app.at);
        let now = parent_at.current_exec();
        if let (Some(then), Some(now)) = (then, now) {
            if !std::ptr::eq(then, now) {
                parent.push(Span::styled("  forked this running ", t.label()));
                parent.push(Span::raw(if then.argv.is_empty() {
                    format::text(&then.exe, ARGV_MAX)
                } else {
                    format::argv(&then.argv, ARGV_MAX)
                }));
            }
        }
    }
    if n.parent_inferred {
        parent.push(Span::styled(
            "  (inferred: its fork was not seen)",
            t.label(),
        ));
    } else if n.adopted {
        parent.push(Span::styled(
            "  (adopted: an orphan when causeway began; who started it is not known)",
            t.alert(),
        ));
    }
    lines.push(Line::from(parent));
    let causal_key = match n.causal_parent {
        ParentLink::Known(p) => Some(app.tree.node(p).key),
        ParentLink::Unknown(k) => Some(k),
        ParentLink::Root => None,
    };
    // Scrubbed back to a moment its parent was still running, the parent
    // that started it was its parent then: what it became since is later.
    let parent_alive_then = app.at.is_some_and(|t| {
        n.parent_id()
            .is_some_and(|p| app.tree.node(p).exit_time.is_none_or(|e| e > t))
    });
    let same = parent_alive_then
        || match (causal_key, n.current_parent) {
            (Some(a), Some(b)) => a.same_process(b),
            (None, None) => true,
            _ => false,
        };
    if !same {
        let now_parent = match n.current_parent {
            Some(k) => match app.tree.find(k) {
                Some(p) => format!("{} (reparented)", node_ref(app, p)),
                None => format!("pid {} (reparented)", k.pid),
            },
            None if n.is_alive() => {
                "not yet known (its parent exited; init or a subreaper adopts it)".to_string()
            }
            None => "none".to_string(),
        };
        lines.push(Line::from(vec![label(app, "now"), Span::raw(now_parent)]));
    }
    let mut user = vec![
        label(app, "user"),
        Span::raw(format!(
            "{} (uid {}, gid {})",
            app.users.display(n.uid),
            n.uid,
            n.gid
        )),
    ];
    // The network namespaces its connections were in: what tells one
    // container's loopback from another's.
    let netns = namespaces(app, at.conns);
    if !netns.is_empty() {
        let mut list: Vec<String> = netns.iter().take(3).map(u32::to_string).collect();
        if netns.len() > 3 {
            list.push(format!("… ({} in all)", netns.len()));
        }
        user.push(Span::styled("  netns ", t.label()));
        user.push(Span::raw(list.join(", ")));
    }
    lines.push(Line::from(user));
    // Which service, container or pod: its cgroup's path when named.
    let cgroup = match app.tree.cgroup_path(n.cgroup) {
        Some(path) => printable(path),
        None => format!("{} (no name known)", n.cgroup),
    };
    lines.push(Line::from(vec![label(app, "cgroup"), Span::raw(cgroup)]));
    if n.forgotten_children > 0 {
        lines.push(Line::from(vec![
            label(app, "forgot"),
            Span::raw(format!(
                "{} exited children, oldest first, to bound memory (the journal keeps them)",
                format::count(n.forgotten_children)
            )),
        ]));
    }
    if let Some(exec) = at.current_exec() {
        if !exec.program().is_empty() {
            // The file the kernel ran, and the path it was exec'd by when
            // that says something else (relative, a symlink, /dev/fd/3).
            let mut exe = vec![
                label(app, "exe"),
                Span::raw(format::text(exec.program(), ARGV_MAX)),
            ];
            if exec.memfd() {
                exe.push(Span::styled(
                    " (deleted: a memfd, a program with no file on disk)",
                    t.alert(),
                ));
            } else if exec.deleted {
                exe.push(Span::styled(" (deleted)", t.alert()));
            }
            if !exec.file.is_empty() && exec.file != exec.exe {
                exe.push(Span::styled("  exec'd as ", t.label()));
                exe.push(Span::raw(format::text(&exec.exe, ARGV_MAX)));
            }
            lines.push(Line::from(exe));
        }
        if let Some(RunAs::Disguise(name)) = at.run_as() {
            lines.push(Line::from(vec![
                label(app, "argv0"),
                Span::styled(
                    format!("{name}  (not its program's name: passing for another)"),
                    t.alert(),
                ),
            ]));
        }
        // At most a quarter of the pane (three lines at least), so that
        // what follows (execs, how it ended, connections) stays in sight.
        let room = width.saturating_sub(9).max(20) * (height / 4).max(3);
        let mut argv = cut_chars(&exec.argv, room);
        if exec.argv_truncated {
            argv.push_str(" …(cut by the probe)");
        }
        lines.push(Line::from(vec![label(app, "argv"), Span::raw(argv)]));
    }
    // Exec history, newest last; only when there is history to tell.
    if at.execs.len() > 1 || at.execs.first().is_some_and(|e| e.time.is_some()) {
        lines.push(Line::from(vec![
            label(app, "execs"),
            Span::raw(format!("{}", at.execs.len())),
        ]));
        let skip = at.execs.len().saturating_sub(DETAIL_LIST_MAX);
        lines.extend(earlier(app, skip));
        // What it was before, when it did something then: the children and
        // connections of that time are not the program's.
        if let Some(name) = app.tree.before_exec(id).filter(|_| skip == 0) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<12} ", clock(app, n.start())), t.dim()),
                Span::raw(printable_name(name)),
                Span::styled("  as forked, before its first exec", t.dim()),
            ]));
        }
        for e in &at.execs[skip..] {
            let when = e
                .time
                .map_or_else(|| "before start".to_string(), |k| clock(app, k));
            lines.push(Line::from(vec![
                Span::styled(format!("  {when:<12} "), t.dim()),
                Span::raw(format::text(e.info.program(), 512)),
                Span::styled(if e.info.deleted { " (deleted)" } else { "" }, t.alert()),
                Span::styled(format!("  {}", format::argv(&e.info.argv, 200)), t.dim()),
            ]));
        }
    }
    // Signals sent to it by then, and those it sent to others (what it
    // ended), newest last.
    let by_then = |time: u64| app.at.is_none_or(|t| time <= t);
    let received: Vec<_> = (n.signals.iter().take_while(|s| by_then(s.time)))
        .map(|s| {
            (
                s.time,
                s.info.signal,
                format!(" from {}", sender(app, &s.info, n.key)),
            )
        })
        .collect();
    lines.extend(signal_lines(app, "signals", &received));
    let sent: Vec<_> = (n.sent.iter().take_while(|s| by_then(s.time)))
        .map(|s| {
            let to = app
                .tree
                .find(s.to)
                .map_or_else(|| s.to.pid.to_string(), |id| node_ref(app, id));
            (s.time, s.signal, format!(" to {to}"))
        })
        .collect();
    lines.extend(signal_lines(app, "sent", &sent));
    let counts = at.counts(&app.tree, app.at);
    if counts.total() > 0 {
        let forgotten = match counts.forgotten {
            0 => String::new(),
            f => format!(", {} oldest closed forgotten", format::count(f)),
        };
        let stuck = |n: u64, what: &str| match n {
            0 => String::new(),
            n => format!(", {} {what}", format::count(n)),
        };
        let connecting = stuck(counts.connecting, "connecting");
        let close_wait = stuck(counts.close_wait, "close-wait");
        let mut conns = vec![
            label(app, "conns"),
            Span::raw(format!(
                "{} ({} open{connecting}{close_wait}{forgotten})  ",
                format::count(counts.total()),
                format::count(counts.open)
            )),
        ];
        if counts.failed > 0 {
            conns.push(Span::styled(
                format!("{} failed  ", format::count(counts.failed)),
                t.failure(),
            ));
        }
        conns.extend([Span::styled("c", t.key()), Span::raw(" lists them")]);
        if lines.len() >= height {
            // A short pane (a terminal of 80×24): where its connections
            // stand comes second, before what does not fit.
            lines.insert(1.min(lines.len()), Line::from(conns));
            return lines;
        }
        lines.push(Line::from(conns));
        let room = height.saturating_sub(lines.len()).min(DETAIL_LIST_MAX);
        let each_netns = netns.len() > 1;
        if at.conns.len() <= room {
            for &c in at.conns {
                lines.push(conn_line(app, c, false, each_netns, None));
            }
        } else {
            // More than fit: where they went, the busiest first (the
            // oldest few alone said little of a server's 100,000).
            lines.extend(conn_groups(app, at.conns, room));
        }
    }
    lines
}

/// How many of a process's connections, the newest, the detail pane
/// gathers by where they went: a frame's work stays bounded whatever the
/// process made.
const GROUPED_MAX: usize = 20_000;

/// Connections that went the same way: out to one address, in to one
/// local address, or a listener.
struct ConnGroup {
    direction: Direction,
    protocol: Protocol,
    /// The remote end of an outbound one; the local end of the others.
    end: std::net::SocketAddr,
    count: u64,
    open: u64,
    /// Open, with the peer's end closed (as of the moment shown).
    close_wait: u64,
    /// Failures by kind, as of the moment shown.
    failed: Vec<(Failure, u64)>,
    /// Inbound: the addresses they came from.
    from: foldhash::HashSet<std::net::IpAddr>,
    /// When the newest began.
    newest: u64,
    /// Outbound to many ports of one host, all failed (a port scan): the
    /// ports, in order; `end`'s port is then 0. Empty for one address.
    ports: Vec<u16>,
}

impl ConnGroup {
    /// Ended, every one in a failure.
    fn all_failed(&self) -> bool {
        self.open == 0 && self.failed.iter().map(|(_, n)| n).sum::<u64>() == self.count
    }
}

/// Ports of one host, at least, whose connections all failed for them to
/// be said as one line (see [`by_host`]).
const PORTS_AS_HOST: usize = 3;

/// `groups` with the outbound ones to [`PORTS_AS_HOST`] or more ports of
/// one host whose connections all failed gathered into one for the host
/// (a port scan: `→ 127.0.0.1 tcp  200 ports (20000–20199)  all refused`,
/// not 200 lines of one port each); what else went to that host keeps
/// its line.
fn by_host(groups: Vec<ConnGroup>) -> Vec<ConnGroup> {
    let mut hosts: crate::hash::KeyedMap<(Protocol, std::net::IpAddr), usize> = Default::default();
    for g in &groups {
        if g.direction == Direction::Outbound && g.all_failed() {
            *hosts.entry((g.protocol, g.end.ip())).or_default() += 1;
        }
    }
    let mut merged: crate::hash::KeyedMap<(Protocol, std::net::IpAddr), usize> = Default::default();
    let mut out: Vec<ConnGroup> = Vec::with_capacity(groups.len());
    for g in groups {
        let host = (g.protocol, g.end.ip());
        let many = hosts.get(&host).is_some_and(|&n| n >= PORTS_AS_HOST);
        if g.direction != Direction::Outbound || !g.all_failed() || !many {
            out.push(g);
            continue;
        }
        let i = *merged.entry(host).or_insert_with(|| {
            out.push(ConnGroup {
                end: std::net::SocketAddr::new(host.1, 0),
                count: 0,
                failed: Vec::new(),
                newest: 0,
                ports: Vec::new(),
                ..g
            });
            out.len() - 1
        });
        let h = &mut out[i];
        h.count += g.count;
        h.newest = h.newest.max(g.newest);
        h.ports.push(g.end.port());
        for (f, n) in g.failed {
            match h.failed.iter_mut().find(|(k, _)| *k == f) {
                Some((_, m)) => *m += n,
                None => h.failed.push((f, n)),
            }
        }
    }
    for g in &mut out {
        g.ports.sort_unstable();
    }
    out
}

/// The ports of a host's line: `200 ports (20000–20199)` when they run on
/// without a gap, `3 ports (22, 80, 443)`, else `40 ports in 22–9000`.
fn ports_said(ports: &[u16]) -> String {
    let n = format::count(ports.len() as u64);
    match (ports.first(), ports.last()) {
        (Some(&a), Some(&b)) if usize::from(b - a) + 1 == ports.len() => {
            format!("{n} ports ({a}–{b})")
        }
        (Some(_), Some(_)) if ports.len() <= 4 => {
            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
            format!("{n} ports ({})", list.join(", "))
        }
        (Some(a), Some(b)) => format!("{n} ports in {a}–{b}"),
        _ => format!("{n} ports"),
    }
}

/// At most `room` lines: the connections `conns` (as of the moment shown;
/// the newest [`GROUPED_MAX`]) gathered by where they went, the busiest
/// first, each with how many are open and how many failed, and how;
/// then how many more ways there were.
fn conn_groups(app: &App, conns: &[ConnId], room: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let newest = &conns[conns.len().saturating_sub(GROUPED_MAX)..];
    let mut groups: Vec<ConnGroup> = Vec::new();
    let mut index: crate::hash::KeyedMap<_, usize> = Default::default();
    for &id in newest {
        let c = app.tree.conn(id);
        let end = match c.direction {
            Direction::Outbound => c.remote,
            Direction::Inbound | Direction::Listen => c.local,
        };
        let i = *index
            .entry((c.direction, c.protocol, end))
            .or_insert_with(|| {
                groups.push(ConnGroup {
                    direction: c.direction,
                    protocol: c.protocol,
                    end,
                    count: 0,
                    open: 0,
                    close_wait: 0,
                    failed: Vec::new(),
                    from: Default::default(),
                    newest: 0,
                    ports: Vec::new(),
                });
                groups.len() - 1
            });
        let g = &mut groups[i];
        g.count += 1;
        g.newest = g.newest.max(c.start);
        let ended = conn_end(c, app.at);
        if ended.is_none() {
            g.open += 1;
            if conn_state(c, app.at) == ConnState::CloseWait {
                g.close_wait += 1;
            }
        }
        if let Some(f) = ended.and(c.failure()) {
            match g.failed.iter_mut().find(|(k, _)| *k == f) {
                Some((_, n)) => *n += 1,
                None => g.failed.push((f, 1)),
            }
        }
        if c.direction == Direction::Inbound {
            g.from.insert(c.remote.ip());
        }
    }
    let mut groups = by_host(groups);
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.newest.cmp(&a.newest)));
    let mut lines = Vec::new();
    if newest.len() < conns.len() {
        lines.push(Line::from(Span::styled(
            format!("  the newest {}:", format::count(newest.len() as u64)),
            t.dim(),
        )));
    }
    let shown = if groups.len() + lines.len() > room {
        room.saturating_sub(lines.len() + 1)
    } else {
        groups.len()
    };
    for g in &groups[..shown] {
        let (arrow, what) = match g.direction {
            Direction::Outbound if !g.ports.is_empty() => ("→", g.end.ip().to_string()),
            Direction::Outbound => ("→", g.end.to_string()),
            Direction::Inbound => ("←", g.end.to_string()),
            Direction::Listen => ("◉", g.end.to_string()),
        };
        let mut spans = vec![
            Span::styled(format!("  {arrow} "), t.net()),
            Span::raw(format!("{what} {}", g.protocol.as_str())),
        ];
        if !g.ports.is_empty() {
            spans.push(Span::raw(format!("  {}", ports_said(&g.ports))));
            // Tried again: more connections than ports.
            if g.count != g.ports.len() as u64 {
                spans.push(Span::raw(format!("  ×{}", format::count(g.count))));
            }
        } else if g.direction != Direction::Listen {
            spans.push(Span::raw(format!("  ×{}", format::count(g.count))));
        }
        if g.direction == Direction::Inbound {
            spans.push(Span::styled(
                format!(
                    " from {}",
                    format::counted(g.from.len() as u64, "address", "addresses")
                ),
                t.dim(),
            ));
        }
        if g.open > 0 {
            let open = if g.direction == Direction::Listen {
                "listening".to_string()
            } else {
                format!("{} open", format::count(g.open))
            };
            spans.push(Span::styled(format!("  {open}"), t.running()));
        }
        if g.close_wait > 0 {
            spans.push(Span::styled(
                format!("  {} close-wait", format::count(g.close_wait)),
                t.alert(),
            ));
        }
        let mut failed = g.failed.clone();
        failed.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        // A host's ports that all failed one way: said once.
        if let ([(f, _)], false) = (failed.as_slice(), g.ports.is_empty()) {
            spans.push(Span::styled(
                format!("  all {}", failure_word(*f)),
                t.failure(),
            ));
            lines.push(Line::from(spans));
            continue;
        }
        for (f, n) in failed.iter().take(2) {
            spans.push(Span::styled(
                format!("  {} {}", format::count(*n), failure_word(*f)),
                t.failure(),
            ));
        }
        if failed.len() > 2 {
            spans.push(Span::styled(" …", t.failure()));
        }
        // All ended, none failed: said, not left to be guessed.
        if g.open == 0 && failed.is_empty() {
            spans.push(Span::styled("  all closed", t.dim()));
        }
        lines.push(Line::from(spans));
    }
    if shown < groups.len() {
        lines.push(Line::from(Span::styled(
            format!(
                "  … {} more destinations",
                format::count((groups.len() - shown) as u64)
            ),
            t.dim(),
        )));
    }
    lines
}

/// The network namespaces of `conns`, each once, in the order they came
/// (0, unknown in a journal older than the field, left out).
fn namespaces(app: &App, conns: &[ConnId]) -> Vec<u32> {
    let mut seen = Vec::new();
    for &c in conns {
        let ns = app.tree.conn(c).netns;
        if ns != 0 && !seen.contains(&ns) {
            seen.push(ns);
        }
    }
    seen
}

/// What a connection row can do without, in the order it goes when the
/// row is wider than its room: the process at the other end is what the
/// connection list is for (Enter jumps there), so it stays, after the
/// addresses and the state; the spaces that line the states up go first,
/// then the direction's word (the arrow says it too), when it started, how
/// long it lasted, its network namespace and what it carried.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Spare {
    Padding,
    Direction,
    Started,
    Lasted,
    Netns,
    Carried,
}

const DROP_FIRST: [Spare; 6] = [
    Spare::Padding,
    Spare::Direction,
    Spare::Started,
    Spare::Lasted,
    Spare::Netns,
    Spare::Carried,
];

/// One connection, as a row of the detail pane or the connection list;
/// with its network namespace when `netns` (the process's connections
/// are in more than one). With `width`, parts it can do without go (see
/// [`Spare`]) until it fits; what still does not fit is for the caller to
/// cut.
fn conn_line(
    app: &App,
    id: ConnId,
    selected: bool,
    netns: bool,
    width: Option<usize>,
) -> Line<'static> {
    let t = app.theme;
    let c = app.tree.conn(id);
    let ended = conn_end(c, app.at);
    let state = conn_state(c, app.at);
    let end = ended.unwrap_or_else(|| app.view_time());
    let peer = app.tree.peer_process(id);
    // How it failed, once it had ended by the moment shown.
    let failure = ended.and(c.failure());
    let arrow = match c.direction {
        Direction::Outbound => "→",
        Direction::Inbound => "←",
        Direction::Listen => "◉",
    };
    let dir = match c.direction {
        Direction::Outbound => "out",
        Direction::Inbound => "in",
        Direction::Listen => "listen",
    };
    // A listener has no other end: its remote is all zeros.
    let remote = if c.direction == Direction::Listen {
        String::new()
    } else {
        format!("{} ", c.remote)
    };
    let said = match failure {
        Some(f) => Span::styled(failure_word(f), t.failure()),
        // Open and unused since it was found so: a hung worker's.
        None if c.unused && matches!(state, ConnState::Open | ConnState::CloseWait) => {
            Span::styled("unused", t.alert())
        }
        // Its connect() not answered yet, for a while: a hung client's.
        None if state == ConnState::Connecting => Span::styled("connecting", t.alert()),
        // Its peer gave up on it and it is still held: a leak, or a
        // server that no longer reads.
        None if state == ConnState::CloseWait => Span::styled("close-wait", t.alert()),
        None => Span::styled(
            state.as_str(),
            if ended.is_some() {
                t.dim()
            } else {
                t.running()
            },
        ),
    };
    let said_width = said.width();
    let mut parts = vec![
        (
            Span::styled(if peer.is_some() { "⇄ " } else { "  " }, t.net()),
            None,
        ),
        (Span::raw(format!("{dir:<6} ")), Some(Spare::Direction)),
        (
            Span::raw(format!(
                "{} {} {arrow} {remote}",
                c.protocol.as_str(),
                c.local,
            )),
            None,
        ),
        (said, None),
        // The states lined up, in 10 columns.
        (
            Span::raw(" ".repeat(10usize.saturating_sub(said_width))),
            Some(Spare::Padding),
        ),
        // A connection open before causeway started opened before it was
        // listed: its start and duration are bounds.
        (
            Span::raw(format!(
                " {}{}",
                if c.seeded { "≤" } else { "" },
                clock(app, c.start)
            )),
            Some(Spare::Started),
        ),
        (
            Span::raw(format!(
                " {}{}",
                if c.seeded { "≥" } else { "" },
                format::duration(end.saturating_sub(c.start))
            )),
            Some(Spare::Lasted),
        ),
    ];
    if let Some(carried) = format::carried(
        c.protocol == Protocol::Tcp,
        state == ConnState::Closed,
        c.direction == Direction::Listen,
        failure.is_some(),
        (c.bytes_sent, c.bytes_received),
    ) {
        parts.push((Span::raw(format!(" {carried}")), Some(Spare::Carried)));
    }
    // Opened before its process exec'd: not by the program it runs.
    if let Some(name) = opened_as(&app.tree, id, app.at) {
        parts.push((Span::styled(format!(" (as {name})"), t.dim()), None));
    }
    if netns && c.netns != 0 {
        parts.push((
            Span::styled(format!(" netns {}", c.netns), t.dim()),
            Some(Spare::Netns),
        ));
    }
    if let Some(p) = peer {
        parts.push((
            Span::styled(format!(" ⇄ {}", full_ref(app, p)), t.net()),
            None,
        ));
    }
    if let Some(width) = width {
        for spare in DROP_FIRST {
            if parts.iter().map(|(s, _)| s.width()).sum::<usize>() <= width {
                break;
            }
            parts.retain(|&(_, p)| p != Some(spare));
        }
    }
    let mut line = Line::from(parts.into_iter().map(|(s, _)| s).collect::<Vec<_>>());
    if selected {
        line = line.style(t.selected());
    }
    line
}

/// A failure as a connection row says it: an unnamed error by its errno.
fn failure_word(f: Failure) -> String {
    match f {
        Failure::Error(errno) => errno_name(errno),
        f => f.as_str().to_string(),
    }
}

fn conn_list(buf: &mut Buffer, app: &App, id: NodeId, body: Rect) {
    let t = app.theme;
    let conns = app.conns_shown(id);
    let header = Line::from(Span::styled(
        format!(
            "{} · Enter on ⇄ jumps to the peer process · Esc back",
            format::counted(conns.len() as u64, "connection", "connections")
        ),
        t.dim(),
    ));
    buf.set_line(body.x, body.y, &header, body.width);
    let rows = usize::from(body.height.saturating_sub(1));
    let each_netns = namespaces(app, conns).len() > 1;
    for (i, &c) in conns.iter().skip(app.conn_offset).take(rows).enumerate() {
        let y = body.y + 1 + i as u16;
        let selected = app.conn_offset + i == app.conn_sel;
        // What does not fit once the row has left out what it can spare
        // is cut with an ellipsis, so that a name cut short looks cut.
        let width = usize::from(body.width);
        let line = conn_line(app, c, selected, each_netns, Some(width));
        let line = Line::from(fit_spans(line.spans, width));
        if selected {
            buf.set_style(Rect::new(body.x, y, body.width, 1), t.selected());
        }
        buf.set_line(body.x, y, &line, body.width);
    }
}

// ---- help ---------------------------------------------------------------

fn help_overlay(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let mut lines = Vec::new();
    for (k, what) in HELP {
        lines.push(Line::from(vec![
            Span::styled(format!(" {k:<14} "), t.key()),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::from(""));
    for (k, what) in LEGEND {
        lines.push(Line::from(vec![
            Span::styled(format!(" {k:<14} "), t.marker()),
            Span::raw(*what),
        ]));
    }
    let w = 72.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(" Keys — ? or Esc closes ", t.title()));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
