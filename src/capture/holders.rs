//! The roots a capture knows by name: modules of the registry
//! (`sys.modules['name']`), the runtime's named C-level holders ("atexit
//! callback #1", "os.register_at_fork(before)"), and the live frames of
//! every thread. Held-from-outside roots come later, from the finished
//! graph's counts (`crate::roots`).

use super::frames::Frame;
use super::source::Addr;
use crate::graph::{HeapBuilder, NodeIx, Root, RootKind};

/// Adds the module, named-holder and frame roots of a capture to `b`;
/// `find` gives the node at an address (the nodes may be kept elsewhere).
pub(crate) fn add_roots(
    b: &mut HeapBuilder,
    find: &dyn Fn(u64) -> Option<NodeIx>,
    modules: Vec<(String, Addr)>,
    named: &[(Addr, String)],
    live_frames: &[&Frame],
) {
    for (name, module) in modules {
        if let Some(ix) = find(module as u64) {
            b.add_root(Root { node: ix, kind: RootKind::Module { name } });
        }
    }
    add_named_roots(b, find, named);
    for f in live_frames {
        if let Some(ix) = find(f.node_addr() as u64) {
            let kind = RootKind::Frame { thread: f.thread, depth: f.data.depth, function: f.data.function.clone() };
            b.add_root(Root { node: ix, kind });
        }
    }
}

/// Roots named after their C-level holder; one root per object, naming every
/// holder that has it ("atexit callback #1, atexit callback #3").
fn add_named_roots(b: &mut HeapBuilder, find: &dyn Fn(u64) -> Option<NodeIx>, named: &[(Addr, String)]) {
    let mut by_node: Vec<(NodeIx, Vec<&str>)> = Vec::new();
    for (addr, holder) in named {
        let Some(ix) = find(*addr as u64) else { continue };
        match by_node.iter_mut().find(|(n, _)| *n == ix) {
            Some((_, names)) => names.push(holder),
            None => by_node.push((ix, vec![holder])),
        }
    }
    for (ix, names) in by_node {
        b.add_root(Root { node: ix, kind: RootKind::Named { holder: names.join(", "), surplus: 0 } });
    }
}
