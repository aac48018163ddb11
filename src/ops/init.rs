//! `gen init [DIR]`: scaffold a commented starter catalog.
//!
//! Writes `DIR/catalog.yaml` (the embedded `blueprints/init/catalog.yaml`,
//! which builds and lints with no warning or error) and, unless one is there
//! already, `DIR/catalog.schema.json`, which the starter's first line points
//! editors at. An existing catalog is never replaced.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The starter catalog.
pub const STARTER: &str = include_str!("../../blueprints/init/catalog.yaml");

/// File name of the catalog `gen init` writes.
pub const CATALOG_FILE: &str = "catalog.yaml";

/// File name of the schema written beside it (named by the starter's
/// `yaml-language-server` comment).
pub const SCHEMA_FILE: &str = "catalog.schema.json";

/// What `gen init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOutcome {
    /// The new catalog.
    pub catalog: PathBuf,
    /// The schema file beside it.
    pub schema: PathBuf,
    /// Whether the schema was written (false: a file of that name was kept).
    pub schema_written: bool,
}

/// Why `gen init` wrote nothing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InitError {
    /// A catalog is already there.
    #[error("{0} already exists; gen init does not overwrite a catalog")]
    #[diagnostic(
        code(gen::init_exists),
        help("choose another directory (`gen init DIR`), or move the existing catalog away")
    )]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("cannot {action} {path}: {source}")]
    #[diagnostic(code(gen::io))]
    Io {
        /// What gen was doing.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Write `bytes` to `path` only if nothing (not even a dangling link) is
/// there: a complete temporary file beside it is linked into place, so a
/// concurrent writer or a crash never leaves a half-written file. Returns
/// `Ok(false)` when `path` exists.
fn write_new(path: &Path, bytes: &[u8]) -> Result<bool, InitError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io = |action| {
        move |source| InitError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    if path.symlink_metadata().is_ok() {
        return Ok(false);
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".gen-init")
        .tempfile_in(dir)
        .map_err(io("create a temporary file for"))?;
    tmp.write_all(bytes).map_err(io("write"))?;
    tmp.as_file().sync_all().map_err(io("write"))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io("write")(e.error)),
    }
}

/// Run `gen init`: create `dir` if needed, write the starter catalog, and
/// the catalog schema unless a file of that name exists.
pub fn init(dir: &Path) -> Result<InitOutcome, InitError> {
    let catalog = dir.join(CATALOG_FILE);
    let schema = dir.join(SCHEMA_FILE);
    if catalog.symlink_metadata().is_ok() {
        return Err(InitError::Exists(catalog));
    }
    std::fs::create_dir_all(dir).map_err(|source| InitError::Io {
        action: "create the directory",
        path: dir.to_path_buf(),
        source,
    })?;
    if !write_new(&catalog, STARTER.as_bytes())? {
        return Err(InitError::Exists(catalog));
    }
    let schema_written = write_new(&schema, crate::catalog::schema::schema_text().as_bytes())?;
    Ok(InitOutcome {
        catalog,
        schema,
        schema_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_compiles() {
        crate::compile(CATALOG_FILE, STARTER.as_bytes()).expect("the starter catalog compiles");
    }

    #[test]
    fn init_refuses_an_existing_catalog_and_keeps_a_schema() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("new/project");
        let first = init(&dir).unwrap();
        assert!(first.schema_written);
        assert_eq!(std::fs::read_to_string(&first.catalog).unwrap(), STARTER);
        std::fs::write(&first.schema, "{}").unwrap();
        assert!(matches!(init(&dir), Err(InitError::Exists(p)) if p == first.catalog));
        std::fs::remove_file(&first.catalog).unwrap();
        let second = init(&dir).unwrap();
        assert!(!second.schema_written);
        assert_eq!(std::fs::read_to_string(&second.schema).unwrap(), "{}");
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
