//! The Python-level signal handlers (`signal.signal(SIGUSR1, f)`), read from
//! the interpreter's own table instead of calling `signal.getsignal()` (a
//! Python-level call, which on the `signal` module goes through `enum`).
//!
//! The table is `struct { int tripped; PyObject *func; } handlers[Py_NSIG]`
//! (16 bytes an entry, `func` at 8, in every supported version): up to 3.11
//! the static `Handlers` of `Modules/signalmodule.c`, which no symbol names;
//! from 3.12 `_PyRuntime.signals.handlers`. Either way it is in the writable
//! memory of the binary that holds `_PyRuntime`. [`find_table`] finds it
//! there once, when refgraph is imported: the one place where every entry
//! holds what `_signal.getsignal(n)` returned for that signal (its `func`,
//! or NULL for None) is the table, and nothing else is believed. A capture
//! then reads the entries through `mem` ([`read_handlers`]).
//!
//! Never writes, never calls Python.

use super::mem::{read_bytes, Memory};
use super::LayoutError;

/// Bytes per entry of the handler table, and where its `func` is.
pub const ENTRY_SIZE: usize = 16;
pub const FUNC_AT: usize = 8;
/// Bytes searched per read.
const CHUNK: usize = 1 << 20;

/// Why the handler table was not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("no signal has a handler object to look for")]
    NoAnchor,
    #[error("no place in the interpreter's writable memory holds the {0} handlers signal.getsignal() returns")]
    NotFound(usize),
    #[error("{0} places in the interpreter's writable memory hold the handlers signal.getsignal() returns")]
    Ambiguous(usize),
    #[error("the interpreter's memory map cannot be read: {0}")]
    Maps(String),
}

/// Finds the table whose entry `n` holds `expected[n]` for every signal `n`
/// (`expected[0]`, no signal, and the zeros, None, are not compared), in the address `ranges`
/// (`(start, end)`). The search starts from the signal whose handler is the
/// rarest value among them, and must end at exactly one place.
pub fn find_table(ranges: &[(usize, usize)], expected: &[usize]) -> Result<usize, TableError> {
    let count = |v: usize| expected[1..].iter().filter(|&&e| e == v).count();
    let anchor = (1..expected.len()).filter(|&n| expected[n] != 0).min_by_key(|&n| count(expected[n])).ok_or(TableError::NoAnchor)?;
    let value = expected[anchor];
    let mut found = Vec::new();
    for &(start, end) in ranges {
        let mut at = start & !7;
        let mut buf = vec![0u8; CHUNK];
        while at < end {
            let len = CHUNK.min(end - at);
            if read_bytes(at, &mut buf[..len]).is_err() {
                at += len;
                continue;
            }
            for (i, w) in buf[..len].chunks_exact(8).enumerate() {
                if usize::from_ne_bytes(w.try_into().unwrap_or([0; 8])) != value {
                    continue;
                }
                let Some(table) = (at + 8 * i).checked_sub(FUNC_AT + ENTRY_SIZE * anchor) else { continue };
                if !found.contains(&table) && read_handlers(&super::mem::Checked, table, expected.len()).is_ok_and(|h| agrees(&h, expected))
                {
                    found.push(table);
                }
            }
            at += len;
        }
    }
    match found.as_slice() {
        [table] => Ok(*table),
        [] => Err(TableError::NotFound(expected.len())),
        more => Err(TableError::Ambiguous(more.len())),
    }
}

/// Whether a table's entries hold what `signal.getsignal()` returned. Where
/// it returned None nothing is compared: some versions answer None for a
/// signal whose entry holds SIG_DFL (3.11: the two signals glibc reserves).
fn agrees(table: &[usize], expected: &[usize]) -> bool {
    table.len() == expected.len() && table.iter().zip(expected).skip(1).all(|(&t, &e)| e == 0 || t == e)
}

/// The `func` of each of the `nsig` entries of the table at `table`.
pub fn read_handlers<M: Memory>(m: &M, table: usize, nsig: usize) -> Result<Vec<usize>, LayoutError> {
    let b = m.bytes(table, nsig * ENTRY_SIZE, "the signal handler table")?;
    Ok(b.chunks_exact(ENTRY_SIZE).map(|e| usize::from_ne_bytes(e[FUNC_AT..FUNC_AT + 8].try_into().unwrap_or([0; 8]))).collect())
}

/// The writable mappings of the binary that holds address `inside` (from
/// `/proc/self/maps`), with the anonymous mapping that directly follows one
/// of them (its `.bss`), as `(start, end)`.
pub fn writable_ranges_of(inside: usize) -> Result<Vec<(usize, usize)>, TableError> {
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| TableError::Maps(e.to_string()))?;
    Ok(writable_ranges_in(&maps, inside))
}

/// [`writable_ranges_of`] over the text of a maps file.
pub fn writable_ranges_in(maps: &str, inside: usize) -> Vec<(usize, usize)> {
    // (start, end, writable, path)
    let rows: Vec<(usize, usize, bool, &str)> = maps
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (range, perms) = (f.next()?, f.next()?);
            let path = f.nth(3).unwrap_or("");
            let (a, b) = range.split_once('-')?;
            Some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?, perms.starts_with("rw"), path))
        })
        .collect();
    // `inside` may be in the binary's `.bss`, an anonymous mapping that
    // follows its last file mapping.
    let Some(at) = rows.iter().position(|r| r.0 <= inside && inside < r.1) else { return Vec::new() };
    let path = match rows[at].3 {
        "" if at > 0 && rows[at - 1].1 == rows[at].0 => rows[at - 1].3,
        p => p,
    };
    // `[heap]`, `[stack]`: no binary.
    if path.is_empty() || path.starts_with('[') {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.3 == path && r.2 {
            out.push((r.0, r.1));
            if let Some(next) = rows.get(i + 1).filter(|n| n.0 == r.1 && n.2 && n.3.is_empty()) {
                out.push((next.0, next.1));
            }
        }
    }
    out
}

/// The name `signal.Signals` gives signal `n` on Linux (`SIGRTMIN+3`, ...).
pub fn signal_name(n: usize) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    const RTMIN: usize = 34;
    const RTMAX: usize = 64;
    match n {
        1..=31 => NAMES[n].to_string(),
        RTMIN => "SIGRTMIN".into(),
        RTMAX => "SIGRTMAX".into(),
        n if n > RTMIN && n < RTMAX => format!("SIGRTMIN+{}", n - RTMIN),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::Fake;
    use super::*;

    #[test]
    fn the_table_is_found_where_every_entry_matches_and_only_there() {
        let mut fake = Fake::new();
        let nsig = 65;
        let region = fake.alloc(8192);
        let table = region + 2048;
        let (int0, int1, handler, other) = (0x1000_0000, 0x1000_0020, 0x2000_0000, 0x3000_0000);
        let mut expected = vec![0usize; nsig];
        for (n, e) in expected.iter_mut().enumerate().skip(1) {
            *e = match n {
                2 => handler,
                10 => other,
                13 | 25 => int1,
                32 | 33 => 0,
                _ => int0,
            };
            fake.put_usize(table + n * ENTRY_SIZE + FUNC_AT, *e);
        }
        // A decoy that holds the handler but not the rest.
        fake.put_usize(region + 64, handler);
        let ranges = [(region, region + 8192)];
        assert_eq!(find_table(&ranges, &expected), Ok(table));
        let funcs = read_handlers(&super::super::mem::Checked, table, nsig).unwrap();
        assert_eq!(funcs, expected);
        // An entry where getsignal() said None is not compared; one that
        // differs rules the place out.
        let mut none = expected.clone();
        none[20] = 0;
        assert_eq!(find_table(&ranges, &none), Ok(table));
        let mut wrong = expected.clone();
        wrong[15] = other;
        assert_eq!(find_table(&ranges, &wrong), Err(TableError::NotFound(nsig)));
        // Two copies: neither is believed.
        let copy = region + 5120;
        for (n, &e) in expected.iter().enumerate() {
            fake.put_usize(copy + n * ENTRY_SIZE + FUNC_AT, e);
        }
        assert_eq!(find_table(&ranges, &expected), Err(TableError::Ambiguous(2)));
        assert_eq!(find_table(&ranges, &vec![0; nsig]), Err(TableError::NoAnchor));
    }

    #[test]
    fn the_binary_and_its_bss_are_searched() {
        let maps = "\
55d000000000-55d000001000 r--p 00000000 08:01 42 /usr/bin/python3.11
55d000001000-55d000002000 r-xp 00001000 08:01 42 /usr/bin/python3.11
55d000002000-55d000003000 rw-p 00002000 08:01 42 /usr/bin/python3.11
55d000003000-55d000005000 rw-p 00000000 00:00 0
55d000005000-55d000006000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000001000 rw-p 00000000 08:01 43 /usr/lib/libc.so.6
";
        let r = writable_ranges_in(maps, 0x55d0_0000_1500);
        assert_eq!(r, vec![(0x55d0_0000_2000, 0x55d0_0000_3000), (0x55d0_0000_3000, 0x55d0_0000_5000)]);
        assert!(writable_ranges_in(maps, 0x10).is_empty());
        assert_eq!(writable_ranges_in(maps, 0x55d0_0000_4000), r, "from the .bss");
        assert!(writable_ranges_in(maps, 0x55d0_0000_5500).is_empty(), "the heap is no binary");
        assert_eq!(signal_name(2), "SIGINT");
        assert_eq!(signal_name(36), "SIGRTMIN+2");
        assert_eq!(signal_name(64), "SIGRTMAX");
    }
}
