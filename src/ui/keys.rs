//! Keys and mouse to actions: pure functions of the input and the mode.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// What has the keyboard.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// The process tree.
    Tree,
    /// The selected process's connection list.
    Connections,
    /// The help overlay.
    Help,
    /// Typing a search.
    Search,
    /// Typing a filter.
    Filter,
    /// Typing a time to go to.
    Time,
}

/// Everything a user can ask of the view.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    /// Fold the selection, or go to its parent row.
    Left,
    /// Unfold the selection (or go to its first child when unfolded).
    Right,
    ToggleFold,
    /// Select the causal parent.
    Parent,
    /// Select the process using the most CPU now; again, the next.
    Busiest,
    ToggleFollow,
    ToggleHelp,
    /// Give the keyboard to the selection's connection list.
    Connections,
    /// In the connection list: select the peer process in the tree.
    JumpToPeer,
    /// Write the selection's causal chain to a JSON file and a text file.
    Export,
    /// Scrub the view back to the moment before (a process started or
    /// ended), or forward to the next.
    ScrubPrev,
    ScrubNext,
    /// As [`Action::ScrubPrev`] and [`Action::ScrubNext`], at what the
    /// selected process and its descendants did only.
    ScrubPrevHere,
    ScrubNextHere,
    /// Scrub back or forward by ten seconds.
    ScrubBack,
    ScrubForward,
    /// Back to now.
    ScrubNow,
    /// Open the prompt for a time to go to.
    StartTime,
    /// Leave the connection list, the help overlay or the search prompt.
    Back,
    /// Open the search prompt.
    StartSearch,
    /// Open the filter prompt (what is typed there goes as for a search).
    StartFilter,
    /// A character typed into the search prompt.
    SearchInput(char),
    SearchBackspace,
    /// Ctrl-U: the prompt emptied.
    SearchClear,
    /// Search for what was typed.
    SearchSubmit,
    /// The next (or previous) process matching the last search.
    SearchNext,
    SearchPrev,
    Quit,
    /// A click at a screen cell.
    Click {
        column: u16,
        row: u16,
    },
    /// Mouse wheel: rows to scroll, up is negative.
    Scroll(i32),
}

/// Rows the wheel scrolls per notch.
pub const WHEEL_ROWS: i32 = 3;

/// The action for a key, if any. Only presses count: terminals that report
/// releases and repeats must not move the selection twice.
pub fn key_to_action(key: KeyEvent, mode: Mode) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        let prompt = matches!(mode, Mode::Search | Mode::Filter | Mode::Time);
        return match key.code {
            KeyCode::Char('c' | 'C') => Some(Action::Quit),
            // As in a shell: the prompt's line cleared (a filter's prompt
            // opens with the filter in force).
            KeyCode::Char('u' | 'U') if prompt => Some(Action::SearchClear),
            _ => None,
        };
    }
    // The search and filter prompts take every printable key, `q` and `?`
    // included.
    if matches!(mode, Mode::Search | Mode::Filter | Mode::Time) {
        return match key.code {
            KeyCode::Char(c) => Some(Action::SearchInput(c)),
            KeyCode::Backspace => Some(Action::SearchBackspace),
            KeyCode::Enter => Some(Action::SearchSubmit),
            KeyCode::Esc => Some(Action::Back),
            _ => None,
        };
    }
    // Keys that mean the same everywhere.
    match key.code {
        KeyCode::Char('q') => return Some(Action::Quit),
        KeyCode::Char('?') => return Some(Action::ToggleHelp),
        _ => {}
    }
    match mode {
        Mode::Help => match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char(' ') => Some(Action::Back),
            _ => None,
        },
        Mode::Tree => match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::Home | KeyCode::Char('g') => Some(Action::First),
            KeyCode::End | KeyCode::Char('G') => Some(Action::Last),
            KeyCode::Left | KeyCode::Char('h') => Some(Action::Left),
            KeyCode::Right | KeyCode::Char('l') => Some(Action::Right),
            KeyCode::Enter | KeyCode::Char(' ') => Some(Action::ToggleFold),
            KeyCode::Char('p') => Some(Action::Parent),
            KeyCode::Char('%') => Some(Action::Busiest),
            KeyCode::Char('f') => Some(Action::ToggleFollow),
            KeyCode::Char('c') => Some(Action::Connections),
            KeyCode::Char('x') => Some(Action::Export),
            KeyCode::Char('[') => Some(Action::ScrubPrev),
            KeyCode::Char(']') => Some(Action::ScrubNext),
            KeyCode::Char('(') => Some(Action::ScrubPrevHere),
            KeyCode::Char(')') => Some(Action::ScrubNextHere),
            KeyCode::Char('{') => Some(Action::ScrubBack),
            KeyCode::Char('}') => Some(Action::ScrubForward),
            KeyCode::Char('=') => Some(Action::ScrubNow),
            KeyCode::Char('t') => Some(Action::StartTime),
            KeyCode::Char('/') => Some(Action::StartSearch),
            KeyCode::Char('\\') | KeyCode::F(4) => Some(Action::StartFilter),
            KeyCode::Char('n') => Some(Action::SearchNext),
            KeyCode::Char('N') => Some(Action::SearchPrev),
            // Nothing to leave, but an answer in the footer to dismiss, and
            // a question (`x` on a large chain) to drop.
            KeyCode::Esc => Some(Action::Back),
            _ => None,
        },
        Mode::Search | Mode::Filter | Mode::Time => None,
        Mode::Connections => match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::Home | KeyCode::Char('g') => Some(Action::First),
            KeyCode::End | KeyCode::Char('G') => Some(Action::Last),
            KeyCode::Enter => Some(Action::JumpToPeer),
            KeyCode::Char('x') => Some(Action::Export),
            KeyCode::Esc | KeyCode::Char('c') | KeyCode::Left | KeyCode::Char('h') => {
                Some(Action::Back)
            }
            _ => None,
        },
    }
}

/// The action for a mouse event: a left click selects, the wheel scrolls.
pub fn mouse_to_action(ev: MouseEvent) -> Option<Action> {
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
            column: ev.column,
            row: ev.row,
        }),
        MouseEventKind::ScrollUp => Some(Action::Scroll(-WHEEL_ROWS)),
        MouseEventKind::ScrollDown => Some(Action::Scroll(WHEEL_ROWS)),
        _ => None,
    }
}

/// Puts back a key that crossterm split in two when it came right after
/// Esc: read together (a slow link delivers keys in bursts), `ESC` and
/// `↑` (`ESC [ A`) are `ESC ESC [ A`, which crossterm reads as Esc, `[`
/// and `A`; and `[` scrubs the view back. `events` are those of one read:
/// no one types Esc, `[` and `A` within it. A whole escape sequence so
/// split (`ESC [` with its numbers and final character, or `ESC O` and
/// one) is put back as its key when it is one crossterm knows (arrows,
/// Home, End, PgUp, PgDn, Insert, Delete, F1–F12, Shift-Tab, with Shift,
/// Alt or Ctrl), and dropped when not; anything else is left as it came.
pub fn rejoin_escapes(events: Vec<Event>) -> Vec<Event> {
    // (crossterm gives an upper-case letter Shift.)
    let plain = |e: Option<&Event>| match e {
        Some(Event::Key(k))
            if (k.modifiers - KeyModifiers::SHIFT).is_empty() && k.kind == KeyEventKind::Press =>
        {
            match k.code {
                KeyCode::Char(c) => Some(c),
                KeyCode::Esc => Some('\x1b'),
                _ => None,
            }
        }
        _ => None,
    };
    let mut out = Vec::with_capacity(events.len());
    let mut i = 0;
    while i < events.len() {
        out.push(events[i].clone());
        if plain(events.get(i)) == Some('\x1b') {
            let rest: String = events[i + 1..]
                .iter()
                .take(12)
                .map_while(|e| plain(Some(e)))
                .collect();
            if let Some((key, len)) = split_sequence(&rest) {
                out.extend(key.map(Event::Key));
                i += 1 + len;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The escape sequence `rest` (what followed `ESC`, as characters) begins
/// with: its key (`None` for one crossterm does not know) and how many
/// characters it takes; `None` when it begins with none, or is cut short.
fn split_sequence(rest: &str) -> Option<(Option<KeyEvent>, usize)> {
    let mut chars = rest.chars();
    let intro = chars.next()?;
    if intro == 'O' {
        let key = final_key(chars.next()?).map(|code| KeyEvent::new(code, KeyModifiers::NONE));
        return Some((key, 2));
    }
    if intro != '[' {
        return None;
    }
    let params: String = chars
        .clone()
        .take_while(|c| c.is_ascii_digit() || *c == ';')
        .collect();
    let last = chars.nth(params.len())?;
    if !('@'..='~').contains(&last) {
        return None;
    }
    let len = 2 + params.len();
    let mut numbers = params.split(';').map(|p| p.parse::<u8>().unwrap_or(1));
    let first = numbers.next().unwrap_or(1);
    // `1;5`: the second number, less one, is a mask of Shift, Alt, Ctrl.
    let mask = numbers.next().unwrap_or(1).saturating_sub(1);
    let mut modifiers = KeyModifiers::NONE;
    for (bit, m) in [
        (1, KeyModifiers::SHIFT),
        (2, KeyModifiers::ALT),
        (4, KeyModifiers::CONTROL),
    ] {
        if mask & bit != 0 {
            modifiers |= m;
        }
    }
    let code = match last {
        'Z' => KeyCode::BackTab,
        '~' => match first {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            11..=15 => KeyCode::F(first - 10),
            17..=21 => KeyCode::F(first - 11),
            23 | 24 => KeyCode::F(first - 12),
            _ => return Some((None, len)),
        },
        c => match final_key(c) {
            Some(code) => code,
            None => return Some((None, len)),
        },
    };
    if code == KeyCode::BackTab {
        modifiers |= KeyModifiers::SHIFT;
    }
    Some((Some(KeyEvent::new(code, modifiers)), len))
}

/// The key an escape sequence ending in `c` stands for, in the forms
/// `ESC [ … c` and `ESC O c` share: the arrows, Home, End, F1–F4.
fn final_key(c: char) -> Option<KeyCode> {
    Some(match c {
        'A' => KeyCode::Up,
        'B' => KeyCode::Down,
        'C' => KeyCode::Right,
        'D' => KeyCode::Left,
        'H' => KeyCode::Home,
        'F' => KeyCode::End,
        'P' => KeyCode::F(1),
        'Q' => KeyCode::F(2),
        'R' => KeyCode::F(3),
        'S' => KeyCode::F(4),
        _ => return None,
    })
}

/// Every key, for the help overlay: (keys, what they do). Kept next to
/// `key_to_action` so that the two are changed together.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move the selection"),
    (
        "PgUp PgDn  g G",
        "a page up / down; first / last row (Home End)",
    ),
    ("← h  → l", "fold, else to parent / unfold, else child"),
    ("Enter Space", "fold / unfold"),
    (
        "p  %",
        "jump to the causal parent / the busiest (again: next)",
    ),
    ("f", "follow: select each new process"),
    (
        "/  n N",
        "find pid, name, argv, cgroup, address; next / prev",
    ),
    ("", "  ! failed; !connecting !unused !close-wait stuck"),
    ("\\  F4", "filter: matches and their ancestors only"),
    ("c", "the selection's connections:"),
    ("  ↑ ↓  Enter", "  move / jump to the peer process"),
    ("  Esc", "  back to the tree"),
    ("x", "write the causal chain to JSON and text files"),
    (
        "[ ] ( ) { }",
        "scrub: a moment / the selection's; 10 s back / fwd",
    ),
    ("t  =", "go to a time (14:02, -5m, 2026-12-07 14:02); now"),
    ("q  Ctrl-C", "quit  (mouse: click selects, wheel scrolls)"),
];

/// The row markers, for the help overlay.
pub const LEGEND: &[(&str, &str)] = &[
    (
        "+  s  ▸ (n)",
        "new (last 2 s); seeded: there before causeway; folded",
    ),
    (
        "↗ ↙ ◉ ⇢ ◐ ✗  ↑ ↓",
        "out/in/listen/connecting/close-wait/failed; bytes ↑↓",
    ),
    ("↻n", "n children failed (exit ≠ 0, killed): a crash loop"),
    (
        "⟨x.service⟩ (comm x)",
        "a cgroup begins; renamed itself (top shows x)",
    ),
    (
        "97%  340M  ·",
        "live: CPU now, memory; · not yet; gone: ended unseen",
    ),
];
