//! The capture's second core: work that touches no object of the heap
//! (building the address set, faulting in memory, resolving and reversing
//! the edges) runs on another thread while the capturing thread walks the
//! heap, or inline when no thread can be had.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::address::{AddressSet, Referents};
use crate::alloc::Prefault;

/// Seconds since `lap`, which starts the next lap.
pub(crate) fn seconds_since(lap: &mut Instant) -> f64 {
    std::mem::replace(lap, Instant::now()).elapsed().as_secs_f64()
}

/// Fetches the cache line at `addr` ahead of its reader: the walk and the
/// node pass go through memory in address order, but objects are spread
/// thinly enough that the hardware does not see a stream.
pub(crate) fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// What the walking core sends the one that builds the address set.
pub(crate) enum ToIndex {
    /// Every source, once, before the walk, in address order.
    Sources(Arc<Vec<usize>>),
    /// Referents met by the walk.
    Addresses(Vec<u64>),
}

/// The set of every source and every referent the walk sends, and each
/// referent's code in it. Whenever nothing is waiting, this core faults in
/// the memory the walk writes next (its label column, which would otherwise
/// stall the walk at each new page), then that of the node columns, as far
/// as the nodes met so far.
pub(crate) fn address_set(
    addresses: Receiver<ToIndex>,
    mut referents: Referents,
    mut edge_columns: Prefault,
    (mut node_columns, expected_nodes): (Prefault, usize),
) -> (AddressSet, Referents) {
    let mut set = AddressSet::new();
    loop {
        let message = match addresses.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Empty) => {
                let met = set.len() as f64 / expected_nodes.max(1) as f64;
                if edge_columns.step() || node_columns.step_to(met) {
                    continue;
                }
                match addresses.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match message {
            ToIndex::Sources(sources) => sources.iter().for_each(|&a| {
                // Objects are 8-byte aligned; an address that is not
                // cannot be one, and nothing is recorded from it.
                let _ = set.insert(a as u64);
            }),
            ToIndex::Addresses(chunk) => set.insert_referents(&chunk, &mut referents),
        }
    }
    (set, referents)
}

/// How the second core is started: the stack size of its thread (`None`:
/// the default). A test asks for an impossible one to take the path where
/// no thread can be had.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spawn {
    pub stack_size: Option<usize>,
}

type Work<'scope, T> = Mutex<Option<Box<dyn FnOnce() -> T + Send + 'scope>>>;

/// Work handed to another core, or done here when no thread can be had
/// (a capture must not fail, let alone panic, for want of a thread).
pub(crate) enum Helper<'scope, T> {
    Thread(std::thread::ScopedJoinHandle<'scope, Option<T>>),
    Here(Box<dyn FnOnce() -> T + Send + 'scope>),
    Lost,
}

fn take_work<'scope, T>(slot: &Work<'scope, T>) -> Option<Box<dyn FnOnce() -> T + Send + 'scope>> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
}

pub(crate) fn on_second_core<'scope, 'env, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    spawn: Spawn,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Helper<'scope, T> {
    // Kept here as well, so that the work survives a failed spawn.
    let slot: Arc<Work<'scope, T>> = Arc::new(Mutex::new(Some(Box::new(f))));
    let theirs = slot.clone();
    let mut builder = std::thread::Builder::new().name("refgraph-index".into());
    if let Some(size) = spawn.stack_size {
        builder = builder.stack_size(size);
    }
    match builder.spawn_scoped(scope, move || take_work(&theirs).map(|f| f())) {
        Ok(h) => Helper::Thread(h),
        Err(_) => take_work(&slot).map_or(Helper::Lost, Helper::Here),
    }
}

impl<T> Helper<'_, T> {
    /// Ran on another thread (rather than inline here).
    #[cfg(test)]
    pub fn threaded(&self) -> bool {
        matches!(self, Helper::Thread(_))
    }

    /// The work's result; `None` if its thread panicked or the work was lost.
    pub fn join(self) -> Option<T> {
        match self {
            Helper::Thread(h) => h.join().ok().flatten(),
            Helper::Here(f) => Some(f()),
            Helper::Lost => None,
        }
    }
}

/// Merges `extra` into `sorted`, both in address order, in one pass from
/// the back (a thread pool's hundreds of frames must not each shift
/// millions of entries).
pub(crate) fn merge_from_back(sorted: &mut Vec<usize>, extra: &[usize]) {
    let (mut i, mut j) = (sorted.len(), extra.len());
    sorted.resize(i + j, 0);
    while j > 0 {
        let out = i + j - 1;
        if i > 0 && sorted[i - 1] > extra[j - 1] {
            sorted[out] = sorted[i - 1];
            i -= 1;
        } else {
            sorted[out] = extra[j - 1];
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_from_the_back_keeps_address_order() {
        for (a, b) in [(vec![], vec![5]), (vec![2, 4, 6], vec![]), (vec![2, 4, 6], vec![1, 5, 7]), (vec![10, 20], vec![1, 2, 3])] {
            let mut merged = a.clone();
            merge_from_back(&mut merged, &b);
            let mut want = [a, b].concat();
            want.sort_unstable();
            assert_eq!(merged, want);
        }
    }

    #[test]
    fn work_runs_inline_when_no_thread_can_be_had() {
        let out = std::thread::scope(|scope| {
            let h = on_second_core(scope, Spawn { stack_size: Some(usize::MAX) }, || 6 * 7);
            assert!(!h.threaded(), "a thread with an impossible stack was started");
            h.join()
        });
        assert_eq!(out, Some(42));
        let out = std::thread::scope(|scope| {
            let h = on_second_core(scope, Spawn::default(), || 6 * 7);
            assert!(h.threaded());
            h.join()
        });
        assert_eq!(out, Some(42));
    }
}
