//! `portico backup`: a consistent copy of the SQLite database, taken while Portico serves.

use std::path::Path;

use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::{CopyError, open_existing, refuse};
use crate::db::Database;

/// Writes a consistent copy of the SQLite database to `to`, a new file (mode 0600, as the
/// database), while Portico may be serving: `VACUUM INTO` reads one snapshot, and in WAL mode
/// Portico's writers go on meanwhile. The copy is checked (`PRAGMA quick_check`) before it is
/// reported written; a failed copy leaves no file behind.
pub fn backup(database: &Database, to: &Path) -> Result<(), CopyError> {
    let Database::Sqlite(path) = database else {
        return refuse(
            "backup copies a SQLite database; on PostgreSQL use pg_dump, which takes a \
             consistent snapshot while Portico serves (pg_dump --format=custom \
             --file=FILE \"$PORTICO_DATABASE_URL\"), and restore it with pg_restore",
        );
    };
    let Some(target) = to.to_str() else {
        return refuse(format!("{} is not a UTF-8 path", to.display()));
    };
    let mut src = open_existing(path)?;
    create_new_private(to)?;
    let copied = vacuum_into(&mut src, target).and_then(|()| copy_key_file(path, to));
    if copied.is_err() {
        let _ = std::fs::remove_file(to);
    }
    copied
}

/// The secret key file beside the database (`<database>.key`, when the key is not given by
/// PORTICO_SECRET_KEY) goes with the copy as `<copy>.key`: without it the sealed secrets in
/// the copy cannot be opened.
fn copy_key_file(database: &Path, to: &Path) -> Result<(), CopyError> {
    let key = crate::config::secret_key_path(database);
    if !key.exists() {
        return Ok(());
    }
    let target = crate::config::secret_key_path(to);
    create_new_private(&target)?;
    std::fs::copy(&key, &target).map(|_| ()).or_else(|e| {
        let _ = std::fs::remove_file(&target);
        refuse(format!(
            "cannot copy {} to {}: {e}",
            key.display(),
            target.display()
        ))
    })
}

/// Creates the empty file the copy goes into, refusing one that exists: `create_new` makes the
/// check and the creation one step, and the mode applies from the start.
fn create_new_private(to: &Path) -> Result<(), CopyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(to) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => refuse(format!(
            "{} exists: backup writes a new file only",
            to.display()
        )),
        Err(e) => refuse(format!("cannot create {}: {e}", to.display())),
    }
}

/// `VACUUM INTO` with the file name as a bound value (no quoting to get wrong), then a check of
/// the copy. SQLite accepts the empty file `create_new_private` made.
fn vacuum_into(src: &mut SqliteConnection, target: &str) -> Result<(), CopyError> {
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(src)
        .map_err(|e| CopyError(format!("cannot copy the database: {e}")))?;
    crate::security::files::protect_database(Path::new(target))
        .map_err(|e| CopyError(format!("cannot make {target} private: {e}")))?;
    let mut copy = SqliteConnection::establish(target)
        .map_err(|e| CopyError(format!("cannot open the copy: {e}")))?;
    let verdict = diesel::sql_query("PRAGMA quick_check")
        .get_result::<QuickCheck>(&mut copy)?
        .quick_check;
    if verdict != "ok" {
        return refuse(format!("the copy fails its check: {verdict}"));
    }
    Ok(())
}

#[derive(QueryableByName)]
struct QuickCheck {
    #[diesel(sql_type = Text)]
    quick_check: String,
}
