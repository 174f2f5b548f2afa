//! The live feed: the probe attached, /proc scanned and reconciled, and
//! every message in order on one channel (seeds first, then events),
//! optionally written to a journal as it passes.
