//! The shipped filter files parse, and a malformed file fails the way the
//! command line reports it.

use std::path::Path;

use refgraph::filter::{parse_file, parse_str, FilterError};

#[test]
fn every_shipped_filter_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rgf") {
            let f = parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!f.rules.is_empty() || f.max_depth.is_some(), "{} says nothing", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 5, "expected the five shipped filters, found {seen}");
}

#[test]
fn the_seed_filter_is_the_authors_rules() {
    let f = parse_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("filters/seed.rgf")).unwrap();
    assert_eq!(f.max_depth, Some(100));
    assert_eq!(f.too_many, Some(100));
    let origins: Vec<_> = f.rules.iter().map(|r| r.origin.rsplit('/').next().unwrap().to_string()).collect();
    assert_eq!(origins, ["graphviz.rgf:4", "graphviz.rgf:5", "logging-handlers.rgf:4", "seed.rgf:14"]);
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    match parse_str("hide module x\nhide refcount <= one\n", "my.rgf") {
        Err(FilterError::Syntax(e)) => {
            assert_eq!((e.file.as_str(), e.line, e.col), ("my.rgf", 2, 18));
            assert!(e.to_string().contains("hide refcount <= one"));
        }
        other => panic!("{other:?}"),
    }
}
