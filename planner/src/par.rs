//! Independent parts of one plan on all cores: [`join`] and [`map`] run closures on the
//! planner's own small pool of worker threads (`aviary-plan-<n>`, one per core, started on
//! first use and kept: starting a thread costs ~65 µs here, a plan's dozen joins would pay it
//! each time). A whole plan runs on one of the workers ([`run`]): a join from the caller's
//! thread would wake the pool (~0.1 ms) each time it had gone idle between the plan's parts.
//! The parts share nothing mutable, so a plan is the same bytes whatever the
//! number of cores; with one core, or if the pool cannot start, everything runs on the
//! caller's thread, in order.

use std::sync::OnceLock;

use rayon::iter::{IntoParallelRefIterator, IntoParallelRefMutIterator, ParallelIterator};

/// Environment variable that sets the pool's size (`1`: no pool, everything on the caller's
/// thread); by default one thread per core.
pub const THREADS_ENV: &str = "AVIARY_PLAN_THREADS";

/// The pool, when there is more than one core (or [`THREADS_ENV`] asks for more than one
/// thread) and it started.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            });
        if cores < 2 {
            return None;
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("aviary-plan-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Starts the pool's workers now (a program that plans once can do it while it reads its
/// input, so the plan does not pay for starting threads). Plans start it themselves otherwise.
pub fn start() {
    if let Some(pool) = pool() {
        pool.broadcast(|_| ());
    }
}

/// Runs `f` on a worker of the pool (the caller waits): the joins and maps inside it then
/// hand work from worker to worker instead of waking the pool from the caller's thread at
/// each one. Without a pool, on the caller's thread.
pub(crate) fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    match pool() {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// Runs `a` and `b`, in parallel when there are cores to spare; returns both results.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if rayon::current_thread_index().is_some() {
        // Already on a worker: the pool steals `b` if a worker is idle.
        return rayon::join(a, b);
    }
    if let Some(pool) = pool() {
        pool.install(|| rayon::join(a, b))
    } else {
        let ra = a();
        (ra, b())
    }
}

/// `f` of every item, in order, the items spread over the cores.
pub(crate) fn map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync + Send,
{
    if items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    if rayon::current_thread_index().is_some() {
        return items.par_iter().map(&f).collect();
    }
    if let Some(pool) = pool() {
        pool.install(|| items.par_iter().map(&f).collect())
    } else {
        items.iter().map(&f).collect()
    }
}

/// `f` on every item in place, the items spread over the cores.
pub(crate) fn for_each_mut<T, F>(items: &mut [T], f: F)
where
    T: Send,
    F: Fn(&mut T) + Sync + Send,
{
    if items.len() < 2 {
        items.iter_mut().for_each(f);
        return;
    }
    if rayon::current_thread_index().is_some() {
        items.par_iter_mut().for_each(f);
        return;
    }
    if let Some(pool) = pool() {
        pool.install(|| items.par_iter_mut().for_each(f));
    } else {
        items.iter_mut().for_each(f);
    }
}

/// `f` of every item, in order, in chunks of 512 spread over the cores (for many cheap items).
pub(crate) fn map_chunks<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync + Send,
{
    const CHUNK: usize = 512;
    if items.len() <= CHUNK {
        return items.iter().map(&f).collect();
    }
    let chunks: Vec<&[T]> = items.chunks(CHUNK).collect();
    map(&chunks, |c| c.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
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
            || join(|| v.iter().map(|x| x * 2).sum::<u64>(), || 1).0,
        );
        assert_eq!((a, b), (499_500, 999_000));
    }
}
