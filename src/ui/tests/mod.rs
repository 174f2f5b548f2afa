//! Pure tests of the view: row index and folding, keys and actions, and
//! rendering into a `TestBackend`.

mod actions;
mod render;
mod rows;
mod scrub;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::app::{App, SourceKind};
use super::synth;
use super::users::Users;
use crate::event::Message;
use crate::graph::CausalTree;
use crate::journal::Loaded;

/// A replay of these messages, as `causeway replay` opens it.
pub fn replay(msgs: Vec<Message>, problems: Vec<crate::journal::Problem>) -> App {
    let loaded = Loaded {
        header: synth::header(),
        lines: msgs.len() as u64 + 1,
        messages: msgs,
        problems,
        duplicates: Default::default(),
        out_of_order: Default::default(),
    };
    let mut app = super::replay_app(loaded, "trace.jsonl");
    app.users =
        Users::from_passwd("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
    app
}

/// A live view fed these messages in one batch.
pub fn live(msgs: &[Message]) -> App {
    live_in(CausalTree::new(), msgs)
}

/// [`live`] over `tree` (one with its own limits).
pub fn live_in(tree: CausalTree, msgs: &[Message]) -> App {
    let mut app = App::new(tree, SourceKind::Live, synth::header(), Users::default());
    for m in msgs {
        app.apply(m);
    }
    app.settle();
    app
}

/// Draws the app at a size; returns the buffer.
pub fn draw(app: &mut App, w: u16, h: u16) -> Buffer {
    app.resize(w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| super::render::draw(f, app)).expect("draw");
    term.backend().buffer().clone()
}

/// The buffer's rows as strings.
pub fn lines(buf: &Buffer) -> Vec<String> {
    let a = buf.area;
    (a.y..a.bottom())
        .map(|y| {
            (a.x..a.right())
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

pub fn screen(buf: &Buffer) -> String {
    lines(buf).join("\n")
}

/// The position of the first cell of `needle` on screen.
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for (y, line) in lines(buf).iter().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return Some((x as u16, y as u16));
        }
    }
    None
}
