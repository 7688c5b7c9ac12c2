//! Snapshot files: exact round trips, and clear errors for every kind of
//! damage (never a panic).

use refgraph::graph::{EdgeKind, EdgeLabel, Heap, HeapBuilder, Meta, NodeData, NodeFlags, Root, RootKind};
use refgraph::roots::add_held_from_outside;
use refgraph::snapshot::{read_snapshot, read_snapshot_bytes, read_summary_bytes, write_snapshot, write_snapshot_to, SnapshotError};

fn sample() -> Heap {
    let mut b = HeapBuilder::new();
    let m = b.add_node(&NodeData {
        addr: 0x7fff_ffff_fff0,
        type_name: "module".into(),
        size: 72,
        refcount: 1,
        flags: NodeFlags(NodeFlags::TRACKED),
        label: "logging".into(),
    });
    let d = b.add_node(&NodeData {
        addr: 0x7f00_0000_1000,
        type_name: "dict".into(),
        size: 4704,
        refcount: 3,
        flags: NodeFlags(NodeFlags::TRACKED),
        label: "logging namespace, 108 items".into(),
    });
    let k = b.add_node(&NodeData {
        addr: 0x7f00_0000_0010,
        type_name: "str".into(),
        size: 57,
        refcount: 7,
        flags: NodeFlags(0),
        label: "ünïcode ✓".into(),
    });
    let f = b.add_node(&NodeData {
        addr: 0x10,
        type_name: "function".into(),
        size: 160,
        refcount: 2,
        flags: NodeFlags(NodeFlags::TRACKED),
        label: "logging.shutdown".into(),
    });
    let t = b.add_node(&NodeData {
        addr: 0x20,
        type_name: "tuple".into(),
        size: 1 << 31,
        refcount: u64::from(u32::MAX),
        flags: NodeFlags(NodeFlags::TRACKED | NodeFlags::IMMORTAL),
        label: String::new(),
    });
    let fr = b.add_node(&NodeData {
        addr: 0x30,
        type_name: "frame".into(),
        flags: NodeFlags(NodeFlags::SYNTHETIC),
        label: "main".into(),
        ..Default::default()
    });
    let dict = b.edge_name("__dict__");
    let globals = b.edge_name("__globals__");
    let local = b.edge_name("f_locals['x']");
    b.push_edges(m, [(d, dict)]).unwrap();
    b.push_edges(d, [(k, EdgeLabel::new(EdgeKind::DictKey)), (f, EdgeLabel::new(EdgeKind::DictValue(k)))]).unwrap();
    b.push_edges(f, [(d, globals), (t, EdgeLabel::new(EdgeKind::Attr(k))), (t, EdgeLabel::UNKNOWN)]).unwrap();
    b.push_edges(t, (0..300).map(|i| (f, EdgeLabel::new(EdgeKind::Index(i))))).unwrap();
    b.push_edges(fr, [(m, local)]).unwrap();
    b.add_root(Root { node: m, kind: RootKind::Module { name: "logging".into() } });
    b.add_root(Root { node: fr, kind: RootKind::Frame { thread: 0x7f12_3456_7000, depth: 2, function: "main".into() } });
    b.add_root(Root { node: f, kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
    b.set_meta(Meta { collector: "test".into(), python: (3, 11), notes: vec!["a note".into()], ..Default::default() });
    let mut h = b.finish().unwrap();
    add_held_from_outside(&mut h);
    h
}

fn bytes_of(h: &Heap) -> Vec<u8> {
    let mut out = Vec::new();
    write_snapshot_to(h, &mut out).unwrap();
    out
}

fn assert_same(a: &Heap, b: &Heap) {
    assert_eq!(a.node_count(), b.node_count());
    assert_eq!(a.edge_count(), b.edge_count());
    for (x, y) in a.nodes().zip(b.nodes()) {
        assert_eq!(
            (x.addr(), x.type_name(), x.size(), x.refcount(), x.flags(), x.label()),
            (y.addr(), y.type_name(), y.size(), y.refcount(), y.flags(), y.label())
        );
        let ex: Vec<_> = a.out_edges(x.ix).map(|e| (e.to, a.edge_label_text(e.label))).collect();
        let ey: Vec<_> = b.out_edges(y.ix).map(|e| (e.to, b.edge_label_text(e.label))).collect();
        assert_eq!(ex, ey);
    }
    assert_eq!(a.roots(), b.roots());
    assert_eq!(a.meta, b.meta);
}

#[test]
fn a_heap_round_trips_exactly() {
    let h = sample();
    let back = read_snapshot_bytes(&bytes_of(&h), "mem.rgs").unwrap();
    assert_same(&h, &back);
    // The held-from-outside roots come back by recomputation.
    assert!(back.roots().iter().any(|r| matches!(r.kind, RootKind::HeldFromOutside { .. })));
}

#[test]
fn a_summary_reads_what_the_full_reader_reads() {
    let h = sample();
    let bytes = bytes_of(&h);
    let full = read_snapshot_bytes(&bytes, "mem.rgs").unwrap();
    let s = read_summary_bytes(&bytes, "mem.rgs").unwrap();
    assert_eq!((s.node_count, s.edge_count, &s.meta), (full.node_count(), full.edge_count(), &full.meta));
    let kinds = |roots: &[Root]| roots.iter().map(|r| (r.node, r.kind.tag())).collect::<Vec<_>>();
    assert_eq!(kinds(&s.roots), kinds(full.roots()));
    assert!(s.roots.iter().any(|r| matches!(r.kind, RootKind::HeldFromOutside { .. })));
    assert_eq!(s.roots, full.roots());
    let types: Vec<&str> = s.type_id.iter().map(|&t| s.types[t as usize].as_str()).collect();
    assert_eq!(types, full.nodes().map(|n| n.type_name()).collect::<Vec<_>>());
    assert_eq!(s.size, full.nodes().map(|n| n.size() as u32).collect::<Vec<_>>());
}

/// A heap of `n` nodes with random types, sizes, counts, labels and edges,
/// numbered and plain named holders, and stored surpluses that are stale
/// (the readers recompute them); held-from-outside roots are left to the readers.
fn random_heap(n: usize, seed: u64) -> Heap {
    let mut x = seed;
    let mut next = move |m: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    let types = ["dict", "tuple", "function", "str", "list", "cell"];
    let mut b = HeapBuilder::new();
    let nodes: Vec<_> = (0..n)
        .map(|i| {
            let label = match next(3) {
                0 => String::new(),
                1 => format!("label {}", next(50)),
                _ => format!("ünïcode {i}"),
            };
            b.add_node(&NodeData {
                addr: 0x1000 + 0x40 * i as u64,
                type_name: types[next(types.len() as u64) as usize].into(),
                size: next(4) * 16,
                refcount: next(6),
                flags: NodeFlags(if next(8) == 0 { 0 } else { NodeFlags::TRACKED }),
                label,
            })
        })
        .collect();
    for &from in &nodes {
        let edges: Vec<_> = (0..next(4)).map(|_| (nodes[next(n as u64) as usize], EdgeLabel::UNKNOWN)).collect();
        b.push_edges(from, edges).unwrap();
    }
    for k in 0..n / 10 {
        let node = nodes[next(n as u64) as usize];
        let holder = match next(3) {
            0 => format!("atexit callback #{k}"),
            1 => "interpreter builtins".to_string(),
            _ => format!("signal handler #{}", next(3)),
        };
        b.add_root(Root { node, kind: RootKind::Named { holder, surplus: next(3) as u32 } });
    }
    for k in 0..n / 20 {
        b.add_root(Root { node: nodes[next(n as u64) as usize], kind: RootKind::Module { name: format!("m{k}") } });
    }
    b.finish().unwrap()
}

#[test]
fn a_summary_reports_what_the_full_heap_reports() {
    use refgraph::report::{summary_report, summary_text};
    let heaps =
        [(sample(), "sample"), (random_heap(3000, 1), "random 1"), (random_heap(500, 7), "random 7"), (random_heap(40, 3), "random 3")];
    for (h, what) in heaps {
        let bytes = bytes_of(&h);
        let full = read_snapshot_bytes(&bytes, "mem.rgs").unwrap();
        let light = read_summary_bytes(&bytes, "mem.rgs").unwrap();
        assert_eq!(light.roots, full.roots(), "{what}");
        for (types, roots) in [(20, 10), (3, 2), (100, 100)] {
            let a = summary_report(&full, "mem.rgs", types, roots);
            assert_eq!(summary_report(&light, "mem.rgs", types, roots), a, "{what}");
            assert_eq!(summary_text(&summary_report(&light, "mem.rgs", types, roots)), summary_text(&a), "{what}");
        }
        assert!(full.roots().iter().any(|r| matches!(r.kind, RootKind::HeldFromOutside { .. })), "{what}");
    }
}

#[test]
fn an_empty_heap_round_trips() {
    let h = HeapBuilder::new().finish().unwrap();
    let back = read_snapshot_bytes(&bytes_of(&h), "empty.rgs").unwrap();
    assert_eq!(back.node_count(), 0);
}

#[test]
fn every_truncation_is_a_clear_error() {
    let full = bytes_of(&sample());
    for cut in 0..full.len() {
        let err = read_snapshot_bytes(&full[..cut], "cut.rgs").map(|_| ()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("cut.rgs: "), "{text}");
        assert!(text.contains("byte"), "{cut}: {text}");
        assert!(matches!(err, SnapshotError::Truncated { .. } | SnapshotError::NotASnapshot { .. }), "{cut}: {text}");
    }
}

/// The sections of a snapshot, as `(tag, payload start, payload end)`.
fn sections_of(bytes: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 12;
    while at < bytes.len() {
        let tag: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        out.push((tag, at + 16, at + 16 + len));
        at += 16 + len;
    }
    out
}

#[test]
fn every_flipped_bit_is_caught_and_located() {
    let h = sample();
    let full = bytes_of(&h);
    let sections = sections_of(&full);
    for i in 0..full.len() {
        for bit in 0..8 {
            let mut bad = full.clone();
            bad[i] ^= 1 << bit;
            let err = read_snapshot_bytes(&bad, "flip.rgs").map(|_| ()).expect_err(&format!("byte {i} bit {bit}"));
            let text = err.to_string();
            assert!(text.starts_with("flip.rgs: "), "{text}");
            // A flip in a section's header or payload names that section and where its header starts.
            if let Some(&(tag, payload, _)) = sections.iter().find(|&&(_, p, e)| (p - 16..e).contains(&i)) {
                match err {
                    // A flipped tag is named as it now reads.
                    SnapshotError::Checksum { ref section, offset, .. } => {
                        assert_eq!(offset as usize, payload - 16, "{text}");
                        assert!(i < payload - 12 || section.as_bytes() == tag, "{text}");
                    }
                    // A flipped length: the section would end past the file.
                    SnapshotError::Truncated { .. } => assert!((payload - 12..payload - 4).contains(&i), "{text}"),
                    _ => panic!("byte {i} bit {bit}: {text}"),
                }
            }
        }
    }
}

#[test]
fn damage_messages_name_the_file_section_and_offset() {
    let full = bytes_of(&sample());
    let &(_, payload, _) = sections_of(&full).iter().find(|s| &s.0 == b"NODE").unwrap();
    let mut bad = full.clone();
    bad[payload + 3] ^= 0x10;
    let err = read_snapshot_bytes(&bad, "heap.rgs").unwrap_err().to_string();
    let expected = format!("heap.rgs: damaged: section NODE at byte {} ({} bytes) fails its checksum", payload - 16, {
        let at = payload - 12;
        u64::from_le_bytes(full[at..at + 8].try_into().unwrap())
    });
    assert!(err.starts_with(&expected), "{err}\n{expected}");
    // A header cut short is named once ("section header", not "section section header").
    let err = read_snapshot_bytes(&full[..payload - 10], "heap.rgs").unwrap_err().to_string();
    assert!(err.contains(": section header needs ") && !err.contains("section section"), "{err}");
    let err = read_snapshot_bytes(&full[..payload + 1], "heap.rgs").unwrap_err().to_string();
    assert!(err.contains(": section NODE needs "), "{err}");
}

#[test]
fn an_old_version_is_named() {
    let mut b = bytes_of(&sample());
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    let err = read_snapshot_bytes(&b, "old.rgs").unwrap_err().to_string();
    assert_eq!(
        err,
        "old.rgs: snapshot format version 1 at byte 8, from an older refgraph (before section checksums); \
         this refgraph reads version 2 only: capture the heap again"
    );
}

#[test]
fn a_foreign_file_is_named() {
    let err = read_snapshot_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "picture.png").unwrap_err();
    assert!(matches!(err, SnapshotError::NotASnapshot { .. }));
    assert!(err.to_string().contains("picture.png: not a refgraph snapshot"), "{err}");
    let err = read_snapshot_bytes(b"digraph {}\n", "graph.dot").unwrap_err();
    assert!(err.to_string().contains("graph.dot"), "{err}");
}

#[test]
fn a_future_version_is_refused() {
    let mut b = bytes_of(&sample());
    b[8..12].copy_from_slice(&99u32.to_le_bytes());
    let err = read_snapshot_bytes(&b, "new.rgs").unwrap_err();
    assert!(matches!(err, SnapshotError::UnsupportedVersion { version: 99, .. }), "{err}");
    assert!(err.to_string().contains("version 99 at byte 8, from a newer refgraph; this refgraph reads version 2 only"), "{err}");
}

#[test]
fn files_are_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let h = sample();
    let missing = dir.path().join("no/such/dir/heap.rgs");
    let err = write_snapshot(&h, &missing).unwrap_err().to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    assert!(!missing.exists());
    let path = dir.path().join("heap.rgs");
    std::fs::write(&path, b"old contents").unwrap();
    write_snapshot(&h, &path).unwrap();
    assert_same(&h, &read_snapshot(&path).unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_realistic_heap_costs_at_most_16_bytes_per_edge() {
    // 200 k objects laid out like pymalloc pools: addresses rising by small
    // steps with occasional jumps; 3.6 references each, mostly to neighbours.
    let mut b = HeapBuilder::new();
    let n = 200_000u64;
    let mut addr = 0x7f00_0000_0000u64;
    let mut state = 12345u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let types: Vec<String> = ["dict", "function", "tuple", "list", "str", "cell"].iter().map(|s| s.to_string()).collect();
    for i in 0..n {
        addr += 16 * (1 + rnd() % 12);
        if rnd() % 1000 == 0 {
            addr += 1 << 20;
        }
        let label = if i % 5 < 2 { format!("name_{}", i % 977) } else { String::new() };
        b.add_node(&NodeData {
            addr,
            type_name: types[(rnd() % 6) as usize].clone(),
            size: 48 + rnd() % 200,
            refcount: 1 + rnd() % 4,
            flags: NodeFlags(NodeFlags::TRACKED),
            label,
        });
    }
    let names: Vec<EdgeLabel> = ["__dict__", "__globals__", "__closure__"].iter().map(|s| b.edge_name(s)).collect();
    for i in 0..n as usize {
        let k = if i % 5 < 3 { 4 } else { 3 };
        let edges: Vec<_> = (0..k)
            .map(|j| {
                let near = rnd() % 4 != 0;
                let t = if near { (i + 1 + (rnd() % 64) as usize) % n as usize } else { (rnd() % n) as usize };
                let label = match j % 3 {
                    0 => EdgeLabel::new(EdgeKind::Index(j)),
                    1 => EdgeLabel::new(EdgeKind::DictValue(refgraph::NodeIx::new((rnd() % n) as usize))),
                    _ => names[(rnd() % 3) as usize],
                };
                (refgraph::NodeIx::new(t), label)
            })
            .collect();
        b.push_edges(refgraph::NodeIx::new(i), edges).unwrap();
    }
    let h = b.finish().unwrap();
    let bytes = bytes_of(&h);
    let per_edge = bytes.len() as f64 / h.edge_count() as f64;
    assert!(per_edge <= 16.0, "{per_edge:.2} bytes per edge");
}

#[cfg(unix)]
#[test]
fn snapshots_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heap.rgs");
    write_snapshot(&sample(), &path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
