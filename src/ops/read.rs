//! Reading gen's inputs with a bound. A catalog or policy is a regular
//! file (or, for a catalog, `-`: standard input); devices, FIFOs, sockets
//! and directories are refused before a byte is read, and no input is read
//! past its limit, so `gen build /dev/zero` fails at once instead of
//! growing without end.

use std::io::{self, Read};
use std::path::Path;

/// The largest catalog gen reads: 16 MiB (a 1,000-service catalog is a
/// few hundred KiB).
pub const MAX_CATALOG_BYTES: u64 = 16 << 20;
/// The largest policy file gen reads: 1 MiB.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;
/// The catalog path that means standard input.
pub const STDIN: &str = "-";

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// The name diagnostics show for a catalog path.
pub fn display_name(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".to_owned()
    } else {
        path.to_string_lossy().into_owned()
    }
}

/// Read a catalog: the file at `path`, or standard input for `-`.
pub fn catalog(path: &Path) -> io::Result<Vec<u8>> {
    if is_stdin(path) {
        return bounded(io::stdin().lock(), MAX_CATALOG_BYTES, "a catalog");
    }
    file(path, MAX_CATALOG_BYTES, "a catalog")
}

/// Read a policy file.
pub fn policy(path: &Path) -> io::Result<Vec<u8>> {
    file(path, MAX_POLICY_BYTES, "a policy file")
}

fn too_large(limit: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {} MiB, gen's limit for {what}", limit >> 20),
    )
}

/// A regular file, opened without blocking (a FIFO would wait for a
/// writer) and checked on the open file, then read with the bound.
fn file(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let f = options.open(path)?;
    let meta = f.metadata()?;
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is a directory; name {what} inside it"),
        ));
    }
    if !ft.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "not a regular file ({}); gen reads {what} from a regular file{}",
                kind(&ft),
                if what == "a catalog" {
                    ", or from standard input with `-`"
                } else {
                    ""
                }
            ),
        ));
    }
    if meta.len() > limit {
        return Err(too_large(limit, what));
    }
    bounded(f, limit, what)
}

fn kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    let _ = ft;
    "a special file"
}

/// At most `limit` bytes, or the too-large error (the file may have grown
/// since it was measured, and standard input has no size).
fn bounded(r: impl Read, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large(limit, what));
    }
    Ok(buf)
}
