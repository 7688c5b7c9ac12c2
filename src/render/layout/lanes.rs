//! Long arrows past a budget. An arrow crossing `k` layers is normally cut
//! into `k` bend points, one per layer, so that it never cuts through a box;
//! a box holding every box of a long chain (a list of a linked list's
//! nodes) then makes a number of bend points quadratic in the chain's
//! length, and every later step with them. So the bend points are budgeted:
//! arrows take their full chains shortest first, while the total stays under
//! a budget linear in the graph's size; each arrow left over keeps two bend
//! points (one below its upper box, carrying its label, one above its lower
//! box), sits at the right end of those two layers, and runs between them
//! in a vertical lane of its own right of the whole drawing.

/// Bend points every graph may use, however small: graphs of a few hundred
/// boxes keep every arrow's full chain and look as they always did.
const BASE_BUDGET: usize = 2_000;
/// Bend points allowed per box on top of that. One: past the base, every
/// bend point is a node that each ordering and placement sweep visits, and
/// a graph that big is read for its shape, which lanes keep as well.
const PER_BOX: usize = 1;
/// Arrows crossing at most this many layers always keep their full chain
/// (no more bend points than a lane's two, give or take one).
const SHORT: usize = 4;

/// Which arrows run in lanes. `spans` holds each arrow's upper and lower
/// layer; the answer is each arrow's lane, numbered left to right, or
/// `None` for a full chain. Lanes are ordered by where they end, then by
/// where they start (later first), so that a fan-out's lanes don't cross
/// each other where they leave and enter their layers.
pub(super) fn plan(spans: &[(usize, usize)], boxes: usize) -> Vec<Option<usize>> {
    let bends = |&(top, bottom): &(usize, usize)| bottom.saturating_sub(top + 1);
    let budget = BASE_BUDGET + PER_BOX * boxes;
    let mut lane = vec![None; spans.len()];
    if spans.iter().map(bends).sum::<usize>() <= budget {
        return lane;
    }
    let mut by_length: Vec<usize> = (0..spans.len()).collect();
    by_length.sort_by_key(|&e| bends(&spans[e]));
    let mut used = 0;
    let mut long = Vec::new();
    for e in by_length {
        let b = bends(&spans[e]);
        if b <= SHORT || used + b <= budget {
            used += b;
        } else {
            long.push(e);
        }
    }
    long.sort_by_key(|&e| (spans[e].1, std::cmp::Reverse(spans[e].0), e));
    for (k, e) in long.into_iter().enumerate() {
        lane[e] = Some(k);
    }
    lane
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_graphs_keep_every_chain() {
        // A list over a chain of 40, as in a deep show_backrefs: 1,600 bend points.
        let spans: Vec<(usize, usize)> = (1..=40).map(|s| (0, 2 * s)).collect();
        assert!(plan(&spans, 41).iter().all(Option::is_none));
    }

    #[test]
    fn a_quadratic_fan_out_is_cut_to_the_budget() {
        // One box above a chain of 3000, holding every box of it.
        let spans: Vec<(usize, usize)> = (1..=3000).map(|s| (0, 2 * s)).collect();
        let lanes = plan(&spans, 3001);
        let bends: usize = spans.iter().zip(&lanes).map(|(&(t, b), l)| if l.is_some() { 2 } else { b - t - 1 }).sum();
        assert!(bends <= BASE_BUDGET + PER_BOX * 3001 + 2 * 3000, "{bends} bend points");
        // The shortest keep their chains; the lanes are numbered by where they end.
        assert!(lanes[0].is_none() && lanes[2999] == Some(lanes.iter().flatten().count() - 1));
        let numbered: Vec<usize> = lanes.iter().flatten().copied().collect();
        assert!(numbered.windows(2).all(|p| p[0] < p[1]));
    }
}
