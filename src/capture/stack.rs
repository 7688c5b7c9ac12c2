//! Value-stack references of frames whose stack depth cannot be known: a
//! frame that called into C (3.9/3.10: every running frame; 3.11+: the
//! newest frame, and a frame that called C code which called back into
//! Python). Their stack area holds the live references (a call's function
//! and arguments) and stale words left by values already popped.
//!
//! A word becomes an edge `stack[i]` from its frame only where it names an
//! object of the graph whose count has references no object explains (its
//! surplus), and only as many words as that surplus. So a stale word can
//! never make a count disagree: at worst it names the frame as the holder
//! of a reference that is really held by other C state for that object,
//! which the capture would otherwise call "held from outside the heap".
//! See docs/frames.md.

use rustc_hash::FxHashMap;

use crate::graph::{EdgeLabel, Heap, HeapBuilder, NodeIx};

use super::frames::Frame;
use super::source::C_CALL_SLOT;

/// The edge label of each slot number a frame's unsure stack words use,
/// interned while the builder can still name edges.
/// The last one labels [`C_CALL_SLOT`].
pub(crate) fn slot_labels(builder: &mut HeapBuilder, frames: &[&Frame]) -> Vec<EdgeLabel> {
    let slots = frames.iter().flat_map(|f| f.data.stack_unsure.iter().map(|&(_, i)| i));
    let max = slots.filter(|&i| i != C_CALL_SLOT).max();
    let mut labels: Vec<EdgeLabel> = match max {
        Some(m) => (0..=m).map(|i| builder.edge_name(&format!("stack[{i}]"))).collect(),
        None => Vec::new(),
    };
    labels.push(builder.edge_name("C call"));
    labels
}

/// Adds an edge from a frame to each object its unsure stack words name
/// that has a surplus left, newest frame first per thread; returns how
/// many were added.
pub(crate) fn attribute(heap: &mut Heap, frames: &[&Frame], labels: &[EdgeLabel]) -> usize {
    let mut claimed: FxHashMap<NodeIx, u64> = FxHashMap::default();
    let mut extra = Vec::new();
    for f in frames {
        if f.data.stack_unsure.is_empty() {
            continue;
        }
        let Some(frame) = heap.find_addr(f.node_addr() as u64) else { continue };
        for &(addr, slot) in &f.data.stack_unsure {
            let Some(target) = heap.find_addr(addr as u64) else { continue };
            let label = match slot {
                C_CALL_SLOT => labels.last().copied(),
                _ => labels.get(slot as usize).copied(),
            };
            let Some(label) = label else { continue };
            let taken = claimed.entry(target).or_insert(0);
            if crate::roots::surplus(heap, target) > *taken {
                *taken += 1;
                extra.push((frame, target, label));
            }
        }
    }
    let n = extra.len();
    heap.insert_edges(extra);
    n
}
