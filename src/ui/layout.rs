//! Where things go on screen. Shared by rendering and by the state (which
//! needs the tree pane's height to scroll, and the panes to map clicks).

use ratatui::layout::Rect;

/// The smallest terminal the view is laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// From this width on, the detail pane sits beside the tree, not under it.
pub const SIDE_BY_SIDE: u16 = 140;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Areas {
    /// The terminal is smaller than the view needs: only a message is
    /// shown, and every other area is empty.
    pub too_small: bool,
    pub status: Rect,
    pub banner: Rect,
    /// The tree pane, with its title row.
    pub tree: Rect,
    /// The tree pane's rows.
    pub tree_body: Rect,
    pub detail: Rect,
    pub detail_body: Rect,
    pub footer: Rect,
    pub side_by_side: bool,
}

/// The areas for a terminal of `area`'s size; `banner` adds a warning row
/// under the status bar.
pub fn layout(area: Rect, banner: bool) -> Areas {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Areas {
            too_small: true,
            ..Areas::default()
        };
    }
    let row = |y: u16, h: u16| Rect::new(area.x, y, area.width, h);
    let status = row(area.y, 1);
    let banner_h = u16::from(banner);
    let banner = row(area.y + 1, banner_h);
    let footer = row(area.bottom() - 1, 1);
    let main_y = area.y + 1 + banner_h;
    let main = row(main_y, footer.y - main_y);
    let side_by_side = area.width >= SIDE_BY_SIDE;
    let (tree, detail) = if side_by_side {
        let tree_w = main.width * 11 / 20;
        (
            Rect::new(main.x, main.y, tree_w, main.height),
            Rect::new(main.x + tree_w, main.y, main.width - tree_w, main.height),
        )
    } else {
        let tree_h = main.height * 3 / 5;
        (
            Rect::new(main.x, main.y, main.width, tree_h),
            Rect::new(main.x, main.y + tree_h, main.width, main.height - tree_h),
        )
    };
    // Each pane has a title row; the side detail pane also a left rule.
    let tree_body = Rect::new(tree.x, tree.y + 1, tree.width, tree.height - 1);
    let left = u16::from(side_by_side);
    let detail_body = Rect::new(
        detail.x + left,
        detail.y + 1,
        detail.width - left,
        detail.height - 1,
    );
    Areas {
        too_small: false,
        status,
        banner,
        tree,
        tree_body,
        detail,
        detail_body,
        footer,
        side_by_side,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_size_has_room_for_both_panes() {
        let a = layout(Rect::new(0, 0, 80, 24), true);
        assert!(!a.too_small);
        assert_eq!(a.status.y, 0);
        assert_eq!(a.banner.y, 1);
        assert_eq!(a.footer.y, 23);
        assert!(a.tree_body.height >= 10, "{a:?}");
        assert!(a.detail_body.height >= 6, "{a:?}");
        assert_eq!(a.tree.bottom(), a.detail.y);
        assert_eq!(a.detail.bottom(), a.footer.y);
    }

    #[test]
    fn wide_is_side_by_side() {
        let a = layout(Rect::new(0, 0, 200, 50), false);
        assert!(a.side_by_side);
        assert_eq!(a.tree.right(), a.detail.x);
        assert_eq!(a.tree_body.height, 47);
    }

    #[test]
    fn too_small() {
        assert!(layout(Rect::new(0, 0, 79, 24), false).too_small);
        assert!(layout(Rect::new(0, 0, 80, 23), false).too_small);
    }
}
