//! Hashers for the maps on the path of every event.
//!
//! Maps keyed by a kernel socket cookie fresh from the probe use a plain
//! multiply: such cookies come from a kernel counter, not from anyone who
//! could choose them to collide.
//!
//! Maps whose keys someone could choose (a replayed journal may be
//! hostile; remote addresses and ports are the peer's to pick) use
//! foldhash, keyed with a random secret per process: a folded multiply of
//! the key with that secret, which whoever chooses the keys cannot know,
//! so cannot aim at one bucket. It is several times cheaper per key than
//! the standard library's SipHash, which took about a seventh of the
//! view's time on a loopback connection churn (one `perf record` of the
//! view during `net_churn - 120000`).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A map whose keys may be chosen by someone else (see the module's
/// documentation).
pub type KeyedMap<K, V> = foldhash::HashMap<K, V>;

/// A map keyed by socket cookie.
pub type CookieMap<V> = HashMap<u64, V, BuildHasherDefault<CookieHasher>>;

/// A set of socket cookies.
pub type CookieSet = HashSet<u64, BuildHasherDefault<CookieHasher>>;

/// Multiplies the key by an odd 64-bit constant (Fibonacci hashing) and
/// folds the high half, where the product mixes every key bit, into the
/// low half, which picks the bucket.
#[derive(Default, Clone, Copy, Debug)]
pub struct CookieHasher(u64);

/// 2^64 divided by the golden ratio, made odd.
const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for CookieHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(K);
    }

    /// Not used by `u64` keys; any other key still hashes correctly.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    #[test]
    fn sequential_and_strided_cookies_spread_over_buckets() {
        let hash = |n: u64| BuildHasherDefault::<CookieHasher>::default().hash_one(n);
        for stride in [1u64, 8, 4096, 1 << 32] {
            let buckets: HashSet<u64> = (0..1024u64).map(|i| hash(1 + i * stride) & 1023).collect();
            assert!(
                buckets.len() > 600,
                "stride {stride}: {} buckets",
                buckets.len()
            );
        }
    }

    #[test]
    fn a_cookie_map_is_a_map() {
        let mut m = CookieMap::default();
        for c in 0..10_000u64 {
            m.insert(c * 3, c);
        }
        assert_eq!(m.get(&300), Some(&100));
        assert_eq!(m.remove(&3), Some(1));
        assert_eq!(m.len(), 9_999);
    }
}
