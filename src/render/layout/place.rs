//! Coordinates. Each layer keeps the order `order` chose; x positions come
//! from repeated sweeps in which every node wants to sit at the weighted
//! mean of its neighbours in the layer above (then below, then both), and
//! the layer is fitted to those wishes by least squares under "no overlap"
//! constraints, solved exactly by pool-adjacent-violators. y positions are
//! rows as tall as their tallest node.

use super::{Adjacency, Kind, Layered, Layers, MARGIN};

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
pub(super) fn x_coords(g: &Layered, layers: &Layers) -> Vec<f64> {
    let mut x = vec![0.0; g.nodes.len()];
    // A layer's packing depends only on its order, which is fixed here.
    let offsets = offsets(g, layers);
    for (&v, &o) in layers.nodes.iter().zip(&offsets) {
        x[v] = o;
    }
    let (up, down) = (&g.up, &g.down);
    let mut blocks = Vec::new();
    let mut fit_layer = |l: usize, x: &mut [f64], sides: &[&Adjacency]| {
        fit(layers.get(l), &offsets[layers.range(l)], x, sides, &mut blocks);
    };
    let count = layers.len();
    for _ in 0..8 {
        for l in 1..count {
            fit_layer(l, &mut x, &[up]);
        }
        for l in (0..count.saturating_sub(1)).rev() {
            fit_layer(l, &mut x, &[down]);
        }
    }
    for _ in 0..3 {
        for l in 0..count {
            fit_layer(l, &mut x, &[up, down]);
        }
    }
    let leftmost = g.nodes.iter().zip(&x).map(|(n, x)| x - n.left).fold(f64::INFINITY, f64::min);
    if leftmost.is_finite() {
        x.iter_mut().for_each(|v| *v += MARGIN - leftmost);
    }
    x
}

/// The top of every layer, and the height of each. The gap below a layer
/// grows with how far its arrows travel sideways, so that long sideways
/// runs get room to slope instead of running flat.
pub(super) fn layer_tops(g: &Layered, layers: &Layers, x: &[f64]) -> Vec<(f64, f64)> {
    let mut y = MARGIN;
    layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let tallest = layer.iter().map(|&v| g.nodes[v].height).fold(0.0, f64::max);
            let h = if l % 2 == 1 { tallest.max(MIN_LABEL_LAYER) } else { tallest };
            let sideways = layer.iter().flat_map(|&v| g.down.of(v).map(move |(w, _)| (x[v] - x[w]).abs())).fold(0.0, f64::max);
            let top = y;
            y += h + (sideways * SLOPE).clamp(LAYER_GAP, MAX_LAYER_GAP);
            (top, h)
        })
        .collect()
}

/// The least distance from each node's x to the first node's x of its
/// layer, packing every layer as tightly as allowed (in `layers.nodes` order).
fn offsets(g: &Layered, layers: &Layers) -> Vec<f64> {
    let mut out = Vec::with_capacity(layers.nodes.len());
    for layer in layers.iter() {
        let mut at = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                let u = layer[i - 1];
                at += g.nodes[u].right + gap(g, u, v) + g.nodes[v].left;
            }
            out.push(at);
        }
    }
    out
}

fn gap(g: &Layered, a: usize, b: usize) -> f64 {
    let line = |n: usize| !matches!(g.nodes[n].kind, Kind::Box);
    if line(a) && line(b) {
        LINE_GAP
    } else {
        BOX_GAP
    }
}

/// Moves one layer's nodes as close to their neighbours on `sides` as the
/// order and spacing (`offsets`, see [`offsets`]) allow. `blocks` is reused
/// from layer to layer: thousands of small layers would otherwise spend
/// more time allocating than fitting.
fn fit(layer: &[usize], offsets: &[f64], x: &mut [f64], sides: &[&Adjacency], blocks: &mut Vec<Block>) {
    if let [v] = layer {
        // Alone in its layer (most layers of a long chain): it goes where it
        // wants. The passes run layer after layer, each reading the one
        // before, so this is the path whose length sets their time.
        if let Some((want, _)) = wish(*v, x, sides) {
            x[*v] = want;
        }
        return;
    }
    blocks.clear();
    for (&v, o) in layer.iter().zip(offsets) {
        let (want, weight) = wish(v, x, sides).unwrap_or((x[v], STAY));
        // With x = y + offset, "no overlap" becomes "y never decreases".
        pool(blocks, want - o, weight);
    }
    let mut i = 0;
    for block in blocks.iter() {
        let (y, n) = (block.mean, block.len);
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
        for (n, wt) in adj.of(v) {
            sum += wt * x[n];
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
    for (&t, &w) in targets.iter().zip(weights) {
        pool(&mut blocks, t, w);
    }
    blocks.iter().flat_map(|b| std::iter::repeat_n(b.mean, b.len)).collect()
}

/// A run of nodes the fit puts at one y: their total weight, weighted
/// sum, that mean (kept, not worked out again: the divisions were most of
/// the fitting time on wide layers), and how many they are.
#[derive(Clone, Copy)]
struct Block {
    weight: f64,
    sum: f64,
    mean: f64,
    len: usize,
}

/// Adds the next target `t` of weight `w` to the fit so far, pooling it
/// with the blocks before it that it would otherwise sit left of.
fn pool(blocks: &mut Vec<Block>, t: f64, w: f64) {
    // A block of one sits at its own target: `t`, not `w * t / w`, which
    // is the same number but one division longer on the passes' path.
    let mut last = Block { weight: w, sum: w * t, mean: t, len: 1 };
    while let Some(before) = blocks.last() {
        if before.mean <= last.mean {
            break;
        }
        let (weight, sum) = (before.weight + last.weight, before.sum + last.sum);
        last = Block { weight, sum, mean: sum / weight, len: before.len + last.len };
        blocks.pop();
    }
    blocks.push(last);
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
