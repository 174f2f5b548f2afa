//! The view's state, and how messages and actions change it. Nothing here
//! touches the terminal: the event loop feeds it, and rendering reads it.

use chrono::{FixedOffset, Offset, Utc};
use ratatui::layout::Rect;

use super::find::Query;
use super::format;
use super::keys::{Action, Mode};
use super::layout::{Areas, layout};
use super::rows::{Item, Rows};
use super::theme::Theme;
use super::users::Users;
use crate::event::{Message, ProcKey};
use crate::graph::{CausalTree, ConnId, Connection, NodeId, ParentLink};
use crate::journal::Header;

/// How long a new process stays highlighted, ns.
pub const NEW_WINDOW_NS: u64 = 2_000_000_000;

/// Where the view's messages come from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SourceKind {
    Live,
    Replay {
        /// The journal's file name, as shown.
        name: String,
        /// What was skipped while loading it (`Loaded::problem_summary`).
        problems: Option<String>,
    },
}

/// Figures the event loop measures on its tick (never while drawing).
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct Status {
    /// Events per second over the last second (live only).
    pub rate: Option<f64>,
    /// Resident memory of this process, bytes.
    pub mem: Option<u64>,
    /// The live feed has ended (the probe stopped).
    pub feed_closed: bool,
}

/// Processes in a chain past which `x` asks before writing it (about
/// 1 KB of JSON each).
pub const LARGE_CHAIN: usize = 10_000;

/// The whole state of the view.
pub struct App {
    pub tree: CausalTree,
    pub rows: Rows,
    pub source: SourceKind,
    pub header: Header,
    pub users: Users,
    /// The local time zone's offset, fixed when the view starts.
    pub tz: FixedOffset,
    pub theme: Theme,
    pub selected: Option<Item>,
    /// First tree row shown.
    pub offset: usize,
    /// Tree or connections (the help overlay is `help`).
    pub mode: Mode,
    pub help: bool,
    pub follow: bool,
    /// The selected connection, as an index into the selected process's
    /// connection list.
    pub conn_sel: usize,
    pub conn_offset: usize,
    /// "Now" on the boot clock (live: sampled on the tick; replay: 0, so
    /// the journal's last event is now).
    pub now: u64,
    pub status: Status,
    /// The search being typed (shown in the footer while `mode` is
    /// `Search`).
    pub query: String,
    /// The last search submitted, for `n` and `N`.
    pub last_query: Option<String>,
    /// The filter (`\` or F4): only the processes it finds are shown, with
    /// their ancestors.
    pub filter: Option<String>,
    /// How many processes the filter found.
    pub filter_found: usize,
    /// The filter's marks, by node index: what it found and their
    /// ancestors.
    filter_marks: Vec<bool>,
    /// What the filter found, by node index.
    filter_hits: Vec<bool>,
    /// Processes the messages since the last [`App::settle`] were about,
    /// for the filter to look at again.
    touched: Vec<NodeId>,
    /// The tree renumbered its processes: the filter looks at every one.
    refilter: bool,
    /// A one-line answer to the last action (shown in the footer until the
    /// next one).
    pub flash: Option<String>,
    /// The terminal's size.
    pub size: Rect,
    pub quit: bool,
    /// A causal chain asked for (`x`): the event loop writes it, and says
    /// where in `flash`.
    pub export: Option<NodeId>,
    /// A chain too large to write at the first `x` (see
    /// [`LARGE_CHAIN`]): the second `x` on it writes it.
    pub export_asked: Option<NodeId>,
    /// Scrubbed back to this moment (boot-clock ns); `None`: now.
    pub at: Option<u64>,
    /// Processes running at `at`, and started by then, counted when it
    /// was set.
    pub alive_at: u64,
    pub started_at: u64,
    /// What each running process costs now (live only: sampled on the
    /// tick; empty in a replay).
    pub usage: std::collections::HashMap<ProcKey, crate::usage::Usage>,
    /// The processes `%` has selected since the walk down the ranking
    /// began, the last the newest: `%` on it goes to the busiest not yet
    /// shown, however the ranking changed since.
    busiest: Vec<ProcKey>,
    /// Running in the tree but missing from `/proc`, by process: when it
    /// was first found missing, and in how many samples in a row.
    missing: std::collections::HashMap<ProcKey, (u64, u32)>,
}

impl App {
    pub fn new(tree: CausalTree, source: SourceKind, header: Header, users: Users) -> Self {
        let rows = Rows::new(&tree);
        let mut app = App {
            tree,
            rows,
            source,
            header,
            users,
            tz: Utc.fix(),
            theme: Theme::default(),
            selected: None,
            offset: 0,
            mode: Mode::Tree,
            help: false,
            follow: false,
            conn_sel: 0,
            conn_offset: 0,
            now: 0,
            status: Status::default(),
            query: String::new(),
            last_query: None,
            filter: None,
            filter_found: 0,
            filter_marks: Vec::new(),
            filter_hits: Vec::new(),
            touched: Vec::new(),
            refilter: false,
            flash: None,
            size: Rect::new(0, 0, 80, 24),
            quit: false,
            export: None,
            export_asked: None,
            at: None,
            alive_at: 0,
            started_at: 0,
            usage: std::collections::HashMap::new(),
            busiest: Vec::new(),
            missing: std::collections::HashMap::new(),
        };
        app.fix_view();
        app
    }

    /// What has the keyboard.
    /// What keys mean now. On a terminal too small to draw the view, the
    /// tree's: `q` quits there even with a prompt open (nothing else acts,
    /// see [`App::handle`]).
    pub fn input_mode(&self) -> Mode {
        if self.areas().too_small {
            Mode::Tree
        } else if self.help {
            Mode::Help
        } else {
            self.mode
        }
    }

    pub fn is_live(&self) -> bool {
        self.source == SourceKind::Live
    }

    /// What `key` costs now, when the view shows now (not scrubbed back).
    pub fn usage_now(&self, key: ProcKey) -> Option<&crate::usage::Usage> {
        self.at.is_none().then(|| self.usage.get(&key)).flatten()
    }

    /// Takes a sample of what processes cost, made at boot-clock `now`.
    pub fn sampled(&mut self, sample: crate::usage::Sample, now: u64) {
        self.usage = sample.usage;
        for (key, comm) in sample.comms {
            self.tree.sampled_comm(key, comm, now);
        }
        let mut missing = std::collections::HashMap::with_capacity(sample.missing.len());
        for key in sample.missing {
            let (since, n) = self.missing.get(&key).copied().unwrap_or((now, 0));
            missing.insert(key, (since, n + 1));
        }
        self.missing = missing;
    }

    /// How many processes the tree has running are [`App::gone_since`].
    pub fn gone_count(&self) -> u64 {
        if self.at.is_some() {
            return 0;
        }
        let gone = self.missing.values().filter(|&&(_, n)| n >= 2).count();
        u64::try_from(gone).unwrap_or(u64::MAX)
    }

    /// When a process the tree has running was first found gone from
    /// `/proc`, once two samples in a row found it so (one alone may be
    /// its exit still on its way to the view); shown now only.
    pub fn gone_since(&self, key: ProcKey) -> Option<u64> {
        if self.at.is_some() {
            return None;
        }
        self.missing
            .get(&key)
            .filter(|&&(_, n)| n >= 2)
            .map(|&(since, _)| since)
    }

    /// The screen's areas for the current size.
    pub fn areas(&self) -> Areas {
        layout(self.size, self.banner().is_some())
    }

    /// The warning line under the status bar, if there is one.
    pub fn banner(&self) -> Option<String> {
        match &self.source {
            SourceKind::Replay { problems, .. } => {
                let damaged = problems.as_ref().map(|p| format!("damaged journal: {p}"));
                let gaps = super::format::gaps(self.tree.gaps(), self.header.boot_time_ns, self.tz);
                match (damaged, gaps) {
                    (Some(d), Some(g)) => Some(format!("{d} · {g}")),
                    (d, g) => d.or(g),
                }
            }
            SourceKind::Live if self.status.feed_closed => {
                Some("the probe stopped: no new events will arrive".to_string())
            }
            SourceKind::Live => None,
        }
    }

    /// Boot-clock ns that counts as now: the newer of the clock and the
    /// last event.
    pub fn now_ktime(&self) -> u64 {
        self.now.max(self.tree.last_ktime())
    }

    /// The moment the view shows: now, or where it was scrubbed back to.
    pub fn view_time(&self) -> u64 {
        self.at.unwrap_or_else(|| self.now_ktime())
    }

    /// Whether a process appeared within [`NEW_WINDOW_NS`] before the
    /// moment shown.
    pub fn is_new(&self, id: NodeId) -> bool {
        let n = self.tree.node(id);
        let t = self.view_time();
        !n.seeded && n.first_seen <= t && t - n.first_seen < NEW_WINDOW_NS
    }

    /// The connections of `id` the view shows (those opened by the moment
    /// shown).
    pub fn conns_shown(&self, id: NodeId) -> &[ConnId] {
        super::at::node_at(&self.tree, id, self.at).conns
    }

    pub fn selected_node(&self) -> Option<NodeId> {
        match self.selected {
            Some(Item::Node(n)) if n.index() < self.tree.len() => Some(n),
            _ => None,
        }
    }

    /// Rows the tree pane shows at once.
    pub fn tree_height(&self) -> usize {
        usize::from(self.areas().tree_body.height)
    }

    /// Rows of the connection list (the detail pane, less its header row).
    pub fn conn_height(&self) -> usize {
        usize::from(self.areas().detail_body.height.saturating_sub(1))
    }

    // ---- messages -------------------------------------------------------

    /// Applies one message to the tree and keeps the row index in step.
    /// Call [`App::settle`] after a batch.
    pub fn apply(&mut self, msg: &Message) {
        let before = self.tree.len();
        let generation = self.tree.conn_generation();
        let nodes = self.tree.node_generation();
        // The connection selected in the list, should the tree forget some
        // and renumber the rest.
        let held = match self.mode {
            Mode::Connections => self.selected_conn().map(|c| self.tree.conn(c).clone()),
            _ => None,
        };
        // The process shown is never forgotten.
        self.tree.pin(self.selected_node());
        self.tree.apply(msg);
        if self.filter.is_some() {
            if let Some(id) = subject(msg).and_then(|k| self.tree.find(k)) {
                self.touched.push(id);
            }
        }
        if self.tree.node_generation() != nodes {
            self.refilter = true;
            self.rows.renumber(&self.tree);
            if let Some(Item::Node(id)) = self.selected {
                let now = self.tree.renumbered().get(id.index()).copied().flatten();
                self.selected = now.map(Item::Node);
            }
        } else if self.tree.len() != before {
            self.rows.sync(&self.tree);
        }
        if self.tree.conn_generation() != generation {
            self.select_conn_again(held);
        }
    }

    /// After connections were forgotten: selects the connection that was
    /// selected, where it is now (the list may have lost some before it).
    fn select_conn_again(&mut self, held: Option<Connection>) {
        let (Some(held), Some(id)) = (held, self.selected_node()) else {
            return;
        };
        let same = |c: &Connection| {
            (c.start, c.cookie, c.local, c.remote)
                == (held.start, held.cookie, held.local, held.remote)
        };
        if let Some(i) = self
            .tree
            .node(id)
            .conns
            .iter()
            .position(|&c| same(self.tree.conn(c)))
        {
            self.conn_sel = i;
        }
    }

    /// The connection selected in the selected process's list.
    fn selected_conn(&self) -> Option<ConnId> {
        let id = self.selected_node()?;
        self.conns_shown(id).get(self.conn_sel).copied()
    }

    /// After a batch of messages: follow the newest process if asked, and
    /// keep the selection valid and on screen.
    pub fn settle(&mut self) {
        self.refresh_filter();
        if self.follow {
            self.select_newest();
        }
        self.fix_view();
    }

    // ---- the filter -----------------------------------------------------

    /// Whether the filter `q` finds process `id`: by its pid, name, argv or
    /// cgroup, or an address of any connection it had.
    fn filter_finds(&self, q: &Query, id: NodeId) -> bool {
        let node = self.tree.node(id);
        q.matches_process(node, self.tree.cgroup_path(node.cgroup), None)
            || (q.searches_conns()
                && node
                    .conns
                    .iter()
                    .any(|&c| q.matches_conn(self.tree.conn(c), None)))
    }

    /// Marks `id` and its ancestors; true if that marked anything new.
    fn filter_mark(&mut self, id: NodeId) -> bool {
        if self.filter_marks.get(id.index()).copied().unwrap_or(true) {
            // Marked already, and so are its ancestors.
            return false;
        }
        for a in self.tree.ancestors(id).into_iter().rev() {
            match self.filter_marks.get_mut(a.index()) {
                Some(m) if !*m => *m = true,
                _ => break,
            }
        }
        true
    }

    /// Looks at every process afresh for filter `q`; how many it finds.
    fn filter_all(&mut self, q: &Query) -> usize {
        self.filter_marks = vec![false; self.tree.len()];
        self.filter_hits = (0..self.tree.len())
            .map(|i| self.filter_finds(q, NodeId(i as u32)))
            .collect();
        let mut found = 0;
        for i in 0..self.tree.len() {
            if self.filter_hits[i] {
                found += 1;
                self.filter_mark(NodeId(i as u32));
            }
        }
        found
    }

    /// After messages: the filter looks at the new processes and those the
    /// messages were about (a fork's child execs, a process connects), and
    /// shows what it now finds. What it found once stays shown.
    fn refresh_filter(&mut self) {
        let Some(text) = &self.filter else {
            self.touched.clear();
            return;
        };
        let q = Query::parse(text);
        let mut touched = std::mem::take(&mut self.touched);
        if std::mem::take(&mut self.refilter) {
            self.filter_found = self.filter_all(&q);
            self.rows
                .set_filter(&self.tree, Some(self.filter_marks.clone()));
            return;
        }
        // A busy process is the subject of many messages of a batch: look
        // at it once, and at a new one once, with the new.
        touched.sort_unstable();
        touched.dedup();
        let known = self.filter_hits.len();
        self.filter_marks.resize(self.tree.len(), false);
        self.filter_hits.resize(self.tree.len(), false);
        let mut changed = false;
        let new = (known..self.tree.len()).map(|i| NodeId(i as u32));
        let old = touched.into_iter().filter(|id| id.index() < known);
        for id in old.chain(new) {
            if !self.filter_hits[id.index()] && self.filter_finds(&q, id) {
                self.filter_hits[id.index()] = true;
                self.filter_found += 1;
                changed |= self.filter_mark(id);
            }
        }
        if changed {
            self.rows
                .set_filter(&self.tree, Some(self.filter_marks.clone()));
        }
        // Said to find nothing yet when set: no longer true.
        if let Some(text) =
            (self.filter.as_deref()).filter(|_| self.filter_found > 0 && self.flash.is_some())
        {
            let waited = format!("no process matches \"{text}\" yet");
            if self.flash.as_ref().is_some_and(|f| f.starts_with(&waited)) {
                self.flash = Some(format!("filter \"{text}\" found what it waited for"));
            }
        }
    }

    /// Shows only what `text` finds, and its ancestors; or everything with
    /// an empty one. A filter that finds nothing yet is set in the live
    /// view (what it looks for may be about to start: `\ nginx` before a
    /// restart) and refused in a replay, where nothing more comes; either
    /// is said.
    fn apply_filter(&mut self, text: String) {
        if text.is_empty() {
            if self.filter.take().is_some() {
                self.filter_marks.clear();
                self.filter_hits.clear();
                self.rows.set_filter(&self.tree, None);
                self.flash = Some("filter off: every process".into());
            }
            return;
        }
        let q = Query::parse(&text);
        if let Some(unknown) = q.unknown_kind() {
            self.flash = Some(unknown);
            return;
        }
        let keep = (
            std::mem::take(&mut self.filter_marks),
            std::mem::take(&mut self.filter_hits),
        );
        let found = self.filter_all(&q);
        if found == 0 {
            if !self.is_live() {
                (self.filter_marks, self.filter_hits) = keep;
                self.flash = Some(format!("no process matches \"{text}\": filter unchanged"));
                return;
            }
            self.flash = Some(format!(
                "no process matches \"{text}\" yet: new ones show as the filter finds them"
            ));
        }
        self.filter = Some(text);
        self.filter_found = found;
        self.touched.clear();
        self.refilter = false;
        self.rows
            .set_filter(&self.tree, Some(self.filter_marks.clone()));
        // Keep the selection if the filter finds it, else the newest found.
        if !self
            .selected_node()
            .is_some_and(|id| self.filter_hits[id.index()])
        {
            let newest = self.filter_hits.iter().rposition(|&hit| hit);
            if let Some(i) = newest {
                let item = Item::Node(NodeId(i as u32));
                self.rows.reveal(&self.tree, item);
                self.select(item);
            }
        }
    }

    /// Selects the newest process (filtered: the newest shown), unfolding
    /// what hides it.
    pub fn select_newest(&mut self) {
        let newest = (0..self.tree.len())
            .rev()
            .find(|&i| self.rows.passes(NodeId(i as u32)));
        if let Some(last) = newest {
            let item = Item::Node(NodeId(last as u32));
            self.rows.reveal(&self.tree, item);
            self.select(item);
        }
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = Rect::new(0, 0, width, height);
        self.fix_view();
    }

    // ---- actions --------------------------------------------------------

    /// Applies a user action.
    pub fn handle(&mut self, action: Action) {
        // A terminal too small shows only how to enlarge it or quit: keys
        // acting on a view nobody sees would be surprises later.
        if self.areas().too_small && action != Action::Quit {
            return;
        }
        self.flash = None;
        // A large chain is written at an `x` right after the `x` that asked.
        let asked = self.export_asked.take();
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help = !self.help,
            Action::Back => {
                if self.help {
                    self.help = false;
                } else {
                    self.mode = Mode::Tree;
                }
            }
            Action::ToggleFollow => {
                self.follow = !self.follow;
                if self.follow {
                    self.scrub_to(None);
                    self.mode = Mode::Tree;
                    self.select_newest();
                    self.flash = Some("follow on: the newest process stays selected".into());
                } else {
                    self.flash = Some("follow off".into());
                }
            }
            Action::Click { column, row } => self.click(column, row),
            Action::Scroll(delta) => self.scroll(delta),
            _ if self.help => {}
            Action::ScrubPrev
            | Action::ScrubNext
            | Action::ScrubPrevHere
            | Action::ScrubNextHere
            | Action::ScrubBack
            | Action::ScrubForward
            | Action::ScrubNow => self.scrub(action),
            Action::Export => match self.selected_node() {
                Some(id) => self.ask_export(id, asked == Some(id)),
                None => self.flash = Some("select a process to export its chain".into()),
            },
            _ if matches!(self.mode, Mode::Search | Mode::Filter | Mode::Time) => {
                self.search_action(action)
            }
            _ if self.mode == Mode::Connections => self.conn_action(action),
            _ => self.tree_action(action),
        }
        self.fix_view();
    }

    /// Moves the moment shown (see [`super::at`]).
    fn scrub(&mut self, action: Action) {
        const STEP: u64 = 10_000_000_000;
        let now = self.now_ktime();
        let t = self.view_time();
        let floor = super::at::floor(&self.tree);
        let target = match action {
            Action::ScrubPrev => match super::at::step(&self.tree, t, false, floor) {
                Some(m) => Some(m),
                None => {
                    self.flash = Some("nothing earlier: causeway began here".into());
                    return;
                }
            },
            Action::ScrubNext => super::at::step(&self.tree, t, true, floor),
            Action::ScrubPrevHere | Action::ScrubNextHere => {
                let Some(id) = self.selected_node() else {
                    self.flash = Some("select a process to step through what it did".into());
                    return;
                };
                let forward = action == Action::ScrubNextHere;
                match super::at::step_in(&self.tree, id, t, forward, floor) {
                    Some(m) => Some(m),
                    None if forward => None,
                    None => {
                        self.flash =
                            Some("nothing earlier under it: causeway saw it begin here".into());
                        return;
                    }
                }
            }
            Action::ScrubBack => Some(t.saturating_sub(STEP).max(floor)),
            Action::ScrubForward => Some(t.saturating_add(STEP)),
            _ => None,
        };
        self.scrub_to(target.filter(|&m| m < now));
        let here = matches!(action, Action::ScrubPrevHere | Action::ScrubNextHere);
        let happened = (self.at.zip(self.selected_node()))
            .filter(|_| here)
            .and_then(|(t, id)| super::at::what_happened(&self.tree, id, t));
        self.flash = Some(match (self.at, happened) {
            (Some(_), Some(what)) => format!("{what}  (( ) steps, = now)"),
            (Some(_), None) => {
                "scrubbed back: [ ] step, ( ) the selection's, { } 10 s, = now".into()
            }
            (None, _) => "now".into(),
        });
    }

    /// Shows the tree as it was at `at` (`None`: now), keeping the
    /// selection on what had started by then.
    fn scrub_to(&mut self, at: Option<u64>) {
        self.at = at;
        if at.is_some() {
            self.follow = false;
        }
        self.rows.set_cutoff(&self.tree, at);
        if let Some(t) = at {
            (self.alive_at, self.started_at) = super::at::alive_at(&self.tree, t);
        }
        if let Some(id) = self.selected_node() {
            let shown = self
                .tree
                .ancestors(id)
                .into_iter()
                .rev()
                .find(|&a| at.is_none_or(|t| self.tree.node(a).key.start <= t));
            self.selected = shown
                .map(Item::Node)
                .or_else(|| self.rows.item_at(&self.tree, 0));
        }
        let shown = self
            .selected_node()
            .map_or(0, |id| self.conns_shown(id).len());
        if self.conn_sel >= shown {
            self.conn_sel = shown.saturating_sub(1);
            self.conn_offset = 0;
        }
    }

    fn tree_action(&mut self, action: Action) {
        if matches!(
            action,
            Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::First
                | Action::Last
                | Action::Left
                | Action::Right
                | Action::Parent
        ) {
            self.follow = false;
        }
        let page = self.tree_height().max(1) as isize;
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::First => self.move_to(0),
            Action::Last => self.move_to(self.rows.total(&self.tree).saturating_sub(1)),
            Action::Left => self.left(),
            Action::Right => self.right(),
            Action::ToggleFold => self.toggle_fold(),
            Action::Parent => self.jump_to_parent(),
            Action::Busiest => self.jump_to_busiest(),
            Action::Connections => self.open_connections(),
            Action::StartSearch => {
                self.mode = Mode::Search;
                self.query.clear();
            }
            Action::StartFilter => {
                self.mode = Mode::Filter;
                self.query = self.filter.clone().unwrap_or_default();
            }
            Action::StartTime => {
                self.mode = Mode::Time;
                self.query.clear();
            }
            Action::SearchNext => self.search_again(true),
            Action::SearchPrev => self.search_again(false),
            _ => {}
        }
    }

    fn search_action(&mut self, action: Action) {
        match action {
            Action::SearchInput(c) => self.query.push(c),
            Action::SearchBackspace => {
                self.query.pop();
            }
            Action::SearchClear => self.query.clear(),
            Action::SearchSubmit if self.mode == Mode::Time => {
                self.mode = Mode::Tree;
                let q = self.query.trim().to_string();
                if !q.is_empty() {
                    self.go_to(&q);
                }
            }
            Action::SearchSubmit if self.mode == Mode::Filter => {
                self.mode = Mode::Tree;
                self.follow = false;
                let q = self.query.trim().to_string();
                self.apply_filter(q);
            }
            Action::SearchSubmit => {
                self.mode = Mode::Tree;
                let q = self.query.trim().to_string();
                if !q.is_empty() {
                    self.last_query = Some(q);
                    self.search(true, true);
                }
            }
            _ => {}
        }
    }

    /// Asks the event loop to write `id`'s chain; a chain of more than
    /// [`LARGE_CHAIN`] processes (the host's init: the whole host) only at
    /// the second `x`, after saying how large it is: gathering it stops the
    /// view for about half a second per 40,000 processes (it is written in
    /// the background).
    fn ask_export(&mut self, id: NodeId, asked: bool) {
        let size = self.tree.ancestors(id).len() + self.tree.subtree(id).len();
        if size > LARGE_CHAIN && !asked {
            self.export_asked = Some(id);
            self.flash = Some(format!(
                "x again to write this chain of {} processes (~{} MB, some seconds)",
                super::format::count(size as u64),
                size / 1000
            ));
            return;
        }
        self.export = Some(id);
    }

    /// Shows the moment `text` names (see [`super::at::parse_moment`]);
    /// not before causeway's record begins, and now for a time after it.
    fn go_to(&mut self, text: &str) {
        let now = self.now_ktime();
        let t = match super::at::parse_moment(text, now, &self.header, self.tz) {
            Ok(t) => t,
            Err(e) => {
                self.flash = Some(e);
                return;
            }
        };
        if t >= now {
            self.scrub_to(None);
            self.flash = Some(format!("{text} is not before now: now"));
            return;
        }
        let floor = super::at::floor(&self.tree);
        self.scrub_to(Some(t.max(floor)));
        let clock = |t: u64| {
            self.header
                .wall_time(t)
                .with_timezone(&self.tz)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        self.flash = Some(if t < floor {
            format!(
                "causeway's record begins at {}: shown from there; = now",
                clock(floor)
            )
        } else {
            format!("at {}: [ ] step, {{ }} 10 s, = now", clock(t))
        });
    }

    fn search_again(&mut self, forward: bool) {
        self.search(forward, false);
    }

    /// Goes to the next match of the last query; for a `fresh` one, to a
    /// process it names if there is one (see [`Query::names`]). Says which
    /// match of how many it went to, and what the filter hides.
    fn search(&mut self, forward: bool, fresh: bool) {
        let Some(q) = self.last_query.clone() else {
            self.flash = Some("no search yet: / starts one".into());
            return;
        };
        self.follow = false;
        let query = Query::parse(&q);
        if let Some(unknown) = query.unknown_kind() {
            self.flash = Some(unknown);
            return;
        }
        let hits = self.hits(&query, fresh);
        let shown: Vec<&Hit> = hits.iter().filter(|h| h.shown).collect();
        let hidden = hits.len() - shown.len();
        // A new search: first what it names whole, then what it names,
        // then any it finds.
        let named = fresh
            .then(|| {
                self.next_hit(&shown, forward, Named::Exactly)
                    .or_else(|| self.next_hit(&shown, forward, Named::Partly))
            })
            .flatten();
        if let Some(i) = named.or_else(|| self.next_hit(&shown, forward, Named::No)) {
            let (id, conn) = (shown[i].id, shown[i].conn);
            self.jump(Item::Node(id));
            // `c` then opens the list on the connection that matched.
            if let Some(c) = conn {
                self.conn_sel = c;
            }
            let more = match hidden {
                0 => String::new(),
                n => format!(", {} more hidden by the filter", format::count(n as u64)),
            };
            self.flash = Some(format!(
                "\"{q}\": match {} of {}{more} (n next, N previous)",
                format::count(i as u64 + 1),
                format::count(shown.len() as u64)
            ));
            return;
        }
        // Found, but only among what the filter hides: a process of that
        // name or pid first.
        let hidden_hit = hits.iter().find(|h| h.named > Named::No).or(hits.first());
        if let (Some(h), Some(filter)) = (hidden_hit, &self.filter) {
            let n = self.tree.node(h.id);
            let more = match hits.len() - 1 {
                0 => "is".to_string(),
                m => format!("and {} more matches are", format::count(m as u64)),
            };
            self.flash = Some(format!(
                "{} {} {more} hidden by the filter \"{filter}\" (\\ Ctrl-U Enter clears it)",
                n.key.pid,
                n.display_name()
            ));
            return;
        }
        self.flash = Some(if self.at.is_some() {
            // Scrubbed back, only what had started by then is searched.
            format!("no process matches \"{q}\" by this time (= returns to now)")
        } else {
            format!("no process matches \"{q}\"")
        });
    }

    /// Of `hits` (in arrival order), the first after the selection, or
    /// with `!forward` the last before it, wrapping around; only one the
    /// query names at least as well as `named`.
    fn next_hit(&self, hits: &[&Hit], forward: bool, named: Named) -> Option<usize> {
        let n = self.tree.len();
        let start = self
            .selected_node()
            .map_or(n.saturating_sub(1), |id| id.index());
        let mut eligible = (0..hits.len()).filter(|&i| hits[i].named >= named);
        if forward {
            eligible
                .clone()
                .find(|&i| hits[i].id.index() > start)
                .or_else(|| eligible.next())
        } else {
            eligible
                .clone()
                .rev()
                .find(|&i| hits[i].id.index() < start)
                .or_else(|| eligible.next_back())
        }
    }

    /// The next process after the selection (in arrival order, wrapping
    /// around) that `q` finds (see [`Query`]): by its pid, name, argv or cgroup, or
    /// by an address of one of its connections; with the position of the
    /// first such connection in its list, when that is what matched.
    /// Scrubbed back, only processes started by then and the connections
    /// they had then; filtered, only the processes shown.
    pub fn find(&self, q: &str, forward: bool) -> Option<(NodeId, Option<usize>)> {
        let hits = self.hits(&Query::parse(q), false);
        let shown: Vec<&Hit> = hits.iter().filter(|h| h.shown).collect();
        let i = self.next_hit(&shown, forward, Named::No)?;
        Some((shown[i].id, shown[i].conn))
    }

    /// Every process `query` finds, in arrival order, shown or hidden by
    /// the filter (and, with `named`, whether the query names each): one
    /// pass over the whole tree, on demand only; about 20 ms over 82,000
    /// processes, what a search that found nothing took before matches
    /// were counted. Scrubbed back, only processes started by then.
    fn hits(&self, query: &Query, named: bool) -> Vec<Hit> {
        self.tree
            .nodes()
            .filter(|(_, node)| self.at.is_none_or(|t| node.key.start <= t))
            .filter_map(|(id, node)| {
                let conn =
                    if query.matches_process(node, self.tree.cgroup_path(node.cgroup), self.at) {
                        None
                    } else if query.searches_conns() {
                        let conns = self.conns_shown(id);
                        Some(
                            conns
                                .iter()
                                .position(|&c| query.matches_conn(self.tree.conn(c), self.at))?,
                        )
                    } else {
                        return None;
                    };
                let named = match named && query.names(node) {
                    false => Named::No,
                    true if query.names_whole(node) => Named::Exactly,
                    true => Named::Partly,
                };
                Some(Hit {
                    id,
                    conn,
                    named,
                    shown: self.rows.passes(id),
                })
            })
            .collect()
    }

    fn selected_row(&self) -> usize {
        self.selected
            .and_then(|s| self.rows.row_of(&self.tree, s))
            .unwrap_or(0)
    }

    fn select(&mut self, item: Item) {
        if self.selected != Some(item) {
            self.conn_sel = 0;
            self.conn_offset = 0;
        }
        self.selected = Some(item);
    }

    /// Selects `item` after a jump (find, parent, peer), unfolding what
    /// hides it. If it was off screen, it comes to a third of the way down,
    /// not to the edge: its ancestors above it and its children below it
    /// are what the operator looks at next.
    fn jump(&mut self, item: Item) {
        self.rows.reveal(&self.tree, item);
        self.select(item);
        let Some(row) = self.rows.row_of(&self.tree, item) else {
            return;
        };
        let h = self.tree_height().max(1);
        if row < self.offset || row >= self.offset + h {
            self.offset = row.saturating_sub(h / 3);
        }
    }

    fn move_by(&mut self, delta: isize) {
        let row = self.selected_row().saturating_add_signed(delta);
        self.move_to(row);
    }

    fn move_to(&mut self, row: usize) {
        let total = self.rows.total(&self.tree);
        if total == 0 {
            return;
        }
        if let Some(item) = self.rows.item_at(&self.tree, row.min(total - 1)) {
            self.select(item);
        }
    }

    fn left(&mut self) {
        let Some(item) = self.selected else { return };
        if self.rows.is_expanded(&self.tree, item) {
            self.rows.set_collapsed(&self.tree, item, true);
        } else if let Some(parent) = Rows::parent_item(&self.tree, item) {
            self.select(parent);
        }
    }

    fn right(&mut self) {
        let Some(item) = self.selected else { return };
        if !self.rows.has_children(&self.tree, item) {
            return;
        }
        if self.rows.is_expanded(&self.tree, item) {
            self.move_by(1);
        } else {
            self.rows.set_collapsed(&self.tree, item, false);
        }
    }

    fn toggle_fold(&mut self) {
        let Some(item) = self.selected else { return };
        if !self.rows.has_children(&self.tree, item) {
            return;
        }
        let expanded = self.rows.is_expanded(&self.tree, item);
        self.rows.set_collapsed(&self.tree, item, expanded);
    }

    fn jump_to_parent(&mut self) {
        let Some(id) = self.selected_node() else {
            return;
        };
        match self.tree.node(id).causal_parent {
            ParentLink::Known(p) => self.jump(Item::Node(p)),
            ParentLink::Unknown(key) => {
                self.flash = Some(format!(
                    "the parent (pid {}) was never seen: listed under \"unknown parent\"",
                    key.pid
                ));
            }
            ParentLink::Root => self.flash = Some("a root process: no parent".into()),
        }
    }

    /// Selects the running process that used the most CPU over the last
    /// sample; from one `%` selected, the busiest not yet selected since
    /// the walk began (then the first again). The ranking is refreshed
    /// between presses: the walk goes on from where it was, not from
    /// where the process last selected now ranks (one that went idle
    /// would send it to the bottom), and shows each process once.
    fn jump_to_busiest(&mut self) {
        self.follow = false;
        if !self.is_live() {
            self.flash = Some("what processes cost is known live only, not in a journal".into());
            return;
        }
        if self.at.is_some() {
            self.flash = Some("what processes cost is known for now only: = returns to now".into());
            return;
        }
        let mut ranked: Vec<(f64, ProcKey)> = self
            .usage
            .iter()
            .filter_map(|(k, u)| Some((u.cpu?, *k)))
            .collect();
        if ranked.is_empty() {
            self.flash = Some("no CPU figures yet: they take a second".into());
            return;
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.pid.cmp(&b.1.pid)));
        // Moved away from the process the last `%` selected: a new walk.
        let current = self.selected_node().map(|id| self.tree.node(id).key);
        if current.is_none() || self.busiest.last() != current.as_ref() {
            self.busiest.clear();
        }
        // A process the tree no longer has (forgotten since the sample) is
        // passed over.
        let walked: std::collections::HashSet<ProcKey> = self.busiest.iter().copied().collect();
        let open = |walked: &std::collections::HashSet<ProcKey>| {
            ranked
                .iter()
                .find(|(_, k)| !walked.contains(k) && self.tree.find(*k).is_some())
                .copied()
        };
        let next = match open(&walked) {
            Some(next) => Some(next),
            // Each shown: from the top again.
            None => {
                self.busiest.clear();
                open(&Default::default())
            }
        };
        let Some((cpu, key)) = next else {
            self.flash = Some("the processes ranked are no longer in the tree".into());
            return;
        };
        let Some(id) = self.tree.find(key) else {
            return;
        };
        self.jump(Item::Node(id));
        self.busiest.push(key);
        // Its place in the walk: of those ranked now, how many it showed.
        let walked: std::collections::HashSet<ProcKey> = self.busiest.iter().copied().collect();
        let step = ranked.iter().filter(|(_, k)| walked.contains(k)).count();
        self.flash = Some(format!(
            "busiest {} of {}: {} of a CPU · % again for the next",
            step,
            ranked.len(),
            super::format::cpu(cpu)
        ));
    }

    fn open_connections(&mut self) {
        let Some(id) = self.selected_node() else {
            return;
        };
        if self.conns_shown(id).is_empty() {
            self.flash = Some("this process has no connections".into());
        } else {
            self.mode = Mode::Connections;
            self.follow = false;
        }
    }

    fn conn_action(&mut self, action: Action) {
        let len = self
            .selected_node()
            .map_or(0, |id| self.conns_shown(id).len());
        if len == 0 {
            self.mode = Mode::Tree;
            return;
        }
        let page = self.conn_height().max(1);
        self.conn_sel = match action {
            Action::Up => self.conn_sel.saturating_sub(1),
            Action::Down => self.conn_sel + 1,
            Action::PageUp => self.conn_sel.saturating_sub(page),
            Action::PageDown => self.conn_sel + page,
            Action::First => 0,
            Action::Last => len - 1,
            _ => self.conn_sel,
        }
        .min(len - 1);
        if action == Action::JumpToPeer {
            self.jump_to_peer();
        }
    }

    fn jump_to_peer(&mut self) {
        let Some(conn) = self.selected_conn() else {
            return;
        };
        let c = self.tree.conn(conn);
        if c.direction == crate::event::Direction::Listen {
            // Each connection it accepted is the accepting process's own
            // (an `in` row of its list), which may be another process
            // (a prefork server's worker).
            self.flash = Some(format!(
                "a listening socket has no other end: its accepted connections are on the processes that accepted them (/ :{} finds them)",
                c.local.port()
            ));
            return;
        }
        match self.tree.peer_process(conn) {
            Some(peer) if self.at.is_some_and(|t| self.tree.node(peer).key.start > t) => {
                self.flash = Some("the peer process had not started yet: = returns to now".into());
            }
            // Jumping would select the nearest ancestor the filter shows,
            // which is not the peer.
            Some(peer) if !self.rows.passes(peer) => {
                let n = self.tree.node(peer);
                self.flash = Some(format!(
                    "peer process {} {} is hidden by the filter \"{}\" (\\ Ctrl-U Enter clears it)",
                    n.key.pid,
                    n.display_name(),
                    self.filter.as_deref().unwrap_or_default()
                ));
            }
            Some(peer) => {
                self.jump(Item::Node(peer));
                self.mode = Mode::Tree;
                let n = self.tree.node(peer);
                self.flash = Some(format!("peer process: {} {}", n.key.pid, n.display_name()));
            }
            None => {
                self.flash = Some("the other end is not a process seen on this host".into());
            }
        }
    }

    fn click(&mut self, column: u16, row: u16) {
        let areas = self.areas();
        let pos = ratatui::layout::Position::new(column, row);
        if areas.tree_body.contains(pos) {
            self.follow = false;
            self.help = false;
            self.mode = Mode::Tree;
            let r = self.offset + usize::from(row - areas.tree_body.y);
            if let Some(item) = self.rows.item_at(&self.tree, r) {
                self.select(item);
            }
        } else if self.mode == Mode::Connections && areas.detail_body.contains(pos) {
            // The list's first row is its header.
            let Some(r) = usize::from(row - areas.detail_body.y).checked_sub(1) else {
                return;
            };
            let len = self
                .selected_node()
                .map_or(0, |id| self.conns_shown(id).len());
            if self.conn_offset + r < len {
                self.conn_sel = self.conn_offset + r;
            }
        }
    }

    fn scroll(&mut self, delta: i32) {
        let delta = delta as isize;
        if self.mode == Mode::Connections {
            let len = self
                .selected_node()
                .map_or(0, |id| self.conns_shown(id).len());
            self.conn_sel = self
                .conn_sel
                .saturating_add_signed(delta)
                .min(len.saturating_sub(1));
            return;
        }
        self.follow = false;
        let h = self.tree_height().max(1);
        let total = self.rows.total(&self.tree);
        self.offset = self
            .offset
            .saturating_add_signed(delta)
            .min(total.saturating_sub(h));
        // Keep the selection on screen: it moves with the page.
        let row = self.selected_row();
        let want = row.clamp(self.offset, self.offset + h - 1);
        if want != row {
            self.move_to(want);
        }
    }

    /// Keeps the selection valid and visible, and the view scrolled to it.
    pub fn fix_view(&mut self) {
        let total = self.rows.total(&self.tree);
        if total == 0 {
            self.selected = None;
            self.offset = 0;
            return;
        }
        let mut row = self.selected.and_then(|s| self.rows.row_of(&self.tree, s));
        if row.is_none() {
            // Hidden by a fold, or gone (the orphans were all adopted): the
            // nearest shown ancestor, else the first row.
            let mut cur = self.selected;
            while let Some(item) = cur {
                if let Some(r) = self.rows.row_of(&self.tree, item) {
                    self.selected = Some(item);
                    row = Some(r);
                    break;
                }
                cur = Rows::parent_item(&self.tree, item);
            }
        }
        let row = match row {
            Some(r) => r,
            None => {
                self.selected = self.rows.item_at(&self.tree, 0);
                0
            }
        };
        let h = self.tree_height().max(1);
        if row < self.offset {
            self.offset = row;
        } else if row >= self.offset + h {
            self.offset = row + 1 - h;
        }
        self.offset = self.offset.min(total.saturating_sub(h));
        // The connection list.
        let len = self
            .selected_node()
            .map_or(0, |id| self.conns_shown(id).len());
        if len == 0 {
            if self.mode == Mode::Connections {
                self.mode = Mode::Tree;
            }
            self.conn_sel = 0;
            self.conn_offset = 0;
        } else {
            self.conn_sel = self.conn_sel.min(len - 1);
            let ch = self.conn_height().max(1);
            if self.conn_sel < self.conn_offset {
                self.conn_offset = self.conn_sel;
            } else if self.conn_sel >= self.conn_offset + ch {
                self.conn_offset = self.conn_sel + 1 - ch;
            }
        }
    }
}

/// A process a search found.
struct Hit {
    id: NodeId,
    /// The position in its list of the first connection that matched,
    /// when that is what matched (not the process itself).
    conn: Option<usize>,
    /// How the query names it (see [`Query::names`]).
    named: Named,
    /// Not hidden by the filter.
    shown: bool,
}

/// How well a search's query names a process, worst first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Named {
    No,
    /// Its name holds the query.
    Partly,
    /// The query is its name, whole.
    Exactly,
}

/// The process a message is about.
fn subject(msg: &Message) -> Option<crate::event::ProcKey> {
    match msg {
        Message::Seed(p) => Some(p.proc),
        Message::Socket(s) => Some(s.actor.proc),
        Message::Event(e) => Some(e.proc),
        Message::Lost { .. } | Message::Cgroup { .. } | Message::Gap(_) => None,
    }
}
