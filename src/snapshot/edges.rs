//! The EDGE section encoded row by row as a capture resolves its edges:
//! out-degrees, targets and labels each in their own [`Stream`] (in memory or
//! spilled to a file), joined behind the edge count when the section is
//! written.

use std::sync::Arc;

use super::format::zigzag;
use super::spill::{Spill, Stream};
use crate::graph::EdgeLabel;

/// A capture's edges, encoded as they are resolved, node by node.
#[derive(Default)]
pub struct EdgeEncoder {
    /// Rows closed so far (nodes whose out-degree is written).
    rows: usize,
    /// The open row's node, its edges so far and its last target.
    open: Option<(usize, u32, i64)>,
    edges: u64,
    pub(super) degrees: Stream,
    pub(super) targets: Stream,
    pub(super) labels: Stream,
}

impl EdgeEncoder {
    /// Edges kept in memory.
    pub fn new() -> EdgeEncoder {
        EdgeEncoder::default()
    }

    /// Edges written to `spill` a chunk at a time.
    pub fn spilled(spill: &Arc<Spill>) -> EdgeEncoder {
        EdgeEncoder {
            degrees: Stream::spilled(spill),
            targets: Stream::spilled(spill),
            labels: Stream::spilled(spill),
            ..EdgeEncoder::default()
        }
    }

    /// Edges so far.
    pub fn len(&self) -> u64 {
        self.edges
    }

    pub fn is_empty(&self) -> bool {
        self.edges == 0
    }

    /// Rows, once finished: the node count.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Starts the row of node `from`; the nodes between the last row and it
    /// have no edges. False (and nothing done) if `from` is not past the
    /// last row: rows come in node order.
    pub fn start_row(&mut self, from: usize) -> bool {
        if from < self.rows || self.open.is_some_and(|(open, ..)| from <= open) {
            return false;
        }
        self.close_to(from);
        self.open = Some((from, 0, from as i64));
        true
    }

    /// Adds an edge to the open row (the first edges of a file without an
    /// open row go to node 0's).
    #[inline]
    pub fn push(&mut self, target: u32, label: EdgeLabel) {
        let (_, degree, prev) = self.open.get_or_insert((self.rows, 0, self.rows as i64));
        // Targets as the step from the previous target of the same node
        // (the first from the node itself): referents cluster.
        self.targets.put_varint(zigzag(i64::from(target) - *prev));
        *prev = i64::from(target);
        *degree += 1;
        self.labels.put_varint(u64::from(label.to_bits().rotate_left(3)));
        self.edges += 1;
        self.targets.flush_if_full();
        self.labels.flush_if_full();
    }

    /// Closes the open row and gives the nodes before `end` no edges.
    fn close_to(&mut self, end: usize) {
        if let Some((node, degree, _)) = self.open.take() {
            self.degrees.put_varint(u64::from(degree));
            self.rows = node + 1;
        }
        while self.rows < end {
            self.degrees.put_varint(0);
            self.rows += 1;
            self.degrees.flush_if_full();
        }
        self.degrees.flush_if_full();
    }

    /// Closes the rows up to `nodes` and writes what remains to the spill
    /// file; the first write error, if any.
    pub fn finish(&mut self, nodes: usize) -> std::io::Result<()> {
        self.close_to(nodes);
        for s in [&mut self.degrees, &mut self.targets, &mut self.labels] {
            s.finish()?;
        }
        Ok(())
    }
}
