//! The collector's object lists, read from the interpreter state: every
//! object the GC tracks, including the permanent generation that
//! `gc.freeze()` moves objects to.
//!
//! Why not `gc.get_objects()` (before 3.12) or `PyUnstable_GC_VisitObjects`
//! (3.12+): neither lists the permanent generation, so after `gc.freeze()` a
//! capture built on them is (almost) empty; and `gc.get_objects()` is a
//! Python-level call that allocates a list and runs audit hooks.
//!
//! Where the lists are (every supported version, GIL build):
//! `PyInterpreterState.gc` is a `struct _gc_runtime_state` holding
//! `int enabled`, `struct gc_generation generations[NUM_GENERATIONS]` and
//! `struct gc_generation permanent_generation`; each `gc_generation` starts
//! with a `PyGC_Head`, the head of a ring of `PyGC_Head`s, one in front of
//! each tracked object. `_gc_next` is a plain pointer outside a collection's
//! own C code (the only place it carries a flag), `_gc_prev` has flag bits
//! at the bottom (`~_PyGC_PREV_MASK`).
//!
//! Believed only after [`verify_gc`]: through `mem`, every head must start a
//! ring whose links agree both ways (`next->prev == this`) for its first
//! nodes, each node's object must have a readable type whose own type is
//! readable, and `enabled` must be 0 or 1 (and equal to what the caller
//! knows). A capture then walks the rings in place with [`walk_lists`],
//! which checks the two-way links of every node as it goes, so a broken ring
//! is an error, never a loop or a wrong list. Never writes, never calls
//! Python.

use super::mem::{i32_at, Memory};
use super::objects::OB_TYPE;
use super::{Layout, LayoutError};

/// How many nodes at the start of each ring [`verify_gc`] checks through
/// `mem`: enough that a wrong offset cannot pass by luck.
const VERIFY_NODES: usize = 64;
/// No interpreter tracks more objects; more means a broken ring.
const MAX_OBJECTS: usize = 1 << 36;

/// Where the collector's lists and flag are, once [`verify_gc`] believed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcLists {
    /// The list heads: the generations, youngest first, then the permanent one.
    pub heads: Vec<usize>,
    /// The address of `gc.enabled` (an `int`).
    pub enabled: usize,
    next: usize,
    prev: usize,
    prev_flags: usize,
    head_size: usize,
}

impl GcLists {
    /// The list heads and fields of the collector of the interpreter at `interp`.
    pub fn of(l: &Layout, interp: usize) -> Result<GcLists, LayoutError> {
        let gens = l.need(l.interp_gc_generations, "gc.generations")?;
        let n = l.need(l.gc_generations, "NUM_GENERATIONS")?;
        let size = l.need(l.gc_generation_size, "sizeof(struct gc_generation)")?;
        let head = l.need(l.gc_generation_head, "gc_generation.head")?;
        let permanent = l.need(l.interp_gc_permanent, "gc.permanent_generation")?;
        let mut heads: Vec<usize> = (0..n).map(|i| interp + gens + i * size + head).collect();
        heads.push(interp + permanent + head);
        Ok(GcLists {
            heads,
            enabled: interp + l.need(l.interp_gc_enabled, "gc.enabled")?,
            next: l.need(l.gc_head_next, "PyGC_Head._gc_next")?,
            prev: l.need(l.gc_head_prev, "PyGC_Head._gc_prev")?,
            prev_flags: l.need(l.gc_prev_flags, "_PyGC_PREV_MASK")?,
            head_size: l.need(l.gc_head_size, "sizeof(PyGC_Head)")?,
        })
    }

    /// The permanent generation's head (what `gc.freeze()` fills).
    pub fn permanent(&self) -> usize {
        self.heads[self.heads.len() - 1]
    }
}

/// Checks through `mem` that the collector's state at `interp` is laid out as
/// `l` says: `enabled` is 0 or 1 (and `expected_enabled`, when the caller
/// knows it from `PyGC_IsEnabled()`), and each list head starts a ring whose
/// first nodes link both ways and hold objects with readable types.
pub fn verify_gc<M: Memory>(m: &M, l: &Layout, interp: usize, expected_enabled: Option<bool>) -> Result<GcLists, LayoutError> {
    let lists = GcLists::of(l, interp)?;
    let enabled = i32_at(lists.enabled, "gc.enabled")?;
    let ok = match expected_enabled {
        Some(e) => enabled == i32::from(e),
        None => enabled == 0 || enabled == 1,
    };
    if !ok {
        let expected = expected_enabled.map_or("0 or 1".to_string(), |e| format!("PyGC_IsEnabled() = {}", i32::from(e)));
        return Err(LayoutError::mismatch("gc.enabled", lists.enabled, expected, enabled as usize));
    }
    for &head in &lists.heads {
        walk_ring(m, &lists, head, VERIFY_NODES, |o| {
            let ty = m.word(o + OB_TYPE, "ob_type of a tracked object")?;
            m.word(ty + OB_TYPE, "the type of a tracked object's type")?;
            Ok(())
        })?;
    }
    Ok(lists)
}

/// Calls `f` with each object on the ring at `head`, in list order, at most
/// `max` of them; every node's `_gc_prev` must point back at the node before
/// it. Returns whether the ring was walked to its end.
fn walk_ring<M: Memory>(
    m: &M,
    lists: &GcLists,
    head: usize,
    max: usize,
    mut f: impl FnMut(usize) -> Result<(), LayoutError>,
) -> Result<bool, LayoutError> {
    let mask = !lists.prev_flags;
    let mut before = head;
    let mut at = m.word(head + lists.next, "PyGC_Head._gc_next")?;
    let mut n = 0;
    while at != head {
        if n == max {
            return Ok(false);
        }
        let back = m.word(at + lists.prev, "PyGC_Head._gc_prev")? & mask;
        if back != before || at == 0 {
            return Err(LayoutError::mismatch("PyGC_Head._gc_prev", at + lists.prev, format!("the node before it, {before:#x}"), back));
        }
        f(at + lists.head_size)?;
        n += 1;
        before = at;
        at = m.word(at + lists.next, "PyGC_Head._gc_next")?;
    }
    // The head closes the ring: its `_gc_prev` is the last node.
    let last = m.word(head + lists.prev, "PyGC_Head._gc_prev")? & mask;
    if last != before {
        return Err(LayoutError::mismatch("gc list head _gc_prev", head + lists.prev, format!("the last node, {before:#x}"), last));
    }
    Ok(true)
}

/// Every object on the collector's lists (the generations, then the
/// permanent generation), appended to `out`; returns how many came from the
/// permanent generation. A ring whose links disagree is an error (and
/// `out` then holds part of the objects).
pub fn walk_lists<M: Memory>(m: &M, lists: &GcLists, out: &mut Vec<usize>) -> Result<usize, LayoutError> {
    let mut frozen = 0;
    let permanent = lists.permanent();
    for &head in &lists.heads {
        let before = out.len();
        let complete = walk_ring(m, lists, head, MAX_OBJECTS, |o| {
            out.push(o);
            Ok(())
        })?;
        if !complete {
            return Err(LayoutError::TooMany { what: "objects on a collector list", limit: MAX_OBJECTS });
        }
        if head == permanent {
            frozen = out.len() - before;
        }
    }
    Ok(frozen)
}

#[cfg(test)]
mod tests {
    use super::super::fake::Fake;
    use super::super::generated_layout;
    use super::super::mem::Checked;
    use super::*;

    /// A fake interpreter whose collector has `counts[i]` objects on list `i`
    /// (the generations, then the permanent one), each an object of a fake
    /// type; returns the fake, the interpreter and the objects per list.
    fn world(l: &Layout, counts: &[usize]) -> (Fake, usize, Vec<Vec<usize>>) {
        let mut fake = Fake::new();
        let interp = fake.alloc(l.interp_size.unwrap());
        fake.put_i32(interp + l.interp_gc_enabled.unwrap(), 1);
        let meta = fake.alloc(32);
        fake.put_usize(meta + OB_TYPE, meta);
        let lists = GcLists::of(l, interp).unwrap();
        let mut objects = Vec::new();
        for (&head, &n) in lists.heads.iter().zip(counts) {
            let mut nodes = vec![head];
            for _ in 0..n {
                let g = fake.alloc(16 + 32);
                fake.put_usize(g + 16 + OB_TYPE, meta);
                nodes.push(g);
            }
            for (i, &g) in nodes.iter().enumerate() {
                let next = nodes[(i + 1) % nodes.len()];
                let prev = nodes[(i + nodes.len() - 1) % nodes.len()];
                fake.put_usize(g + lists.next, next);
                // Flag bits in _gc_prev (FINALIZED) must be masked off.
                fake.put_usize(g + lists.prev, prev | usize::from(i % 2 == 1));
            }
            objects.push(nodes[1..].iter().map(|g| g + 16).collect());
        }
        (fake, interp, objects)
    }

    #[test]
    fn every_list_and_the_permanent_generation_are_walked() {
        for minor in 9..=15 {
            let l = generated_layout(3, minor).unwrap();
            assert_eq!((l.gc_generations, l.gc_head_size, l.gc_prev_flags), (Some(3), Some(16), Some(3)), "3.{minor}");
            // The permanent generation follows the generations' array.
            assert!(l.interp_gc_permanent >= l.interp_gc_generations.map(|g| g + 3 * l.gc_generation_size.unwrap()));
            let (fake, interp, objects) = world(l, &[3, 0, 5, 200]);
            let lists = verify_gc(&Checked, l, interp, Some(true)).unwrap();
            let mut out = Vec::new();
            let frozen = walk_lists(&Checked, &lists, &mut out).unwrap();
            assert_eq!(frozen, 200);
            assert_eq!(out, objects.concat());
            assert!(matches!(verify_gc(&Checked, l, interp, Some(false)), Err(LayoutError::Mismatch { what: "gc.enabled", .. })));
            drop(fake);
        }
    }

    #[test]
    fn a_broken_ring_or_a_wrong_offset_is_an_error() {
        let l = generated_layout(3, 11).unwrap();
        let (mut fake, interp, objects) = world(l, &[2, 2, 2, 4]);
        let lists = GcLists::of(l, interp).unwrap();
        // A node whose _gc_prev does not point back.
        let node = objects[3][2] - 16;
        fake.put_usize(node + lists.prev, objects[3][0] - 16);
        let mut out = Vec::new();
        let err = walk_lists(&Checked, &lists, &mut out).unwrap_err();
        assert!(matches!(err, LayoutError::Mismatch { what: "PyGC_Head._gc_prev", .. }), "{err}");
        assert!(verify_gc(&Checked, l, interp, None).is_err());
        // The lists looked for one word off: no ring there.
        let mut shifted = *l;
        shifted.interp_gc_generations = Some(l.interp_gc_generations.unwrap() + 8);
        assert!(verify_gc(&Checked, &shifted, interp, None).is_err());
        drop(fake);
    }
}
