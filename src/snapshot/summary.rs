//! The light reader behind `refgraph summary`: a snapshot read and checked
//! as [`read_snapshot`](super::read_snapshot) reads it, keeping only the
//! type and size of each node, the roots, and the address and label of the
//! root nodes (the examples a summary names are roots). No edge index is
//! built and no label text is copied but the roots': the in-degrees the
//! held-from-outside roots need are counted as the edges are decoded.

use std::path::Path;

use super::format::{EDGES, EDGE_NAMES, NODES, ROOTS, TYPES};
use super::reader::{
    decode_edges, node_addrs, node_label_ids, node_type_ids, node_u32s, read_meta, read_roots, read_strings, split_sections,
    with_label_cursor, Cursor, Sections, SnapshotError,
};
use crate::graph::{Meta, NodeFlags, NodeIx, Root, RootKind};

/// What `refgraph summary` shows of a snapshot.
#[derive(Debug)]
pub struct Summary {
    pub meta: Meta,
    pub types: Vec<String>,
    pub node_count: usize,
    pub edge_count: usize,
    /// Each node's type id and shallow size.
    pub type_id: Vec<u32>,
    pub size: Vec<u32>,
    /// Every root, held-from-outside ones included, sorted by node, in the
    /// order the full reader gives them.
    pub roots: Vec<Root>,
    /// The address and label of each root's node, one entry per root.
    root_nodes: Vec<(u64, String)>,
}

impl Summary {
    /// The address and label of a root node; `None` for a node that is no root.
    pub fn root_node(&self, ix: NodeIx) -> Option<(u64, &str)> {
        let i = self.roots.partition_point(|r| r.node < ix);
        match self.roots.get(i) {
            Some(r) if r.node == ix => Some((self.root_nodes[i].0, self.root_nodes[i].1.as_str())),
            _ => None,
        }
    }
}

/// Reads a snapshot file's [`Summary`].
pub fn read_summary(path: &Path) -> Result<Summary, SnapshotError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| SnapshotError::Read { file: name.clone(), error })?;
    read_summary_bytes(&bytes, &name)
}

/// Reads a [`Summary`] from memory; `name` is what errors call it.
pub fn read_summary_bytes(bytes: &[u8], name: &str) -> Result<Summary, SnapshotError> {
    let sections = split_sections(bytes, name)?;
    let meta = read_meta(&sections, name)?;
    let types = read_strings(sections.get(TYPES, name, "TYPE")?)?;
    let edge_names = read_strings(sections.get(EDGE_NAMES, name, "ENAM")?)?;
    // The label text (decompressed, or in the file) lives until the root
    // nodes' labels are copied out.
    with_label_cursor(&sections, name, |labels| {
        let labels = LabelTable::check(labels)?;
        read_with_labels(&sections, name, meta, types, edge_names.len(), &labels)
    })
}

fn read_with_labels(
    sections: &Sections<'_>,
    name: &str,
    meta: Meta,
    types: Vec<String>,
    edge_names: usize,
    labels: &LabelTable<'_>,
) -> Result<Summary, SnapshotError> {
    let mut c = sections.get(NODES, name, "NODE")?;
    let n = Cursor { pos: 0, ..c }.count("node", 6)?;
    let edge_cursor = sections.get(EDGES, name, "EDGE")?;
    // Edges on one core, nodes on the other, as the full reader does.
    let (nodes, edges) = std::thread::scope(|scope| {
        let edges = scope.spawn(|| in_degrees(edge_cursor, n, edge_names));
        (read_node_columns(&mut c, types.len(), labels.count), edges.join())
    });
    let nodes = nodes?;
    let (in_degree, edge_count) = match edges {
        Ok(r) => r?,
        Err(_) => return Err(SnapshotError::Corrupt { file: name.to_string(), offset: 0, what: "EDGE: the decoder stopped".into() }),
    };
    let roots = read_roots(sections.get(ROOTS, name, "ROOT")?, n)?;
    let roots = with_held_from_outside(roots, &nodes, &in_degree);
    drop(in_degree);
    let root_nodes = root_nodes(&nodes, &roots, labels)?;
    let NodeSummary { type_id, size, .. } = nodes;
    Ok(Summary { meta, types, node_count: n, edge_count, type_id, size, roots, root_nodes })
}

/// The node columns a summary keeps, and where the ones it reads again start.
struct NodeSummary<'a> {
    type_id: Vec<u32>,
    size: Vec<u32>,
    refcount: Vec<u32>,
    flags: &'a [u8],
    addrs: Cursor<'a>,
    label_ids: Cursor<'a>,
}

fn read_node_columns<'a>(c: &mut Cursor<'a>, types: usize, labels: usize) -> Result<NodeSummary<'a>, SnapshotError> {
    let n = c.count("node", 6)?;
    let addrs = Cursor { ..*c };
    node_addrs(c, n, |_| {})?;
    let mut type_id = Vec::with_capacity(n);
    node_type_ids(c, n, types, |t| type_id.push(t))?;
    let mut size = Vec::with_capacity(n);
    node_u32s(c, n, "size", |s| size.push(s))?;
    let mut refcount = Vec::with_capacity(n);
    node_u32s(c, n, "reference count", |r| refcount.push(r))?;
    let flags = c.take(n)?;
    let label_ids = Cursor { ..*c };
    node_label_ids(c, n, labels, |_| {})?;
    c.finish()?;
    Ok(NodeSummary { type_id, size, refcount, flags, addrs, label_ids })
}

/// Each node's in-degree and the edge count, from the checked EDGE section.
fn in_degrees(c: Cursor<'_>, n: usize, edge_names: usize) -> Result<(Vec<u32>, usize), SnapshotError> {
    let mut in_degree = vec![0u32; n];
    let start = decode_edges(c, n, edge_names, |t| in_degree[t as usize] += 1, |_| {})?;
    Ok((in_degree, start.last().map_or(0, |&m| m as usize)))
}

/// The stored roots with the held-from-outside ones added and the named
/// ones' surplus recomputed, as `crate::roots::add_held_from_outside` does
/// on a whole heap.
fn with_held_from_outside(mut roots: Vec<Root>, nodes: &NodeSummary<'_>, in_degree: &[u32]) -> Vec<Root> {
    let surplus = |i: usize| {
        let flags = NodeFlags(nodes.flags[i]);
        if !flags.tracked() || flags.immortal() || flags.synthetic() {
            return 0;
        }
        u64::from(nodes.refcount[i]).saturating_sub(u64::from(in_degree[i])).min(u64::from(u32::MAX)) as u32
    };
    roots.sort_by_key(|r| r.node);
    for r in &mut roots {
        if let RootKind::Named { surplus: s, .. } = &mut r.kind {
            *s = surplus(r.node.index());
        }
    }
    let named: Vec<NodeIx> = roots.iter().filter(|r| matches!(r.kind, RootKind::Named { .. })).map(|r| r.node).collect();
    for i in 0..in_degree.len() {
        let s = surplus(i);
        if s > 0 && named.binary_search(&NodeIx::new(i)).is_err() {
            roots.push(Root { node: NodeIx::new(i), kind: RootKind::HeldFromOutside { surplus: s } });
        }
    }
    roots.sort_by_key(|r| r.node);
    roots
}

/// The address and label of each root's node, read again from the address
/// and label columns (checked on the first pass).
fn root_nodes(nodes: &NodeSummary<'_>, roots: &[Root], labels: &LabelTable<'_>) -> Result<Vec<(u64, String)>, SnapshotError> {
    let n = nodes.type_id.len();
    let wanted: Vec<usize> = roots.iter().map(|r| r.node.index()).collect();
    let addrs = at_indices(&wanted, |f| node_addrs(&mut Cursor { ..nodes.addrs }, n, f))?;
    let label_ids = at_indices(&wanted, |f| node_label_ids(&mut Cursor { ..nodes.label_ids }, n, labels.count, f))?;
    let texts = labels.texts(&label_ids)?;
    Ok(addrs.into_iter().zip(texts).collect())
}

/// The values of a column at the indices `wanted` (ascending, repeats
/// allowed), as `read` hands the column's values over in order.
fn at_indices<T: Copy>(
    wanted: &[usize],
    read: impl FnOnce(&mut dyn FnMut(T)) -> Result<(), SnapshotError>,
) -> Result<Vec<T>, SnapshotError> {
    let mut out = Vec::with_capacity(wanted.len());
    let (mut i, mut next) = (0usize, 0usize);
    read(&mut |v| {
        while next < wanted.len() && wanted[next] == i {
            out.push(v);
            next += 1;
        }
        i += 1;
    })?;
    Ok(out)
}

/// The LABL payload, checked as `StrPool::from_parts` checks it, but kept
/// where it is: a summary copies out only the labels of the root nodes.
struct LabelTable<'a> {
    /// At the first offset delta.
    offsets: Cursor<'a>,
    count: usize,
    text: &'a str,
}

impl<'a> LabelTable<'a> {
    fn check(mut c: Cursor<'a>) -> Result<LabelTable<'a>, SnapshotError> {
        let count = c.count("label offset", 1)?;
        let offsets = Cursor { ..c };
        let mut acc = 0u64;
        for _ in 0..count {
            acc += c.varint()?;
            if acc > u64::from(u32::MAX) {
                return Err(c.corrupt("label offsets exceed 4 GiB"));
            }
        }
        let at = c.offset();
        let text = c.str()?;
        c.finish()?;
        let table = LabelTable { offsets, count, text };
        let mut first = true;
        let mut fits = count > 0;
        table.ends(|e| {
            fits &= !(first && e != 0) && (e as usize) <= text.len() && text.is_char_boundary(e as usize);
            first = false;
        })?;
        match fits {
            true => Ok(table),
            false => Err(SnapshotError::Corrupt {
                file: c.file.to_string(),
                offset: at,
                what: "LABL: label offsets do not fit the label text".into(),
            }),
        }
    }

    /// Each label's end offset, in order (offsets are stored as deltas,
    /// so they cannot go down).
    fn ends(&self, mut f: impl FnMut(u32)) -> Result<(), SnapshotError> {
        let mut c = Cursor { ..self.offsets };
        let mut acc = 0u64;
        for _ in 0..self.count {
            acc += c.varint()?;
            f(acc as u32);
        }
        Ok(())
    }

    /// The texts of labels `ids`, in their order (id 0 is "").
    fn texts(&self, ids: &[u32]) -> Result<Vec<String>, SnapshotError> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_unstable_by_key(|&k| ids[k]);
        let mut out = vec![String::new(); ids.len()];
        let (mut prev, mut id, mut next) = (0u32, 0u32, 0usize);
        self.ends(|end| {
            while next < order.len() && ids[order[next]] == id {
                if id > 0 {
                    out[order[next]] = self.text[prev as usize..end as usize].to_string();
                }
                next += 1;
            }
            (prev, id) = (end, id + 1);
        })?;
        Ok(out)
    }
}
