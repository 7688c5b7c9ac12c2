//! What a root is: a node and why it is one ([`RootKind`]: a module, a
//! thread's frame, a named holder in C state, or held from outside the heap).
//! Plain data kept in the model; the held-from-outside roots are computed in
//! [`crate::roots`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::NodeIx;

/// Why a node is a root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RootKind {
    /// A module object in `sys.modules` under `name`.
    Module { name: String },
    /// A running frame (or its interpreter frame record on 3.11+) of a thread.
    Frame { thread: u64, depth: u32, function: String },
    /// A holder in C state that refgraph could name: `atexit callback #1`,
    /// `register_at_fork(before)`, `signal handler SIGUSR1`, ...
    Named { holder: String, surplus: u32 },
    /// More references than the heap shows; `surplus` of them come from outside.
    HeldFromOutside { surplus: u32 },
}

impl RootKind {
    /// How much a path from this root explains, best first: a module or a
    /// named holder is an answer, a surplus reference is only a clue.
    pub fn rank(&self) -> u8 {
        match self {
            RootKind::Module { .. } => 0,
            RootKind::Named { .. } => 1,
            RootKind::Frame { .. } => 2,
            RootKind::HeldFromOutside { .. } => 3,
        }
    }

    /// Short machine-friendly name of the kind.
    pub fn tag(&self) -> &'static str {
        match self {
            RootKind::Module { .. } => "module",
            RootKind::Frame { .. } => "frame",
            RootKind::Named { .. } => "named",
            RootKind::HeldFromOutside { .. } => "held_from_outside",
        }
    }
}

impl fmt::Display for RootKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootKind::Module { name } => write!(f, "sys.modules['{name}']"),
            RootKind::Frame { thread, depth, function } => {
                write!(f, "frame {depth} of thread {thread:#x}: {function}")
            }
            RootKind::Named { holder, surplus: 0 } => f.write_str(holder),
            RootKind::Named { holder, surplus } => write!(f, "{holder} ({})", refs(*surplus)),
            RootKind::HeldFromOutside { surplus } => {
                write!(f, "held from outside the heap ({})", refs(*surplus))
            }
        }
    }
}

fn refs(n: u32) -> String {
    if n == 1 {
        "1 ref".to_string()
    } else {
        format!("{n} refs")
    }
}

/// A root: a node and why it is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub node: NodeIx,
    pub kind: RootKind,
}
