//! The CLI's error messages, as a user sees them: each said once, on one
//! line, naming the input, with exit status 2 and nothing on stdout.

use std::path::Path;
use std::process::Command;

use refgraph::graph::{HeapBuilder, Meta, NodeData, NodeFlags};
use refgraph::snapshot::write_snapshot;

fn write_heap(path: &Path) {
    let mut b = HeapBuilder::new();
    for (addr, ty) in [(0x10, "logging.Logger"), (0x20, "logging.RootLogger"), (0x30, "dict"), (0x40, "function")] {
        b.add_node(&NodeData { addr, type_name: ty.into(), flags: NodeFlags(NodeFlags::TRACKED), refcount: 1, ..Default::default() });
    }
    b.set_meta(Meta { collector: "test".into(), ..Default::default() });
    write_snapshot(&b.finish().unwrap(), path).unwrap();
}

/// Runs refgraph; returns its stderr, after checking it failed cleanly.
fn fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_refgraph")).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_missing_file_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.rgs");
    let m = missing.to_str().unwrap();
    let expected = format!("refgraph: cannot read snapshot {m}: No such file or directory (os error 2)\n");
    assert_eq!(fails(&["summary", m]), expected);
    assert_eq!(fails(&["path", m, "--select", "dict"]), expected);
}

#[test]
fn a_bad_regex_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let heap = dir.path().join("heap.rgs");
    write_heap(&heap);
    let h = heap.to_str().unwrap();
    assert_eq!(
        fails(&["path", h, "--select", "dict~("]),
        "refgraph: selector \"dict~(\": bad regular expression after '~': unclosed group\n"
    );
}

#[test]
fn a_misspelt_type_gets_near_names() {
    let dir = tempfile::tempdir().unwrap();
    let heap = dir.path().join("heap.rgs");
    write_heap(&heap);
    let h = heap.to_str().unwrap();
    assert_eq!(
        fails(&["path", h, "--select", "Loger"]),
        "refgraph: selector \"Loger\" matches no object in the snapshot; did you mean Logger or RootLogger?\n"
    );
    assert_eq!(
        fails(&["path", h, "--select", "dcit"]),
        "refgraph: selector \"dcit\" matches no object in the snapshot; did you mean dict?\n"
    );
    assert_eq!(fails(&["path", h, "--select", "Frobnicator"]), "refgraph: selector \"Frobnicator\" matches no object in the snapshot\n");
    // A type that exists, with a label that matches nothing: no suggestion.
    assert_eq!(fails(&["path", h, "--select", "dict~zzz"]), "refgraph: selector \"dict~zzz\" matches no object in the snapshot\n");
}

#[test]
fn damage_and_old_versions_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let heap = dir.path().join("heap.rgs");
    write_heap(&heap);
    let h = heap.to_str().unwrap();
    let good = std::fs::read(&heap).unwrap();

    let mut bad = good.clone();
    let last = bad.len() - 20;
    bad[last] ^= 4;
    std::fs::write(&heap, &bad).unwrap();
    let err = fails(&["summary", h]);
    assert!(err.starts_with(&format!("refgraph: {h}: damaged: section ROOT at byte ")), "{err}");
    assert!(err.contains("fails its checksum") && err.lines().count() == 1, "{err}");

    std::fs::write(&heap, &good[..good.len() / 2]).unwrap();
    let err = fails(&["summary", h]);
    assert!(err.starts_with(&format!("refgraph: {h}: truncated at byte ")) && err.lines().count() == 1, "{err}");
    assert!(!err.contains("section section"), "{err}");

    let mut old = good.clone();
    old[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&heap, &old).unwrap();
    assert_eq!(
        fails(&["summary", h]),
        format!(
            "refgraph: {h}: snapshot format version 1 at byte 8, from an older refgraph (before section checksums); \
             this refgraph reads version 2 only: capture the heap again\n"
        )
    );
}
