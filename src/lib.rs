//! causeway: a live causal tree of a host's processes and connections, from
//! a CO-RE eBPF probe, with a terminal view and a JSON Lines journal.

pub mod bpf;
pub mod cgroups;
pub mod cli;
pub mod event;
pub mod export;
pub mod graph;
pub mod hash;
pub mod journal;
pub mod live;
pub mod logging;
pub mod record;
pub mod seed;
pub mod ui;
pub mod usage;
