//! Two independent parts of one plan on two cores: [`join`] runs one closure on a scoped
//! worker thread (`aviary-plan`) while the caller runs the other, and joins before returning.
//! The parts share nothing mutable, so the plan is the same bytes as on one thread; with one
//! core, when every other core already runs a worker, or when the worker cannot start, both
//! run on the caller's thread, in order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Workers that may run at once besides the callers: one per core beyond the first (read once).
fn max_workers() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(0, |n| n.get() - 1))
}

/// Workers running now, across all plans of the process: a `join` inside a part that already
/// runs beside another (or two plans at once) runs in line rather than oversubscribe the cores.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// A worker slot, given back when dropped.
struct Slot;

impl Slot {
    fn take() -> Option<Self> {
        let limit = max_workers();
        BUSY.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .ok()
        .map(|_| Self)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `a` and `b`, `b` on a worker thread when a second core is there; returns both results.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    let Some(busy) = Slot::take() else {
        let ra = a();
        return (ra, b());
    };
    // `b` waits in a slot the worker takes it from, so that a worker the OS refuses leaves
    // `b` to run here instead of losing it.
    let slot = Mutex::new(Some(b));
    let take = || slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("aviary-plan".into())
            .spawn_scoped(s, move || {
                let _busy = busy;
                take().map(|b| b())
            });
        let ra = a();
        match worker.map(std::thread::ScopedJoinHandle::join) {
            Ok(Ok(Some(rb))) => (ra, rb),
            // The worker's panic is the caller's, as if `b` had run here.
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // Not started (or nothing taken): `b` is still in its slot.
            Ok(Ok(None)) | Err(_) => {
                let rb = take().map(|b| b());
                (ra, rb.unwrap_or_else(|| unreachable!("`b` ran nowhere")))
            }
        }
    })
}

/// `f` of every item, in order; the items at odd positions on the worker (see [`join`]).
pub(crate) fn map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    if items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    let (even, odd): (Vec<R>, Vec<R>) = join(
        || items.iter().step_by(2).map(&f).collect(),
        || items.iter().skip(1).step_by(2).map(&f).collect(),
    );
    let mut out = Vec::with_capacity(items.len());
    let mut odd = odd.into_iter();
    for r in even {
        out.push(r);
        out.extend(odd.next());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{join, map};

    #[test]
    fn map_keeps_the_order() {
        for n in 0..7_u32 {
            let items: Vec<u32> = (0..n).collect();
            assert_eq!(
                map(&items, |x| x * 3),
                items.iter().map(|x| x * 3).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn join_returns_both_results_in_place() {
        let v: Vec<u64> = (0..1000).collect();
        let (a, b) = join(
            || v.iter().sum::<u64>(),
            || v.iter().map(|x| x * 2).sum::<u64>(),
        );
        assert_eq!((a, b), (499_500, 999_000));
    }
}
