//! Arrow paths. An arrow leaves the bottom of its upper box, passes
//! straight down through each layer it crosses at its bend point's x, and
//! bends between layers with S-shaped cubic curves that are vertical at
//! both ends, so it never cuts through a box it passes. Several arrows on
//! one side of a box get ports spread along that side. A self-loop is a
//! curl on the right of its box, with room kept for it in `place`. An
//! arrow drawn in a lane (see `lanes`) goes from its first bend point out to
//! its lane right of the drawing, straight down, and back in to its last.

use super::{EdgeIn, Kind, Layered, Layout, Pt, Rect, Size, LABEL_GAP, MARGIN};

/// Arrowhead length and half-width.
const ARROW_LEN: f64 = 9.0;
const ARROW_HALF: f64 = 4.0;
/// How much of each piece's height its ends run vertically: small enough
/// that a long sideways run is a slope rather than a flat S, large enough
/// to leave and enter boxes and labels' rows straight.
const BEND: f64 = 0.35;
/// Distance between ports, and the part of a box's side kept free of them.
const PORT_STEP: f64 = 20.0;
const PORT_INSET: f64 = 8.0;
/// How far the first self-loop reaches out of its box, and each next one further.
const LOOP_OUT: f64 = 24.0;
const LOOP_STEP: f64 = 12.0;
/// Space between the drawing and the first lane, and between lanes.
const LANE_GAP: f64 = 16.0;
const LANE_STEP: f64 = 8.0;

/// One arrow's drawing: a chain of cubic curves from `start`, the
/// arrowhead, and where its label's top-left corner goes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Route {
    pub start: Pt,
    /// Cubic Bézier pieces: two control points and an end point each.
    pub curves: Vec<[Pt; 3]>,
    /// The arrowhead: tip, then the two back corners.
    pub head: [Pt; 3],
    pub label: Option<Pt>,
}

impl Route {
    /// Every point the route is made of (for checks).
    #[cfg(test)]
    pub fn points(&self) -> Vec<Pt> {
        let mut all = vec![self.start];
        all.extend(self.curves.iter().flatten());
        all.extend(self.head);
        all.extend(self.label);
        all
    }
}

/// The self-loops of each box: their edge indices and label sizes.
pub(super) struct Loops {
    per_box: Vec<Vec<(usize, Option<Size>)>>,
}

pub(super) fn self_loops(n: usize, edges: &[EdgeIn]) -> Loops {
    let mut per_box = vec![Vec::new(); n];
    for (i, e) in edges.iter().enumerate().filter(|(_, e)| e.from == e.to) {
        per_box[e.from].push((i, e.label));
    }
    Loops { per_box }
}

impl Loops {
    /// How far right of its box box `b`'s loops and their labels reach.
    pub(super) fn reach(&self, b: usize) -> f64 {
        let loops = &self.per_box[b];
        if loops.is_empty() {
            return 0.0;
        }
        let widest = loops.iter().filter_map(|(_, l)| l.map(|s| s.w)).fold(0.0, f64::max);
        let labels = if widest > 0.0 { LABEL_GAP + widest } else { 0.0 };
        outermost(loops.len()) + labels + 2.0
    }
}

fn outermost(count: usize) -> f64 {
    LOOP_OUT + LOOP_STEP * count.saturating_sub(1) as f64
}

/// Puts boxes and arrows at their coordinates.
pub(super) fn finish(g: &Layered, xs: &[f64], rows: &[(f64, f64)], boxes: &[Size], edges: &[EdgeIn], loops: &Loops) -> Layout {
    let rects: Vec<Rect> = boxes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (top, h) = rows[g.nodes[i].layer];
            Rect { x: xs[i] - s.w / 2.0, y: top + (h - s.h) / 2.0, w: s.w, h: s.h }
        })
        .collect();
    let ports = Ports::assign(g, xs, &rects);
    let lanes_at = rightmost(g, xs) + LANE_GAP;
    let mut routes = Vec::with_capacity(edges.len());
    let mut points = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        let route = if e.from == e.to {
            let k = loops.per_box[e.from].iter().position(|&(j, _)| j == i).unwrap_or(0);
            self_loop(&rects[e.from], k, &loops.per_box[e.from])
        } else {
            let lane_x = g.lanes[i].map(|k| lanes_at + LANE_STEP * k as f64);
            arrow(g, i, (xs, rows, &rects), &ports, lane_x, &mut points)
        };
        routes.push(route);
    }
    let (width, height) = extent(g, xs, rows);
    Layout { boxes: rects, edges: routes, width, height }
}

/// Where each arrow meets its boxes: x on the bottom side of the upper box
/// and on the top side of the lower box.
struct Ports {
    out_x: Vec<f64>,
    in_x: Vec<f64>,
}

impl Ports {
    fn assign(g: &Layered, xs: &[f64], rects: &[Rect]) -> Ports {
        let mut out_x = vec![0.0; g.chains.len()];
        let mut in_x = vec![0.0; g.chains.len()];
        // The arrows leaving each box's bottom and entering its top, keyed
        // by where their other end is so they don't cross at the box; one
        // list sorted by box, not a list per box (thousands of them).
        let mut bottom: Vec<(usize, f64, usize)> = Vec::with_capacity(g.chains.len());
        let mut top: Vec<(usize, f64, usize)> = Vec::with_capacity(g.chains.len());
        for e in 0..g.chains.len() {
            let chain = g.chains.of(e);
            if chain.len() >= 2 {
                let n = chain.len();
                bottom.push((chain[0], xs[chain[1]], e));
                top.push((chain[n - 1], xs[chain[n - 2]], e));
            }
        }
        for (side, port_x) in [(&mut bottom, &mut out_x), (&mut top, &mut in_x)] {
            // No two entries are equal (each arrow is in once), so unstable is exact.
            side.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
            for run in side.chunk_by(|a, b| a.0 == b.0) {
                spread(run, &rects[run[0].0], port_x);
            }
        }
        Ports { out_x, in_x }
    }
}

/// Spreads the ports of one side of `rect` evenly about its middle, in the
/// order of the arrows' other ends (`side` is sorted so).
fn spread(side: &[(usize, f64, usize)], rect: &Rect, port_x: &mut [f64]) {
    let room = (rect.w - 2.0 * PORT_INSET).max(0.0);
    let step = if side.len() > 1 { (room / (side.len() - 1) as f64).min(PORT_STEP) } else { 0.0 };
    let first = rect.x + rect.w / 2.0 - step * (side.len().saturating_sub(1)) as f64 / 2.0;
    for (i, &(_, _, e)) in side.iter().enumerate() {
        port_x[e] = first + step * i as f64;
    }
}

/// The route of arrow `e` through its chain of bend points, and through
/// its lane at `lane_x` between them if it has one.
/// `points` is scratch space, reused from arrow to arrow.
fn arrow(g: &Layered, e: usize, placed: Placed<'_>, ports: &Ports, lane_x: Option<f64>, points: &mut Vec<Pt>) -> Route {
    let (xs, rows, rects) = placed;
    let chain = g.chains.of(e);
    let (upper, lower) = (chain[0], chain[chain.len() - 1]);
    points.clear();
    points.push(Pt::new(ports.out_x[e], rects[upper].y + rects[upper].h));
    let mut label = None;
    let mut previous: Option<usize> = None;
    for &bend in &chain[1..chain.len() - 1] {
        let layer = g.nodes[bend].layer;
        if let (Some(x), Some(above)) = (lane_x, previous.filter(|&p| p + 1 < layer)) {
            points.push(Pt::new(x, rows[above + 1].0));
            let (top, h) = rows[layer - 1];
            points.push(Pt::new(x, top + h));
        }
        previous = Some(layer);
        let (top, h) = rows[layer];
        let x = xs[bend];
        points.push(Pt::new(x, top));
        if h > 0.0 {
            points.push(Pt::new(x, top + h));
        }
        if g.nodes[bend].kind == Kind::Label {
            let lh = g.nodes[bend].height;
            label = Some(Pt::new(x + g.nodes[bend].left + LABEL_GAP, top + (h - lh) / 2.0));
        }
    }
    points.push(Pt::new(ports.in_x[e], rects[lower].y));
    if g.reversed[e] {
        points.reverse();
    }
    let (curves, head) = curves_with_head(points);
    Route { start: points[0], curves, head, label }
}

/// Where everything was put: each layered node's x, each layer's top and
/// height, and the boxes.
type Placed<'a> = (&'a [f64], &'a [(f64, f64)], &'a [Rect]);

/// S-curves through `points` (each piece vertical at both ends), the last
/// piece shortened to make room for the arrowhead.
fn curves_with_head(points: &[Pt]) -> (Vec<[Pt; 3]>, [Pt; 3]) {
    let tip = points[points.len() - 1];
    let before = points[points.len() - 2];
    let down = if tip.y >= before.y { 1.0 } else { -1.0 };
    let base = Pt::new(tip.x, tip.y - down * ARROW_LEN);
    let mut curves = Vec::with_capacity(points.len() - 1);
    for (i, pair) in points.windows(2).enumerate() {
        let (a, b) = (pair[0], if i == points.len() - 2 { base } else { pair[1] });
        let bend = (b.y - a.y) * BEND;
        curves.push([Pt::new(a.x, a.y + bend), Pt::new(b.x, b.y - bend), b]);
    }
    let head = [tip, Pt::new(base.x - ARROW_HALF, base.y), Pt::new(base.x + ARROW_HALF, base.y)];
    (curves, head)
}

/// Loop `k` of the `all` loops on `rect`: out of the right side near the
/// top, round, and back in near the bottom. Labels stack beside the
/// outermost loop.
fn self_loop(rect: &Rect, k: usize, all: &[(usize, Option<Size>)]) -> Route {
    let right = rect.x + rect.w;
    let mid = rect.y + rect.h / 2.0;
    let reach = LOOP_OUT + LOOP_STEP * k as f64;
    let rise = (rect.h / 2.0 * (0.45 + 0.2 * k as f64)).min(rect.h / 2.0 - 2.0).max(1.0);
    let start = Pt::new(right, mid - rise);
    let tip = Pt::new(right, mid + rise);
    // Come back in heading left and slightly up, like Graphviz's loops.
    let base = Pt::new(right + ARROW_LEN * 0.95, tip.y + ARROW_LEN * 0.3);
    let curve = [Pt::new(right + reach, start.y - rise), Pt::new(right + reach, tip.y + rise), base];
    let (dx, dy) = (tip.x - base.x, tip.y - base.y);
    let len = dx.hypot(dy);
    let (px, py) = (-dy / len * ARROW_HALF, dx / len * ARROW_HALF);
    let head = [tip, Pt::new(base.x + px, base.y + py), Pt::new(base.x - px, base.y - py)];
    let label = all[k].1.map(|_| {
        let heights: Vec<f64> = all.iter().map(|(_, l)| l.map_or(0.0, |s| s.h)).collect();
        let total: f64 = heights.iter().sum();
        let above: f64 = heights[..k].iter().sum();
        Pt::new(right + outermost(all.len()) + LABEL_GAP, mid - total / 2.0 + above)
    });
    Route { start, curves: vec![curve], head, label }
}

/// How far right the layered nodes reach.
fn rightmost(g: &Layered, xs: &[f64]) -> f64 {
    g.nodes.iter().zip(xs).map(|(n, x)| x + n.right).fold(0.0, f64::max)
}

/// The drawing's width and height: every box, label, loop and lane inside
/// (the layered nodes' reach covers all but the lanes).
fn extent(g: &Layered, xs: &[f64], rows: &[(f64, f64)]) -> (f64, f64) {
    let nodes = rightmost(g, xs);
    let right = match g.lane_count() {
        0 => nodes,
        n => nodes + LANE_GAP + LANE_STEP * (n - 1) as f64,
    };
    let bottom = rows.last().map_or(0.0, |&(top, h)| top + h);
    (right + MARGIN, bottom + MARGIN)
}
