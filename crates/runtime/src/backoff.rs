//! Per-object retry back-off: after each consecutive failure of an object
//! the delay doubles, from the minimum up to the maximum (Flux's
//! `--min-retry-delay`/`--max-retry-delay`); a success resets it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug)]
pub struct RetryBackoff {
    min: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl RetryBackoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure of `key` and returns the delay before its retry.
    pub fn next(&self, key: &str) -> Duration {
        let mut failures = match self.failures.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        let n = failures.entry(key.to_owned()).or_insert(0);
        let delay = self.min.saturating_mul(1u32 << (*n).min(20)).min(self.max);
        *n = n.saturating_add(1);
        delay
    }

    /// Forgets `key`'s failures (after a success, or when it is deleted).
    pub fn reset(&self, key: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }

    /// [`Self::next`] for an object, keyed by its namespace and name.
    pub fn next_for<K: kube::Resource>(&self, obj: &K) -> Duration {
        self.next(&key_of(obj))
    }

    /// [`Self::reset`] for an object.
    pub fn reset_for<K: kube::Resource>(&self, obj: &K) {
        self.reset(&key_of(obj));
    }
}

/// `namespace/name`: one back-off exists per controller and kind.
fn key_of<K: kube::Resource>(obj: &K) -> String {
    let meta = obj.meta();
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_max_and_resets() {
        let b = RetryBackoff::new(Duration::from_millis(750), Duration::from_secs(5));
        let delays: Vec<_> = (0..5).map(|_| b.next("ns/a")).collect();
        assert_eq!(
            delays,
            [750, 1500, 3000, 5000, 5000].map(Duration::from_millis)
        );
        assert_eq!(b.next("ns/b"), Duration::from_millis(750), "per object");
        b.reset("ns/a");
        assert_eq!(b.next("ns/a"), Duration::from_millis(750));
    }
}
