//! Ranks: which row each box goes in. Heaps are full of cycles, so first
//! a depth-first search from the boxes nothing points at (the roots of a
//! backrefs drawing) picks the arrows to draw against the flow; then every
//! box goes one rank below its lowest referrer (longest path), and boxes
//! are pulled towards their neighbours to shorten arrows, the cheap half of
//! Graphviz's network simplex. Self-loops never reach this file.

use std::collections::VecDeque;

/// For each link `(from, to)`, whether it closes a cycle and must point up.
pub(super) fn reversed(n: usize, links: &[(usize, usize)]) -> Vec<bool> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut has_referrer = vec![false; n];
    for (i, &(a, b)) in links.iter().enumerate() {
        out[a].push(i);
        has_referrer[b] = true;
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    let mut flip = vec![false; links.len()];
    // Start where nothing points in, so the natural direction wins; then
    // whatever is left (pure cycles) in input order.
    let starts = (0..n).filter(|&v| !has_referrer[v]).chain(0..n);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for s in starts {
        if mark[s] != Mark::New {
            continue;
        }
        mark[s] = Mark::OnStack;
        stack.push((s, 0));
        while let Some(top) = stack.last_mut() {
            let (v, next) = *top;
            let Some(&link) = out[v].get(next) else {
                mark[v] = Mark::Done;
                stack.pop();
                continue;
            };
            top.1 += 1;
            let w = links[link].1;
            match mark[w] {
                Mark::New => {
                    mark[w] = Mark::OnStack;
                    stack.push((w, 0));
                }
                Mark::OnStack => flip[link] = true,
                Mark::Done => {}
            }
        }
    }
    flip
}

/// The rank of every box, given acyclic links pointing downwards.
pub(super) fn ranks(n: usize, links: &[(usize, usize)]) -> Vec<usize> {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in links {
        succs[a].push(b);
        preds[b].push(a);
    }
    let topo = topological(&preds, &succs);
    let mut rank = vec![0usize; n];
    for &v in &topo {
        rank[v] = preds[v].iter().map(|&p| rank[p] + 1).max().unwrap_or(0);
    }
    balance(&topo, &preds, &succs, &mut rank);
    let lowest = rank.iter().copied().min().unwrap_or(0);
    rank.iter_mut().for_each(|r| *r -= lowest);
    rank
}

/// Kahn's algorithm, in input order among equals.
fn topological(preds: &[Vec<usize>], succs: &[Vec<usize>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut queue: VecDeque<usize> = (0..preds.len()).filter(|&v| waiting[v] == 0).collect();
    let mut order = Vec::with_capacity(preds.len());
    while let Some(v) = queue.pop_front() {
        order.push(v);
        for &s in &succs[v] {
            waiting[s] -= 1;
            if waiting[s] == 0 {
                queue.push_back(s);
            }
        }
    }
    order
}

/// Moves each box with more arrows on one side than the other as close to
/// that side as its neighbours allow. Every move shortens the arrows in
/// total, so this ends; the cap is only a guard.
fn balance(topo: &[usize], preds: &[Vec<usize>], succs: &[Vec<usize>], rank: &mut [usize]) {
    for _ in 0..64 {
        let mut moved = false;
        for &v in topo {
            let (ins, outs) = (preds[v].len(), succs[v].len());
            let target = if ins > outs {
                preds[v].iter().map(|&p| rank[p] + 1).max()
            } else if outs > ins {
                succs[v].iter().map(|&s| rank[s]).min().map(|r| r.saturating_sub(1))
            } else {
                None
            };
            if let Some(t) = target.filter(|&t| t != rank[v]) {
                rank[v] = t;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_gets_one_arrow_reversed() {
        let links = [(0, 1), (1, 2), (2, 0)];
        assert_eq!(reversed(3, &links), vec![false, false, true]);
    }

    #[test]
    fn roots_start_the_search() {
        // 2 is the only box nothing points at; the cycle 0 <-> 1 is entered from it.
        let links = [(0, 1), (1, 0), (2, 0)];
        assert_eq!(reversed(3, &links), vec![false, true, false]);
    }

    #[test]
    fn a_lone_referrer_sits_just_above_its_referent() {
        // 0 -> 1 -> 2 and 3 -> 2: 3 belongs on rank 1, not up with 0.
        let r = ranks(4, &[(0, 1), (1, 2), (3, 2)]);
        assert_eq!(r, vec![0, 1, 2, 1]);
    }
}
