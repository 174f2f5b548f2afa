//! TEMPORARY until src/ui lands its entry points.
pub fn run_live(feed: crate::live::LiveFeed) -> anyhow::Result<()> {
    feed.stop()?;
    anyhow::bail!("the view is not built yet")
}
pub fn run_replay(_l: crate::journal::Loaded, _p: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("the view is not built yet")
}
