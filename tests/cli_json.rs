//! Every JSON document of the `refgraph` command carries `"schema": 1` and
//! its command's name, and writes addresses in hex as the text output does
//! (docs/json.md). Runs the built binary on a snapshot of a built heap.

use std::process::Command;

use refgraph::graph::{HeapBuilder, NodeData, NodeFlags, Root, RootKind};
use refgraph::roots::add_held_from_outside;
use refgraph::snapshot::write_snapshot;

fn node(b: &mut HeapBuilder, addr: u64, ty: &str, label: &str, refcount: u64) -> refgraph::NodeIx {
    b.add_node(&NodeData { addr, type_name: ty.into(), refcount, size: 64, flags: NodeFlags(NodeFlags::TRACKED), label: label.into() })
}

/// The seed in small: one stale logging copy held by an atexit callback.
fn seed_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut b = HeapBuilder::new();
    let dict = b.edge_name("__dict__");
    let globals = b.edge_name("__globals__");
    let m = node(&mut b, 0x7f00_0000_1000, "module", "logging", 1);
    let d = node(&mut b, 0x7f00_0000_2000, "dict", "logging namespace, 108 items", 1);
    b.add_edge(m, d, dict);
    b.add_root(Root { node: m, kind: RootKind::Module { name: "logging".into() } });
    let sm = node(&mut b, 0x7f00_0001_1000, "module", "logging", 1);
    let sd = node(&mut b, 0x7f00_0001_2000, "dict", "logging namespace, 108 items", 2);
    let f = node(&mut b, 0x7f00_0001_3000, "function", "logging.shutdown", 2);
    b.add_edge(sm, sd, dict);
    b.add_edge(f, sd, globals);
    b.add_edge(sd, f, refgraph::EdgeLabel::UNKNOWN);
    b.add_edge(sd, sm, refgraph::EdgeLabel::UNKNOWN);
    b.add_root(Root { node: f, kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
    // What `refgraph attach` runs in: refgraph's own, no stale copy of the program's.
    node(&mut b, 0x7f00_0002_1000, "dict", "__refgraph_attach__ namespace, 30 items", 1);
    let mut h = b.finish().unwrap();
    add_held_from_outside(&mut h);
    let path = dir.join("heap.rgs");
    write_snapshot(&h, &path).unwrap();
    path
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_refgraph")).args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn is_hex(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("0x") && s.len() > 2 && s[2..].bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn every_json_document_has_the_schema_and_hex_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_file(dir.path());
    let file = file.to_str().unwrap();

    let path = json(&["path", file, "--select", "0x7f0000012000"]);
    assert_eq!((path["schema"].as_u64(), path["command"].as_str()), (Some(1), Some("path")));
    let target = &path["targets"][0];
    assert_eq!(target["target"]["address"], "0x7f0000012000");
    assert_eq!(target["paths"][0][0]["address"], "0x7f0000013000");
    assert_eq!(target["paths"][0][0]["root"], "atexit callback #1 (1 ref)");

    let summary = json(&["summary", file]);
    assert_eq!((summary["schema"].as_u64(), summary["command"].as_str()), (Some(1), Some("summary")));
    let holders = summary["roots"]["named_holders"].as_array().unwrap();
    assert_eq!(holders[0]["name"], "atexit callback");
    assert_eq!(holders[0]["example"]["address"], "0x7f0000013000");

    let modules = json(&["modules", file]);
    assert_eq!((modules["schema"].as_u64(), modules["command"].as_str()), (Some(1), Some("modules")));
    let g = &modules["groups"][0];
    // Retained by the copy alone (the dominator tree): at least its own size.
    assert_eq!((g["module"].as_str(), g["copies"].as_u64()), (Some("logging"), Some(1)));
    assert!(g["retained_size"].as_u64().unwrap() >= g["shallow_size"].as_u64().unwrap(), "{g}");
    assert!(g["addresses"].as_array().unwrap().iter().all(is_hex));
    assert_eq!(g["addresses"].as_array().unwrap().len(), 2);
    assert!(is_hex(&g["example"]["target"]["address"]));
    assert_eq!(modules["groups"].as_array().unwrap().len(), 1, "{modules}");
    assert_eq!(modules["observers_left_out"], serde_json::json!(["__refgraph_attach__"]));

    let filters = dir.path().join("f.rgf");
    std::fs::write(&filters, "hide module logging\n").unwrap();
    let check = json(&["filters", "check", filters.to_str().unwrap(), "--snapshot", file]);
    assert_eq!((check["schema"].as_u64(), check["command"].as_str()), (Some(1), Some("filters check")));
    assert_eq!(check["rules"], 1);
    assert!(check["hidden"]["objects"].as_u64().unwrap() >= 1);
}

#[test]
fn the_modules_text_names_the_copies_and_their_holder() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_file(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_refgraph")).arg("modules").arg(&file).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 stale copy of 1 module ("), "{text}");
    assert!(text.contains("logging: 1 stale copy; the nearest, dict 0x7f0000012000 logging namespace, 108 items, is held by:"), "{text}");
    assert!(text.contains("[1] atexit callback #1 (1 ref)"), "{text}");
    assert!(text.contains("__globals__ -> dict 0x7f0000012000"), "{text}");
    assert!(text.contains("(left out as refgraph's own, from the capture that took this snapshot: __refgraph_attach__)"), "{text}");
}
