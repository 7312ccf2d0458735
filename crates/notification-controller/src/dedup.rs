//! Flux's de-duplication of events: one delivery per event key per window.
//!
//! Flux rate-limits the event server with a token bucket of one token per
//! `--rate-limit-interval` (5m) and key ([`crate::event::event_key`]). The
//! windows of a key are fixed: they start at the key's first event and
//! follow each other every interval, and the first event of each window is
//! admitted while the rest are answered 429.
//!
//! Entries whose window has passed are swept once the table doubles in size
//! since the last sweep, so memory stays proportional to the number of
//! distinct events within one window. A swept key starts a fresh window at
//! its next event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type Key = [u8; 32];

#[derive(Debug)]
struct Entry {
    start: Instant,
    /// The window (counted from `start`) of the last admitted event.
    window: u64,
}

/// The set of recently seen event keys.
#[derive(Debug)]
pub struct Deduplicator {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    seen: HashMap<Key, Entry>,
    sweep_at: usize,
}

const MIN_SWEEP: usize = 1024;

impl Deduplicator {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval: interval.max(Duration::from_millis(1)),
            state: Mutex::new(State {
                seen: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }

    /// Whether an event with `key` may go through now; records it if so.
    pub fn admit(&self, key: Key) -> bool {
        self.admit_at(key, Instant::now())
    }

    fn admit_at(&self, key: Key, now: Instant) -> bool {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let interval = self.interval;
        let window_of = |start: Instant| -> u64 {
            let elapsed = now.saturating_duration_since(start).as_nanos();
            u64::try_from(elapsed / interval.as_nanos().max(1)).unwrap_or(u64::MAX)
        };
        let admitted = match state.seen.get_mut(&key) {
            Some(entry) => {
                let current = window_of(entry.start);
                if current > entry.window {
                    entry.window = current;
                    true
                } else {
                    false
                }
            }
            None => {
                state.seen.insert(
                    key,
                    Entry {
                        start: now,
                        window: 0,
                    },
                );
                true
            }
        };
        if state.seen.len() >= state.sweep_at {
            state.seen.retain(|_, e| window_of(e.start) <= e.window);
            state.sweep_at = (state.seen.len() * 2).max(MIN_SWEEP);
        }
        admitted
    }

    /// Forgets `key`, so its next event is admitted (used when an admitted
    /// event could not be taken on and the sender should retry it).
    pub fn forget(&self, key: &Key) {
        if let Ok(mut s) = self.state.lock() {
            s.seen.remove(key);
        }
    }

    /// The number of keys remembered.
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.seen.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Key {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        k
    }

    #[test]
    fn one_per_fixed_window() {
        let d = Deduplicator::new(Duration::from_secs(300));
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(d.admit_at(key(1), at(0)));
        assert!(!d.admit_at(key(1), at(1)));
        assert!(!d.admit_at(key(1), at(299)));
        assert!(d.admit_at(key(2), at(299)), "keys are independent");
        assert!(d.admit_at(key(1), at(300)), "next window");
        assert!(!d.admit_at(key(1), at(400)));
        // Windows stay aligned to the first event: 600 starts the third.
        assert!(d.admit_at(key(1), at(600)));
        d.forget(&key(1));
        assert!(d.admit_at(key(1), at(601)));
    }

    #[test]
    fn expired_keys_are_swept() {
        let d = Deduplicator::new(Duration::from_secs(1));
        let t0 = Instant::now();
        for n in 0..1000 {
            assert!(d.admit_at(key(n), t0));
        }
        assert_eq!(d.len(), 1000);
        // The next insertions, after the window, trigger a sweep of the old ones.
        let later = t0 + Duration::from_secs(2);
        for n in 1000..1100 {
            assert!(d.admit_at(key(n), later));
        }
        assert!(d.len() < 200, "{} keys kept", d.len());
        assert!(!d.admit_at(key(1050), later));
    }
}
