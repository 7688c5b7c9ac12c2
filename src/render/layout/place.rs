//! Coordinates. Each layer keeps the order `order` chose; x positions come
//! from repeated sweeps in which every node wants to sit at the weighted
//! mean of its neighbours in the layer above (then below, then both), and
//! the layer is fitted to those wishes by least squares under "no overlap"
//! constraints, solved exactly by pool-adjacent-violators. y positions are
//! rows as tall as their tallest node.

use super::{Kind, Layered, MARGIN};

/// Space between two boxes side by side, and between arrows.
const BOX_GAP: f64 = 20.0;
const LINE_GAP: f64 = 10.0;
/// Space between layers, and the least height of a label layer so that
/// arrows without labels still have room to bend.
const LAYER_GAP: f64 = 28.0;
const MIN_LABEL_LAYER: f64 = 6.0;
/// Extra gap per pixel of sideways travel, and the most a gap grows to.
const SLOPE: f64 = 0.2;
const MAX_LAYER_GAP: f64 = 120.0;
/// How strongly a node with no neighbours on the side being looked at
/// stays where it is.
const STAY: f64 = 0.05;

/// The x of every node (a box's centre, an arrow's line).
pub(super) fn x_coords(g: &Layered, layers: &[Vec<usize>]) -> Vec<f64> {
    let mut x = vec![0.0; g.nodes.len()];
    // A layer's packing depends only on its order, which is fixed here.
    let offsets: Vec<Vec<f64>> = layers.iter().map(|layer| offsets(g, layer)).collect();
    for (layer, offsets) in layers.iter().zip(&offsets) {
        for (&v, &o) in layer.iter().zip(offsets) {
            x[v] = o;
        }
    }
    let up = Adjacency::of(&g.up);
    let down = Adjacency::of(&g.down);
    let mut scratch = Scratch::default();
    for _ in 0..8 {
        for (layer, o) in layers.iter().zip(&offsets).skip(1) {
            fit(layer, o, &mut x, &[&up], &mut scratch);
        }
        for (layer, o) in layers.iter().zip(&offsets).rev().skip(1) {
            fit(layer, o, &mut x, &[&down], &mut scratch);
        }
    }
    for _ in 0..3 {
        for (layer, o) in layers.iter().zip(&offsets) {
            fit(layer, o, &mut x, &[&up, &down], &mut scratch);
        }
    }
    let leftmost = g.nodes.iter().zip(&x).map(|(n, x)| x - n.left).fold(f64::INFINITY, f64::min);
    if leftmost.is_finite() {
        x.iter_mut().for_each(|v| *v += MARGIN - leftmost);
    }
    x
}

/// One side's steps of every node in one flat array (compressed rows):
/// the sweeps read them hundreds of thousands of times on big graphs.
struct Adjacency {
    start: Vec<u32>,
    steps: Vec<(u32, f64)>,
}

impl Adjacency {
    fn of(adj: &[Vec<(usize, f64)>]) -> Adjacency {
        let mut start = Vec::with_capacity(adj.len() + 1);
        let mut steps = Vec::with_capacity(adj.iter().map(Vec::len).sum());
        start.push(0);
        for list in adj {
            steps.extend(list.iter().map(|&(w, wt)| (w as u32, wt)));
            start.push(steps.len() as u32);
        }
        Adjacency { start, steps }
    }

    fn of_node(&self, v: usize) -> &[(u32, f64)] {
        &self.steps[self.start[v] as usize..self.start[v + 1] as usize]
    }
}

/// The top of every layer, and the height of each. The gap below a layer
/// grows with how far its arrows travel sideways, so that long sideways
/// runs get room to slope instead of running flat.
pub(super) fn layer_tops(g: &Layered, layers: &[Vec<usize>], x: &[f64]) -> Vec<(f64, f64)> {
    let mut y = MARGIN;
    layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let tallest = layer.iter().map(|&v| g.nodes[v].height).fold(0.0, f64::max);
            let h = if l % 2 == 1 { tallest.max(MIN_LABEL_LAYER) } else { tallest };
            let sideways = layer.iter().flat_map(|&v| g.down[v].iter().map(move |&(w, _)| (x[v] - x[w]).abs())).fold(0.0, f64::max);
            let top = y;
            y += h + (sideways * SLOPE).clamp(LAYER_GAP, MAX_LAYER_GAP);
            (top, h)
        })
        .collect()
}

/// The least distance from each node's x to the first node's x, packing
/// the layer as tightly as allowed.
fn offsets(g: &Layered, layer: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(layer.len());
    offsets_into(g, layer, &mut out);
    out
}

fn offsets_into(g: &Layered, layer: &[usize], out: &mut Vec<f64>) {
    out.clear();
    let mut at = 0.0;
    for (i, &v) in layer.iter().enumerate() {
        if i > 0 {
            let u = layer[i - 1];
            at += g.nodes[u].right + gap(g, u, v) + g.nodes[v].left;
        }
        out.push(at);
    }
}

fn gap(g: &Layered, a: usize, b: usize) -> f64 {
    let line = |n: usize| !matches!(g.nodes[n].kind, Kind::Box);
    if line(a) && line(b) {
        LINE_GAP
    } else {
        BOX_GAP
    }
}

/// Buffers `fit` reuses from layer to layer: thousands of small layers
/// would otherwise spend more time allocating than fitting.
#[derive(Default)]
struct Scratch {
    targets: Vec<f64>,
    weights: Vec<f64>,
    blocks: Vec<(f64, f64, usize)>,
}

/// Moves one layer's nodes as close to their neighbours on `sides` as the
/// order and spacing (`offsets`, see [`offsets`]) allow.
fn fit(layer: &[usize], offsets: &[f64], x: &mut [f64], sides: &[&Adjacency], s: &mut Scratch) {
    s.targets.clear();
    s.weights.clear();
    for (&v, o) in layer.iter().zip(offsets) {
        let (want, weight) = wish(v, x, sides).unwrap_or((x[v], STAY));
        // With x = y + offset, "no overlap" becomes "y never decreases".
        s.targets.push(want - o);
        s.weights.push(weight);
    }
    pool(&s.targets, &s.weights, &mut s.blocks);
    let mut i = 0;
    for &(w, sum, n) in &s.blocks {
        let y = sum / w;
        for (&v, o) in layer[i..i + n].iter().zip(&offsets[i..i + n]) {
            x[v] = y + o;
        }
        i += n;
    }
}

/// The weighted mean x of `v`'s neighbours on the chosen side(s).
fn wish(v: usize, x: &[f64], sides: &[&Adjacency]) -> Option<(f64, f64)> {
    let (mut sum, mut weight) = (0.0, 0.0);
    for adj in sides {
        for &(n, wt) in adj.of_node(v) {
            sum += wt * x[n as usize];
            weight += wt;
        }
    }
    (weight > 0.0).then(|| (sum / weight, weight))
}

/// Least-squares fit of a non-decreasing sequence to `targets`
/// (pool adjacent violators).
#[cfg(test)]
fn monotone_fit(targets: &[f64], weights: &[f64]) -> Vec<f64> {
    let mut blocks = Vec::new();
    pool(targets, weights, &mut blocks);
    blocks.iter().flat_map(|&(w, s, n)| std::iter::repeat_n(s / w, n)).collect()
}

/// The pooled blocks of the fit: (total weight, weighted sum, length).
fn pool(targets: &[f64], weights: &[f64], blocks: &mut Vec<(f64, f64, usize)>) {
    blocks.clear();
    for (&t, &w) in targets.iter().zip(weights) {
        blocks.push((w, w * t, 1));
        while blocks.len() >= 2 {
            let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
            if a.1 / a.0 <= b.1 / b.0 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_fit_pools_violators() {
        let fit = monotone_fit(&[1.0, 3.0, 2.0, 4.0], &[1.0; 4]);
        assert_eq!(fit, vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(monotone_fit(&[5.0, 1.0], &[3.0, 1.0]), vec![4.0, 4.0]);
        assert!(monotone_fit(&[], &[]).is_empty());
    }
}
