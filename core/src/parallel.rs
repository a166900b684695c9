//! When work is shared out among threads: one rule for the routes of a translation and for the
//! Gateways whose Envoy resources are built from it.
//!
//! Handing work to another core costs: its results are read back from that core's cache and
//! their memory is given back to that thread's heap. Measured on a shared 2-core machine
//! (BENCHMARKS.md): routes on two threads lost up to 20 % at 1,000-3,000 routes, broke even at
//! 5,000-7,000 and won from about 10,000; Gateways built on two threads lost about 20 % at
//! 1,000 routes (4 Gateways) and won about 15 % at 10,000 (40 Gateways). Small inputs stay on
//! the calling thread.

use std::num::NonZeroUsize;

/// Pieces cut per thread: a few, so that a thread slowed down by others sharing the machine
/// leaves its pieces to the rest.
const PIECES_PER_THREAD: usize = 4;

/// How many threads large pieces of work may use, and from what size they are shared out.
/// The result is the same whatever the numbers: only the time it takes changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// How many threads the work is cut for: None for as many as rayon's global pool has (one
    /// per core, unless `RAYON_NUM_THREADS` says otherwise); 1 keeps it on the calling thread.
    /// The pieces run on rayon's global pool.
    pub threads: Option<NonZeroUsize>,
    /// The fewest routes worth sharing out: below it, handing them out costs as much as it
    /// saves. The default, 8,192, is where two threads began to win (see the module's doc).
    pub from: usize,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            threads: None,
            from: 8192,
        }
    }
}

impl Parallelism {
    /// Everything on the calling thread.
    pub const ONE_THREAD: Parallelism = Parallelism {
        threads: Some(NonZeroUsize::MIN),
        from: usize::MAX,
    };

    /// How many threads work of `routes` routes (or as much as that) in `pieces` independent
    /// pieces is shared out among: 1 when it stays on the calling thread.
    pub fn threads_for(&self, routes: usize, pieces: usize) -> usize {
        let threads = self
            .threads
            .map_or_else(rayon::current_num_threads, NonZeroUsize::get);
        if threads < 2 || pieces < 2 || routes < self.from.max(2) {
            1
        } else {
            threads.min(pieces)
        }
    }

    /// How many consecutive items make one piece when `items` are shared out among `threads`
    /// (from [`Parallelism::threads_for`]).
    pub fn piece_len(items: usize, threads: usize) -> usize {
        items.div_ceil(threads.max(1) * PIECES_PER_THREAD).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_work_or_a_single_piece_stays_on_the_calling_thread() {
        let p = Parallelism {
            threads: NonZeroUsize::new(4),
            from: 100,
        };
        assert_eq!(p.threads_for(99, 50), 1);
        assert_eq!(p.threads_for(100, 50), 4);
        assert_eq!(p.threads_for(100_000, 1), 1);
        assert_eq!(p.threads_for(100_000, 3), 3, "no more threads than pieces");
        assert_eq!(Parallelism::ONE_THREAD.threads_for(usize::MAX, 1000), 1);
        let one = Parallelism {
            threads: NonZeroUsize::new(1),
            from: 0,
        };
        assert_eq!(one.threads_for(100_000, 1000), 1);
        assert_eq!(Parallelism::piece_len(10_000, 2), 1250);
        assert_eq!(Parallelism::piece_len(40, 2), 5);
        assert_eq!(Parallelism::piece_len(3, 2), 1);
    }
}
