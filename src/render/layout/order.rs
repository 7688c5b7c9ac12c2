//! The order of nodes within each layer: a depth-first first guess, then
//! barycentre sweeps down and up (each node goes to the mean position of
//! its neighbours in the layer just fixed), keeping the best order seen by
//! an exact crossing count. The two bend points of an arrow drawn in a
//! lane keep to the right end of their layers, in lane order, so that the
//! arrow leaves towards its lane without crossing the layer's other lines.

use super::{Adjacency, Layered, Layers};

/// Sweeps to try; graphs of a few hundred boxes settle well before.
const SWEEPS: usize = 24;
/// Sweeps without improvement before giving up.
const PATIENCE: usize = 4;

/// Every layer's nodes, left to right.
pub(super) fn order(g: &Layered) -> Layers {
    let mut layers = first_guess(g);
    let mut pos = positions(g, &layers);
    let mut best = layers.clone();
    let mut scratch = Scratch::default();
    let mut best_crossings = scratch.crossings(g, &layers, &pos);
    let mut stale = 0;
    // The positions after the last two sweeps: a sweep's result depends
    // only on the positions before it, so once a sweep ends where the one
    // two before it ended, the sweeps only repeat those two orders, both
    // already counted, and nothing better can come.
    let mut earlier = [Vec::new(), Vec::new()];
    for sweep in 0..SWEEPS {
        if best_crossings == 0 || stale >= PATIENCE {
            break;
        }
        if sweep % 2 == 0 {
            for l in 1..layers.len() {
                scratch.sort_layer(g, layers.get_mut(l), &g.up, &mut pos);
            }
        } else {
            for l in (0..layers.len().saturating_sub(1)).rev() {
                scratch.sort_layer(g, layers.get_mut(l), &g.down, &mut pos);
            }
        }
        let c = scratch.crossings(g, &layers, &pos);
        if c < best_crossings {
            best_crossings = c;
            best.clone_from(&layers);
            stale = 0;
        } else {
            stale += 1;
        }
        let two_before = &mut earlier[sweep % 2];
        if *two_before == pos {
            break;
        }
        two_before.clone_from(&pos);
    }
    best
}

/// Depth-first from the top, so what hangs together starts together.
fn first_guess(g: &Layered) -> Layers {
    let mut start = vec![0; g.layer_count + 1];
    for n in &g.nodes {
        start[n.layer + 1] += 1;
    }
    for l in 0..g.layer_count {
        start[l + 1] += start[l];
    }
    let mut next = start.clone();
    let mut nodes = vec![0; g.nodes.len()];
    let mut seen = vec![false; g.nodes.len()];
    let mut starts: Vec<usize> = (0..g.nodes.len()).collect();
    starts.sort_by_key(|&v| g.nodes[v].layer);
    let mut stack = Vec::new();
    for s in starts {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        stack.push(s);
        while let Some(v) = stack.pop() {
            let at = &mut next[g.nodes[v].layer];
            nodes[*at] = v;
            *at += 1;
            // Reversed so the first neighbour is visited first.
            for (w, _) in g.down.of(v).rev() {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
    }
    let mut layers = Layers { start, nodes };
    if g.lanes.iter().any(Option::is_some) {
        for l in 0..layers.len() {
            // Stable: the others keep the depth-first order.
            layers.get_mut(l).sort_by_key(|&v| g.nodes[v].lane.map_or((0, 0), |k| (1, k)));
        }
    }
    layers
}

fn positions(g: &Layered, layers: &Layers) -> Vec<usize> {
    let mut pos = vec![0; g.nodes.len()];
    for layer in layers.iter() {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Buffers the sweeps reuse from layer to layer: a long chain makes
/// thousands of small layers, each sorted and counted every sweep.
#[derive(Default)]
struct Scratch {
    keyed: Vec<(f64, usize)>,
    ends: Vec<usize>,
    tree: Vec<usize>,
}

impl Scratch {
    /// Reorders one layer by the mean position of each node's neighbours in
    /// `adj` (the layer above or below); a node without any keeps its place.
    fn sort_layer(&mut self, g: &Layered, layer: &mut [usize], adj: &Adjacency, pos: &mut [usize]) {
        let key = |v: usize| -> f64 {
            let n = adj.of(v);
            if let Some(lane) = g.nodes[v].lane {
                // Past every position any neighbour can have.
                (g.nodes.len() + lane) as f64
            } else if n.len() == 0 {
                pos[v] as f64
            } else {
                let count = n.len() as f64;
                n.map(|(w, _)| pos[w] as f64).sum::<f64>() / count
            }
        };
        match layer.len() {
            // Most layers of a long chain hold one or two nodes.
            0 | 1 => return,
            2 => {
                if key(layer[1]).total_cmp(&key(layer[0])).is_lt() {
                    layer.swap(0, 1);
                    pos[layer[0]] = 0;
                    pos[layer[1]] = 1;
                }
                return;
            }
            _ => {}
        }
        self.keyed.clear();
        self.keyed.extend(layer.iter().map(|&v| (key(v), v)));
        // Stable: equal keys keep their current order, which keeps sweeps calm.
        self.keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (i, &(_, v)) in self.keyed.iter().enumerate() {
            layer[i] = v;
            pos[v] = i;
        }
    }

    /// Total crossings between consecutive layers.
    fn crossings(&mut self, g: &Layered, layers: &Layers, pos: &[usize]) -> usize {
        (1..layers.len()).map(|l| self.crossings_between(g, layers.get(l - 1), layers.get(l).len(), pos)).sum()
    }

    /// Crossings of the steps from `upper` to the next layer (of `width`
    /// nodes): the lower ends of the steps in order of their upper ends,
    /// then the inversions among them, counted with a Fenwick tree (Barth,
    /// Jünger and Mutzel). `upper` is in position order already, so only
    /// each node's own few steps need sorting, not the whole layer's.
    fn crossings_between(&mut self, g: &Layered, upper: &[usize], width: usize, pos: &[usize]) -> usize {
        // Steps that share an end never cross.
        if upper.len() < 2 || width < 2 {
            return 0;
        }
        self.ends.clear();
        for &v in upper {
            let from = self.ends.len();
            self.ends.extend(g.down.of(v).map(|(w, _)| pos[w]));
            if self.ends.len() - from > 1 {
                self.ends[from..].sort_unstable();
            }
        }
        if self.ends.len() < 2 {
            return 0;
        }
        let tree = &mut self.tree;
        tree.clear();
        tree.resize(width + 1, 0);
        let mut total = 0;
        for (inserted, &p) in self.ends.iter().enumerate() {
            // Steps already in the tree whose lower end lies right of p cross this one.
            let mut at_or_left = 0;
            let mut i = p + 1;
            while i > 0 {
                at_or_left += tree[i];
                i -= i & i.wrapping_neg();
            }
            total += inserted - at_or_left;
            let mut i = p + 1;
            while i <= width {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Builder, Chains, Kind, LNode};
    use super::*;

    /// Two boxes over two boxes, joined crosswise: one crossing, which
    /// the sweeps remove.
    fn crossed() -> Layered {
        let node = |layer| LNode { kind: Kind::Box, layer, lane: None, left: 1.0, right: 1.0, height: 1.0 };
        let mut g = Builder {
            nodes: vec![node(0), node(0), node(2), node(2), node(1), node(1)],
            steps: Vec::new(),
            chains: Chains::with_capacity(0, 0),
        };
        for (a, b) in [(0, 5), (5, 3), (1, 4), (4, 2)] {
            g.step(a, b);
        }
        g.finish(3, Vec::new(), Vec::new())
    }

    #[test]
    fn crossings_are_counted_and_removed() {
        let g = crossed();
        let layers = Layers { start: vec![0, 2, 4, 6], nodes: vec![0, 1, 4, 5, 2, 3] };
        let pos = positions(&g, &layers);
        let mut s = Scratch::default();
        assert_eq!(s.crossings(&g, &layers, &pos), 1);
        let best = order(&g);
        assert_eq!(s.crossings(&g, &best, &positions(&g, &best)), 0);
    }
}
