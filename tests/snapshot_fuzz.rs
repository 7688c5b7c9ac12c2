//! Mutation fuzzing of snapshot files: a real snapshot, damaged thousands of
//! ways by a fixed-seed generator (bit flips, byte runs, truncations,
//! insertions, deletions, section swaps and duplicates). Every damaged file
//! must be refused with an error naming the file, or, where the damage left
//! the content as it was (two sections swapped), read back equal; never a
//! panic, never damage read as data.
//!
//! A second family re-seals a mutated section with a valid checksum, so that
//! the structural checks behind the checksum are fuzzed too: those files
//! are well-formed on the outside, so they may read as another heap, but
//! must never panic.
//!
//! `REFGRAPH_FUZZ_ITERATIONS` (default 4000 per family) and
//! `REFGRAPH_FUZZ_SEED` make a long run by hand; the counts print with
//! `--nocapture`.

use refgraph::graph::{EdgeKind, EdgeLabel, Heap, HeapBuilder, Meta, NodeData, NodeFlags, NodeIx, Root, RootKind};
use refgraph::roots::add_held_from_outside;
use refgraph::snapshot::{read_snapshot_bytes, read_summary_bytes, write_snapshot_to};

/// splitmix64: small, fixed-seed, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A heap with every kind of node flag, edge label and root: 400 objects in
/// pymalloc-like address runs, modules, dicts, functions, frames.
fn heap() -> Heap {
    let mut rng = Rng(7);
    let mut b = HeapBuilder::new();
    let types = ["dict", "function", "tuple", "list", "str", "module", "logging.Logger", "cell"];
    let mut addr = 0x7f10_0000_0000u64;
    let n = 400;
    for i in 0..n {
        addr += 16 * (1 + rng.next() % 8);
        let flags = match i % 11 {
            0 => NodeFlags::TRACKED | NodeFlags::IMMORTAL,
            1 => NodeFlags::SYNTHETIC,
            2 | 3 => 0,
            _ => NodeFlags::TRACKED,
        };
        b.add_node(&NodeData {
            addr,
            type_name: types[i % types.len()].into(),
            size: rng.next() % 5000,
            refcount: if flags & NodeFlags::IMMORTAL != 0 { u64::from(u32::MAX) } else { rng.next() % 6 },
            flags: NodeFlags(flags),
            label: if i % 3 == 0 { format!("name_{i} ✓") } else { String::new() },
        });
    }
    let names: Vec<EdgeLabel> = ["__dict__", "__globals__", "f_locals['x']"].iter().map(|s| b.edge_name(s)).collect();
    for i in 0..n {
        let k = rng.below(6);
        let edges: Vec<_> = (0..k)
            .map(|j| {
                let to = NodeIx::new(rng.below(n));
                let label = match j % 5 {
                    0 => EdgeLabel::new(EdgeKind::Index(j as u32)),
                    1 => EdgeLabel::new(EdgeKind::DictKey),
                    2 => EdgeLabel::new(EdgeKind::DictValue(NodeIx::new(rng.below(n)))),
                    3 => EdgeLabel::new(EdgeKind::Attr(NodeIx::new(rng.below(n)))),
                    _ => names[rng.below(names.len())],
                };
                (to, label)
            })
            .collect();
        b.push_edges(NodeIx::new(i), edges).unwrap();
    }
    b.add_root(Root { node: NodeIx::new(5), kind: RootKind::Module { name: "logging".into() } });
    b.add_root(Root { node: NodeIx::new(1), kind: RootKind::Frame { thread: 0x7f12_3456_7000, depth: 2, function: "main".into() } });
    b.add_root(Root { node: NodeIx::new(9), kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
    b.set_meta(Meta { collector: "fuzz".into(), python: (3, 11), notes: vec!["a note".into()], ..Default::default() });
    let mut h = b.finish().unwrap();
    add_held_from_outside(&mut h);
    h
}

fn bytes_of(h: &Heap) -> Vec<u8> {
    let mut out = Vec::new();
    write_snapshot_to(h, &mut out).unwrap();
    out
}

/// Everything a snapshot holds, in a form to compare.
fn contents(h: &Heap) -> String {
    let mut s = format!("{:?}\n{:?}\n", h.meta, h.roots());
    for n in h.nodes() {
        s += &format!("{} {} {} {} {:?} {:?}:", n.addr(), n.type_name(), n.size(), n.refcount(), n.flags(), n.label());
        for e in h.out_edges(n.ix) {
            s += &format!(" {}{}", e.to.index(), h.edge_label_text(e.label));
        }
        s.push('\n');
    }
    s
}

/// Sections as `(header start, end)`.
fn sections_of(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 12;
    while at + 16 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        out.push((at, at + 16 + len));
        at += 16 + len;
    }
    out
}

/// One random kind of damage to a whole file.
fn mutate(rng: &mut Rng, file: &[u8], sections: &[(usize, usize)]) -> (Vec<u8>, &'static str) {
    let mut b = file.to_vec();
    let len = b.len();
    let kind = match rng.below(8) {
        0 => {
            let i = rng.below(len);
            b[i] ^= 1 << rng.below(8);
            "bit flip"
        }
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                b[i] = rng.next() as u8;
            }
            "random bytes"
        }
        2 => {
            b.truncate(rng.below(len));
            "truncation"
        }
        3 => {
            let at = rng.below(len + 1);
            let extra: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            b.splice(at..at, extra);
            "insertion"
        }
        4 => {
            let at = rng.below(len);
            let n = 1 + rng.below(16.min(len - at));
            b.drain(at..at + n);
            "deletion"
        }
        5 => {
            // Two whole sections (not the end marker) trade places: the same content.
            let body = &sections[..sections.len() - 1];
            let (i, j) = (rng.below(body.len()), rng.below(body.len()));
            let (i, j) = (i.min(j), i.max(j));
            if i == j {
                return mutate(rng, file, sections);
            }
            let (a, c) = (body[i], body[j]);
            let mut out = file[..a.0].to_vec();
            out.extend_from_slice(&file[c.0..c.1]);
            out.extend_from_slice(&file[a.1..c.0]);
            out.extend_from_slice(&file[a.0..a.1]);
            out.extend_from_slice(&file[c.1..]);
            b = out;
            "section swap"
        }
        6 => {
            let s = sections[rng.below(sections.len())];
            let at = sections[rng.below(sections.len())].0;
            let copy = file[s.0..s.1].to_vec();
            b.splice(at..at, copy);
            "section duplicate"
        }
        _ => {
            // A run of bytes copied from elsewhere in the file (plausible values).
            let from = rng.below(len);
            let n = 1 + rng.below(32.min(len - from));
            let to = rng.below(len - n + 1);
            let run = file[from..from + n].to_vec();
            b[to..to + n].copy_from_slice(&run);
            "copied run"
        }
    };
    (b, kind)
}

/// Damage inside one section's payload, re-sealed with a valid checksum.
fn mutate_sealed(rng: &mut Rng, file: &[u8], sections: &[(usize, usize)]) -> Vec<u8> {
    let body = &sections[..sections.len() - 1];
    let (start, end) = body[rng.below(body.len())];
    let mut payload = file[start + 16..end].to_vec();
    match rng.below(4) {
        0 if !payload.is_empty() => {
            let i = rng.below(payload.len());
            payload[i] ^= 1 << rng.below(8);
        }
        1 if !payload.is_empty() => {
            let i = rng.below(payload.len());
            payload[i] = rng.next() as u8;
        }
        2 => payload.truncate(rng.below(payload.len() + 1)),
        _ => {
            let at = rng.below(payload.len() + 1);
            payload.insert(at, rng.next() as u8);
        }
    }
    let tag: [u8; 4] = file[start..start + 4].try_into().unwrap();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&tag);
    crc.update(&(payload.len() as u64).to_le_bytes());
    crc.update(&payload);
    let mut out = file[..start].to_vec();
    out.extend_from_slice(&tag);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&file[end..]);
    out
}

#[test]
fn mutated_snapshots_are_refused_or_read_back_equal() {
    let h = heap();
    let file = bytes_of(&h);
    let original = contents(&read_snapshot_bytes(&file, "fuzz.rgs").unwrap());
    assert_eq!(original, contents(&h));
    let sections = sections_of(&file);
    let iterations = env_or("REFGRAPH_FUZZ_ITERATIONS", 4000);
    let mut rng = Rng(env_or("REFGRAPH_FUZZ_SEED", 1));
    let mut counts: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for n in 0..iterations {
        let (bad, kind) = mutate(&mut rng, &file, &sections);
        let slot = counts.entry(kind).or_default();
        let read = read_snapshot_bytes(&bad, "fuzz.rgs");
        // `refgraph summary`'s lighter reader refuses exactly what the full one refuses.
        assert_eq!(read_summary_bytes(&bad, "fuzz.rgs").is_ok(), read.is_ok(), "mutation {n} ({kind})");
        match read {
            Err(e) => {
                let text = e.to_string();
                assert!(text.starts_with("fuzz.rgs: ") && text.contains("byte"), "mutation {n} ({kind}): {text}");
                slot.0 += 1;
            }
            Ok(back) => {
                assert_eq!(contents(&back), original, "mutation {n} ({kind}) was read as different data");
                slot.1 += 1;
            }
        }
    }
    eprintln!("{iterations} mutations of a {}-byte snapshot (kind: refused, read back equal): {counts:?}", file.len());
    // The swaps are the only mutations that keep the content: all of them read back.
    assert!(counts.get("section swap").is_some_and(|c| c.0 == 0 && c.1 > 0), "{counts:?}");
    let refused: u64 = counts.iter().filter(|(k, _)| **k != "section swap").map(|(_, c)| c.0).sum();
    assert!(refused > iterations / 2, "{counts:?}");
}

#[test]
fn resealed_damage_never_panics() {
    let h = heap();
    let file = bytes_of(&h);
    let original = contents(&h);
    let sections = sections_of(&file);
    let iterations = env_or("REFGRAPH_FUZZ_ITERATIONS", 4000);
    let mut rng = Rng(env_or("REFGRAPH_FUZZ_SEED", 1) ^ 0x5eed);
    let (mut refused, mut other, mut same) = (0u64, 0u64, 0u64);
    for n in 0..iterations {
        let bad = mutate_sealed(&mut rng, &file, &sections);
        let read = read_snapshot_bytes(&bad, "sealed.rgs");
        let summary = read_summary_bytes(&bad, "sealed.rgs");
        assert_eq!(summary.as_ref().map_err(|e| e.to_string()).err(), read.as_ref().map_err(|e| e.to_string()).err(), "mutation {n}");
        if let (Ok(h), Ok(s)) = (&read, &summary) {
            assert_eq!((h.node_count(), h.edge_count(), h.roots().len()), (s.node_count, s.edge_count, s.roots.len()), "mutation {n}");
        }
        match read {
            Err(e) => {
                let text = e.to_string();
                assert!(text.starts_with("sealed.rgs: ") && text.contains("byte"), "mutation {n}: {text}");
                refused += 1;
            }
            Ok(back) if contents(&back) == original => same += 1,
            Ok(_) => other += 1,
        }
    }
    eprintln!("{iterations} re-sealed mutations: {refused} refused, {other} read as another heap, {same} as the same");
    assert!(refused > iterations / 2, "{refused} of {iterations}");
}

#[test]
fn every_truncation_and_every_extension_is_refused() {
    let file = bytes_of(&heap());
    for cut in 0..file.len() {
        let err = read_snapshot_bytes(&file[..cut], "cut.rgs").map(|_| ()).expect_err(&format!("cut at {cut}"));
        assert!(err.to_string().starts_with("cut.rgs: "), "{err}");
    }
    let mut longer = file.clone();
    for extra in 1..=16 {
        longer.push(extra);
        assert!(read_snapshot_bytes(&longer, "long.rgs").is_err(), "{extra} bytes appended");
    }
}
