//! The one table of K3s installer hashes: the SHA-256 of `install.sh` as
//! tagged in k3s-io/k3s for each K3s release gen pins. The install scripts
//! carry the hash of their release (`INSTALLER_SHA256`) and run a
//! downloaded or air-gapped installer only when it matches, or when the
//! operator supplies the hash (`K3S_INSTALLER_SHA256`); a release missing
//! here has no hash in its scripts, so they refuse to install until one is
//! given.
//!
//! How to add or update a release (never copy a hash from anywhere else):
//!
//! ```sh
//! git clone --filter=blob:none https://github.com/k3s-io/k3s && cd k3s
//! git show 'v1.33.5+k3s1:install.sh' | sha256sum
//! ```
//!
//! then add `("v1.33.5+k3s1", "<the 64 hex digits>")` below, keeping the
//! table sorted by version, and re-bless the golden trees
//! (`GEN_BLESS=1 cargo test --test golden`). `tests/k3s.rs` checks the
//! table's form and that a pinned hash reaches the scripts.
//!
//! PENDING: the hash of `install.sh` at v1.33.5+k3s1 (the release the
//! examples use) could not be computed where this table was introduced
//! (no k3s-io/k3s clone was available); until it is added, scripts for
//! that release need `K3S_INSTALLER_SHA256` at run time.

/// (K3s release, SHA-256 of its `install.sh`), sorted by release.
pub const INSTALLER_SHA256: &[(&str, &str)] = &[];

/// The pinned installer hash of a K3s release, if gen has one.
pub fn installer_sha256(version: &str) -> Option<&'static str> {
    INSTALLER_SHA256
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, h)| *h)
}
