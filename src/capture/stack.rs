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
use super::source::Addr;
use super::source::C_CALL_SLOT;

/// The unsure stack words of the live frames, kept past the walk (the
/// frames are not), with the edge label of each slot number they use.
pub(crate) struct Unsure {
    /// Per frame: its node's address and its words (referent, slot).
    frames: Vec<(Addr, Vec<(Addr, u32)>)>,
    /// `stack[i]` for each slot number; the last one labels [`C_CALL_SLOT`].
    labels: Vec<EdgeLabel>,
}

impl Unsure {
    /// Takes the frames' words and interns their labels while the builder
    /// can still name edges.
    pub(crate) fn collect(builder: &mut HeapBuilder, frames: &[&Frame]) -> Unsure {
        let frames: Vec<_> =
            frames.iter().filter(|f| !f.data.stack_unsure.is_empty()).map(|f| (f.node_addr(), f.data.stack_unsure.clone())).collect();
        let max = frames.iter().flat_map(|(_, w)| w.iter().map(|&(_, i)| i)).filter(|&i| i != C_CALL_SLOT).max();
        let mut labels: Vec<EdgeLabel> = match max {
            Some(m) => (0..=m).map(|i| builder.edge_name(&format!("stack[{i}]"))).collect(),
            None => Vec::new(),
        };
        labels.push(builder.edge_name("C call"));
        Unsure { frames, labels }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Adds an edge from a frame to each object its unsure stack words name
    /// that has a surplus left, newest frame first per thread; returns how
    /// many were added.
    pub(crate) fn attribute(&self, heap: &mut Heap) -> usize {
        let mut claimed: FxHashMap<NodeIx, u64> = FxHashMap::default();
        let mut extra = Vec::new();
        for (frame, words) in &self.frames {
            let Some(frame) = heap.find_addr(*frame as u64) else { continue };
            for &(addr, slot) in words {
                let Some(target) = heap.find_addr(addr as u64) else { continue };
                let label = match slot {
                    C_CALL_SLOT => self.labels.last().copied(),
                    _ => self.labels.get(slot as usize).copied(),
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
}
