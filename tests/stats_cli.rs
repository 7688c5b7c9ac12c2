//! `refgraph top` and `refgraph diff` on snapshot files, run as a user runs them.

use std::path::Path;
use std::process::Command;

use refgraph::graph::{EdgeKind, EdgeLabel, HeapBuilder, NodeData, NodeFlags};

/// A heap with `copies` stale copies of a module `logging` (module, namespace
/// dict, two functions each) and one of `app`.
fn write_heap(path: &Path, copies: u64) {
    let mut b = HeapBuilder::new();
    let tracked = NodeFlags(NodeFlags::TRACKED);
    let mut addr = 0x1000u64;
    let mut node = |b: &mut HeapBuilder, ty: &str, size: u64, label: &str| {
        addr += 0x40;
        b.add_node(&NodeData { addr, type_name: ty.into(), size, refcount: 1, flags: tracked, label: label.into() })
    };
    let name_key = node(&mut b, "str", 57, "__name__");
    for (module, n) in [("app", 1), ("logging", copies)] {
        for _ in 0..n {
            let m = node(&mut b, "module", 72, module);
            let ns = node(&mut b, "dict", 1000, &format!("{module} namespace, 3 items"));
            let dict_label = b.edge_name("__dict__");
            b.add_edge(m, ns, dict_label);
            let name = node(&mut b, "str", 56, module);
            b.add_edge(ns, name_key, EdgeLabel::new(EdgeKind::DictKey));
            b.add_edge(ns, name, EdgeLabel::new(EdgeKind::DictValue(name_key)));
            for f in ["shutdown", "getLogger"] {
                let func = node(&mut b, "function", 160, &format!("{module}.{f}"));
                let module_label = b.edge_name("__module__");
                b.add_edge(func, name, module_label);
            }
        }
    }
    let mut heap = b.finish().unwrap();
    refgraph::roots::add_held_from_outside(&mut heap);
    refgraph::snapshot::write_snapshot(&heap, path).unwrap();
}

fn refgraph(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_refgraph")).args(args).output().expect("run refgraph");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn top_by_module_puts_the_reloaded_module_first() {
    let dir = tempfile::tempdir().unwrap();
    let heap = dir.path().join("heap.rgs");
    write_heap(&heap, 3);
    let (ok, out, err) = refgraph(&["top", heap.to_str().unwrap(), "--by", "module"]);
    assert!(ok, "{err}");
    let rows: Vec<Vec<&str>> = out.lines().skip(2).map(|l| l.split_whitespace().collect()).collect();
    // Per copy: its namespace (the module object, functions and the str name are no namespaces).
    assert_eq!(rows[0], ["3", "3000", "logging"], "{out}");
    assert_eq!(rows[1][2], "app");
    let (ok, out, _) = refgraph(&["top", heap.to_str().unwrap(), "--by", "size", "--limit", "1"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 3, "a title, a header, one row: {out}");
    assert!(out.lines().nth(2).unwrap().ends_with("dict"), "{out}");
}

#[test]
fn diff_names_what_grew_and_counts_new_objects() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.rgs"), dir.path().join("b.rgs"));
    write_heap(&a, 1);
    write_heap(&b, 4);
    let (ok, out, err) = refgraph(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--by", "module"]);
    assert!(ok, "{err}");
    assert!(out.lines().next().unwrap().contains("15 new (matched on address and type); 1 modules grew"), "{out}");
    let row: Vec<&str> = out.lines().nth(2).unwrap().split_whitespace().collect();
    assert_eq!(row, ["4", "+3", "4000", "+3000", "logging"], "{out}");
}

#[test]
fn a_bad_grouping_or_file_is_an_error_that_names_it() {
    let (ok, _, err) = refgraph(&["top", "no-such.rgs"]);
    assert!(!ok && err.contains("no-such.rgs"), "{err}");
    let (ok, _, err) = refgraph(&["top", "x.rgs", "--by", "colour"]);
    assert!(!ok && err.contains("colour"), "{err}");
    // diff compares counts: its --by offers the groupings that count, not retained size.
    let (ok, _, err) = refgraph(&["diff", "a.rgs", "b.rgs", "--by", "retained"]);
    assert!(!ok && err.contains("'retained'") && err.contains("type, module, qualname, size"), "{err}");
    let (ok, help, _) = refgraph(&["diff", "--help"]);
    assert!(ok && help.contains("--tracked") && help.contains("qualname") && !help.contains("retained"), "{help}");
}
