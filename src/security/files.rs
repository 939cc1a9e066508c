//! Files that hold password hashes, e-mail addresses and secrets (the SQLite database with its
//! WAL, shared-memory and journal files, and the secret key file) are readable and writable by
//! their owner only, whatever the umask, and files a looser umask left behind are tightened at
//! start.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The database file and the files SQLite keeps next to it.
fn database_files(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    ["", "-wal", "-shm", "-journal"]
        .into_iter()
        .map(move |suffix| {
            let mut name: OsString = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
}

/// Makes the database file 0600 before SQLite opens it (creating it when it does not exist)
/// and tightens the WAL, shared-memory and journal files that exist. SQLite creates the WAL and
/// shared-memory files with the database file's mode, so new ones are 0600 too.
pub fn protect_database(path: &Path) -> io::Result<()> {
    create_private(path)?;
    database_files(path).try_for_each(|file| restrict_to_owner(&file))
}

#[cfg(unix)]
fn create_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // The mode applies only when the file is created; an existing file is left as it is.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Takes every permission of group and others away from a file, when it exists.
#[cfg(unix)]
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(metadata) => metadata.permissions().mode(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
}

#[cfg(not(unix))]
pub fn restrict_to_owner(_path: &Path) -> io::Result<()> {
    Ok(())
}
