//! The order of nodes within each layer: a depth-first first guess, then
//! barycentre sweeps down and up (each node goes to the mean position of
//! its neighbours in the layer just fixed), keeping the best order seen by
//! an exact crossing count. The two bend points of an arrow drawn in a
//! lane keep to the right end of their layers, in lane order, so that the
//! arrow leaves towards its lane without crossing the layer's other lines.

use super::Layered;

/// Sweeps to try; graphs of a few hundred boxes settle well before.
const SWEEPS: usize = 24;
/// Sweeps without improvement before giving up.
const PATIENCE: usize = 4;

/// Every layer's nodes, left to right.
pub(super) fn order(g: &Layered) -> Vec<Vec<usize>> {
    let mut layers = first_guess(g);
    let mut pos = positions(g, &layers);
    let mut best = layers.clone();
    let mut scratch = Scratch::default();
    let mut best_crossings = scratch.crossings(g, &layers, &pos);
    let mut stale = 0;
    for sweep in 0..SWEEPS {
        if best_crossings == 0 || stale >= PATIENCE {
            break;
        }
        if sweep % 2 == 0 {
            for layer in layers.iter_mut().skip(1) {
                scratch.sort_layer(g, layer, &g.up, &mut pos);
            }
        } else {
            for layer in layers.iter_mut().rev().skip(1) {
                scratch.sort_layer(g, layer, &g.down, &mut pos);
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
    }
    best
}

/// Depth-first from the top, so what hangs together starts together.
fn first_guess(g: &Layered) -> Vec<Vec<usize>> {
    let mut layers = vec![Vec::new(); g.layer_count];
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
            layers[g.nodes[v].layer].push(v);
            // Reversed so the first neighbour is visited first.
            for &(w, _) in g.down[v].iter().rev() {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
    }
    for layer in &mut layers {
        // Stable: the others keep the depth-first order.
        layer.sort_by_key(|&v| g.nodes[v].lane.map_or((0, 0), |k| (1, k)));
    }
    layers
}

fn positions(g: &Layered, layers: &[Vec<usize>]) -> Vec<usize> {
    let mut pos = vec![0; g.nodes.len()];
    for layer in layers {
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
    ends: Vec<(usize, usize)>,
    tree: Vec<usize>,
}

impl Scratch {
    /// Reorders one layer by the mean position of each node's neighbours in
    /// `adj` (the layer above or below); a node without any keeps its place.
    fn sort_layer(&mut self, g: &Layered, layer: &mut [usize], adj: &[Vec<(usize, f64)>], pos: &mut [usize]) {
        let key = |v: usize| -> f64 {
            let n = &adj[v];
            if let Some(lane) = g.nodes[v].lane {
                // Past every position any neighbour can have.
                (g.nodes.len() + lane) as f64
            } else if n.is_empty() {
                pos[v] as f64
            } else {
                n.iter().map(|&(w, _)| pos[w] as f64).sum::<f64>() / n.len() as f64
            }
        };
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
    fn crossings(&mut self, g: &Layered, layers: &[Vec<usize>], pos: &[usize]) -> usize {
        layers.windows(2).map(|pair| self.crossings_between(g, &pair[0], pair[1].len(), pos)).sum()
    }

    /// Crossings of the steps from `upper` to the next layer (of `width`
    /// nodes): steps sorted by upper end, then inversions among lower ends,
    /// counted with a Fenwick tree (Barth, Jünger and Mutzel).
    fn crossings_between(&mut self, g: &Layered, upper: &[usize], width: usize, pos: &[usize]) -> usize {
        self.ends.clear();
        self.ends.extend(upper.iter().flat_map(|&v| g.down[v].iter().map(move |&(w, _)| (pos[v], pos[w]))));
        if self.ends.len() < 2 {
            return 0;
        }
        self.ends.sort_unstable();
        let tree = &mut self.tree;
        tree.clear();
        tree.resize(width + 1, 0);
        let mut total = 0;
        for (inserted, &(_, p)) in self.ends.iter().enumerate() {
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
    use super::super::{Kind, LNode};
    use super::*;

    /// Two boxes over two boxes, joined crosswise: one crossing, which
    /// the sweeps remove.
    fn crossed() -> Layered {
        let node = |layer| LNode { kind: Kind::Box, layer, lane: None, left: 1.0, right: 1.0, height: 1.0 };
        let mut g = Layered {
            nodes: vec![node(0), node(0), node(2), node(2), node(1), node(1)],
            up: vec![Vec::new(); 6],
            down: vec![Vec::new(); 6],
            layer_count: 3,
            chains: Vec::new(),
            reversed: Vec::new(),
            lanes: Vec::new(),
        };
        for (a, b) in [(0, 5), (5, 3), (1, 4), (4, 2)] {
            g.down[a].push((b, 1.0));
            g.up[b].push((a, 1.0));
        }
        g
    }

    #[test]
    fn crossings_are_counted_and_removed() {
        let g = crossed();
        let layers = vec![vec![0, 1], vec![4, 5], vec![2, 3]];
        let pos = positions(&g, &layers);
        let mut s = Scratch::default();
        assert_eq!(s.crossings(&g, &layers, &pos), 1);
        let best = order(&g);
        assert_eq!(s.crossings(&g, &best, &positions(&g, &best)), 0);
    }
}
