//! Snapshot files: exact round trips, and clear errors for every kind of
//! damage (never a panic).

use refgraph::graph::{EdgeKind, EdgeLabel, Heap, HeapBuilder, Meta, NodeData, NodeFlags, Root, RootKind};
use refgraph::roots::add_held_from_outside;
use refgraph::snapshot::{read_snapshot, read_snapshot_bytes, write_snapshot, write_snapshot_to, SnapshotError};

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
        assert!(
            matches!(err, SnapshotError::Truncated { .. } | SnapshotError::NotASnapshot { .. } | SnapshotError::Corrupt { .. }),
            "{cut}: {text}"
        );
    }
}

/// The sections of a snapshot, as `(tag, payload start, payload end)`.
fn sections_of(bytes: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 12;
    while at < bytes.len() {
        let tag: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        out.push((tag, at + 12, at + 12 + len));
        at += 12 + len;
    }
    out
}

/// The bytes of the LEB128 varint at the start of `bytes`.
fn varint_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|&b| b < 0x80).unwrap() + 1
}

/// Every edge, as (from, to, label text), in order.
fn edge_list(h: &Heap) -> Vec<(usize, usize, String)> {
    h.nodes()
        .flat_map(|n| h.out_edges(n.ix).map(|e| (e.from.index(), e.to.index(), h.edge_label_text(e.label))).collect::<Vec<_>>())
        .collect()
}

#[test]
fn flipped_bytes_never_panic_and_edge_damage_is_caught() {
    let h = sample();
    let full = bytes_of(&h);
    for i in 12..full.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = full.clone();
            bad[i] ^= flip;
            // Either it still reads (a flipped size or label byte is still a
            // valid snapshot) or it reports where; it must not panic.
            if let Err(e) = read_snapshot_bytes(&bad, "flip.rgs") {
                assert!(e.to_string().contains("flip.rgs"), "{e}");
            }
        }
    }

    // The EDGE section, byte by byte. Its layout: the section header (tag,
    // length), the edge count, the out-degrees, then the targets and the
    // labels, all varints.
    let &(_, payload, end) = sections_of(&full).iter().find(|(tag, _, _)| tag == b"EDGE").unwrap();
    let mut at = payload + varint_len(&full[payload..]);
    for _ in 0..h.node_count() {
        at += varint_len(&full[at..]);
    }
    let targets = at;
    let original = edge_list(&h);
    let (mut caught, mut undetected) = (0, 0);
    for i in payload - 12..end {
        for flip in [0x01u8, 0x40, 0x80, 0xff] {
            let mut bad = full.clone();
            bad[i] ^= flip;
            let read = read_snapshot_bytes(&bad, "flip.rgs");
            let what = format!("byte {i} ^ {flip:#04x}");
            if i < targets || flip & 0x80 != 0 {
                // Caught, always: a flipped header loses the section or
                // misstates its length; a flipped edge count or out-degree
                // breaks "the out-degrees add up to the count"; a flipped
                // continuation bit joins two varints or splits one, so the
                // fixed number of targets and labels no longer ends where
                // the section does.
                let err = read.map(|_| ()).expect_err(&what);
                if i >= payload {
                    match err {
                        SnapshotError::Corrupt { offset, what: ref message, .. } => {
                            assert!(message.starts_with("EDGE: ") && (payload..=end).contains(&(offset as usize)), "{err}")
                        }
                        SnapshotError::Truncated { offset, ref section, .. } => {
                            assert!(section == "EDGE" && (payload..=end).contains(&(offset as usize)), "{err}")
                        }
                        _ => panic!("{what}: {err}"),
                    }
                }
            } else {
                // A flipped value bit of a target or a label is caught only
                // where the result names no node, no key or no edge name, or
                // gives a payload to a kind that takes none.
                // Otherwise it is a well-formed snapshot of another heap, which
                // nothing but a checksum could tell from this one: the reader
                // must then return that other heap, never the original one
                // (a flip is never silently absorbed).
                match read {
                    Err(e) => {
                        assert!(e.to_string().contains("EDGE: "), "{what}: {e}");
                        caught += 1;
                    }
                    Ok(back) => {
                        assert_ne!(edge_list(&back), original, "{what}");
                        undetected += 1;
                    }
                }
            }
        }
    }
    // On this sample the range checks catch about a third of the value-bit
    // flips (619 of 1796); the other two thirds are what a checksum is for.
    assert!(caught > 0, "no flipped target or label was out of range ({undetected} read as another heap)");
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
