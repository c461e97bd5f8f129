//! What the benchmarks read of a running app: the processes it is made of (the app and its WebKit
//! web and network processes), their memory and their CPU time, from `/proc`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, ensure};

use crate::processes::{children, processes_running};

/// The process running `binary` and all its descendants.
pub fn process_tree(binary: &Path) -> Result<Vec<u32>> {
    let roots = processes_running(binary);
    ensure!(
        roots.len() == 1,
        "expected one process running {}, found {roots:?}",
        binary.display()
    );
    let mut tree = roots;
    let mut next = 0;
    while let Some(&parent) = tree.get(next) {
        next += 1;
        for pid in children(parent) {
            if !tree.contains(&pid) {
                tree.push(pid);
            }
        }
    }
    Ok(tree)
}

/// PSS and RSS (KiB) summed over `pids`.
pub fn memory(pids: &[u32]) -> Result<(u64, u64)> {
    let (mut pss, mut rss) = (0, 0);
    for &pid in pids {
        let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .with_context(|| format!("cannot read the memory of process {pid}"))?;
        pss += field_kib(&rollup, "Pss:").unwrap_or(0);
        rss += field_kib(&rollup, "Rss:").unwrap_or(0);
    }
    Ok((pss, rss))
}

/// PSS and RSS (KiB) summed over the process running `binary` and all its descendants, and how
/// many processes that is.
pub fn process_tree_memory(binary: &Path) -> Result<(u64, u64, usize)> {
    let tree = process_tree(binary)?;
    let (pss, rss) = memory(&tree)?;
    Ok((pss, rss, tree.len()))
}

/// CPU time (user and system, in clock ticks) used so far by `pids`.
pub fn cpu_ticks(pids: &[u32]) -> Result<u64> {
    let mut total = 0;
    for &pid in pids {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("cannot read the CPU time of process {pid}"))?;
        // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("malformed /proc stat")?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        for index in [11, 12] {
            total += fields
                .get(index)
                .and_then(|value| value.parse::<u64>().ok())
                .context("malformed /proc stat")?;
        }
    }
    Ok(total)
}

/// The whole machine's busy and total CPU time so far, in clock ticks summed over its cores
/// (`/proc/stat`; idle and waiting for I/O are not busy).
pub fn machine_ticks() -> Result<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let line = stat
        .lines()
        .find(|line| line.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|value| value.parse().context("malformed /proc/stat"))
        .collect::<Result<_>>()?;
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// Clock ticks per second of `/proc` CPU times.
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// The value in KiB of a `Name:   123 kB` line.
fn field_kib(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_uses_memory_and_cpu() {
        let me = std::process::id();
        let busy: u64 = (0..20_000_000u64).fold(0, |sum, n| sum.wrapping_add(n * n));
        assert!(busy > 0);
        let (pss, rss) = memory(&[me]).unwrap();
        assert!(pss > 0 && rss >= pss);
        assert!(cpu_ticks(&[me]).unwrap() > 0);
    }
}
