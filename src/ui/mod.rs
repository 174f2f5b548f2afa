//! The interactive view: the causal tree in the terminal, live or from a
//! journal.
//!
//! Shape: [`app::App`] holds the state and applies messages and
//! [`keys::Action`]s; [`keys::key_to_action`] turns keys into actions;
//! [`render::draw`] is a pure function of the state; [`term`] owns the
//! terminal and the event loop. [`rows::Rows`] keeps the visible-row index
//! that lets a frame of a 100,000-process tree be built from the rows on
//! screen only.

pub mod app;
pub mod at;
pub mod fatal;
pub mod find;
pub mod format;
pub mod keys;
pub mod layout;
pub mod render;
pub mod rows;
pub mod synth;
pub mod term;
pub mod theme;
pub mod users;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use anyhow::Result;
use chrono::{Local, Offset, Utc};

pub use app::{App, SourceKind};
pub use keys::{Action, Mode, key_to_action};

use crate::graph::CausalTree;
use crate::journal::Loaded;
use crate::live::{LiveFeed, Stopped};

/// The local time zone's current offset (read once, at start).
fn local_offset() -> chrono::FixedOffset {
    Local::now().offset().fix()
}

/// The live view: runs until the user quits, then stops the feed. The
/// first error (the view's, else the feed's) is returned. With `history`
/// (journal files of this host), the tree begins with what they say
/// happened before the probe attached.
/// Once the view is left, what the journal it wrote (`live --record`)
/// holds, whether or not it ended on an error (the terminal closed).
pub fn run_live(feed: LiveFeed, history: &[PathBuf]) -> Stopped {
    let tree = if history.is_empty() {
        CausalTree::new()
    } else {
        // Said before the view takes the screen: a large history takes a
        // few seconds to read.
        say!(
            "causeway: reading the history ({})…",
            format::counted(history.len() as u64, "file", "files")
        );
        match feed.history(history) {
            Ok(tree) => tree,
            Err(e) => {
                return Stopped {
                    result: Err(e),
                    ..feed.stop()
                };
            }
        }
    };
    let mut app = App::new(
        tree,
        SourceKind::Live,
        feed.header().clone(),
        users::Users::load(),
    );
    app.tz = local_offset();
    app.theme = theme::Theme::from_env();
    if history.is_empty() {
        app.flash = history_hint(std::path::Path::new(SERVICE_JOURNAL));
    } else {
        // The history's recordings, read as one, with stretches between
        // them: what ended in those is said.
        app.flash = format::gaps(app.tree.gaps(), app.header.boot_time_ns, app.tz);
    }
    let shown = term::run(&mut app, Some((feed.receiver(), feed.spares())));
    let stopped = feed.stop();
    Stopped {
        result: shown.and(stopped.result),
        ..stopped
    }
}

/// Where `assets/causeway-record.service` keeps its journal.
pub const SERVICE_JOURNAL: &str = "/var/log/causeway/journal.jsonl";

/// What the live view says at start when a recorder's journal is at
/// `journal` (the service's, unless moved) and the view was not asked to
/// begin with it.
pub fn history_hint(journal: &std::path::Path) -> Option<String> {
    journal.is_file().then(|| {
        format!(
            "a recorder's history: causeway live --history {}*",
            journal.display()
        )
    })
}

/// The view over a whole journal (or the files of one rotated journal),
/// `name`d as [`crate::journal::files_name`] names them, opened at its end
/// (the newest process selected). Damage the loader skipped, and the
/// stretches between recordings read as one, are named on screen; the
/// latter are returned, said in UTC, to be said again once the view is
/// closed (as the damage is).
pub fn run_replay(loaded: Loaded, name: &str) -> Result<Option<String>> {
    let mut app = replay_app(loaded, name);
    app.tz = local_offset();
    app.theme = theme::Theme::from_env();
    app.users = users::Users::load();
    term::run(&mut app, None)?;
    Ok(format::gaps(
        app.tree.gaps(),
        app.header.boot_time_ns,
        Utc.fix(),
    ))
}

/// The state for a replay: the tree built from every message, the newest
/// process selected. No terminal and no system files are touched.
pub fn replay_app(loaded: Loaded, name: &str) -> App {
    let problems = loaded.problem_summary();
    let tree = CausalTree::from_messages(&loaded.messages);
    // Freeing a million messages takes a noticeable moment: let another
    // thread do it while the first frame is drawn.
    let messages = loaded.messages;
    if std::thread::Builder::new()
        .name("causeway-free".into())
        .spawn(move || drop(messages))
        .is_err()
    {
        log::debug!("freeing the journal's messages on the view's thread");
    }
    let mut app = App::new(
        tree,
        SourceKind::Replay {
            name: name.to_string(),
            problems,
        },
        loaded.header,
        users::Users::default(),
    );
    app.select_newest();
    app.fix_view();
    app
}
