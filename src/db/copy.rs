//! Moving an installation. `migrate_to_postgres` copies a SQLite installation into an empty
//! PostgreSQL database (`portico migrate-database`); `backup` writes a consistent copy of a
//! SQLite file while Portico serves (`portico backup`).
//!
//! The copy is generic: the tables and columns are read from both databases (SQLite's
//! `pragma_table_info`, PostgreSQL's information_schema), and a table one side has and the
//! other lacks stops it, so no table is forgotten. Rows leave SQLite as JSON objects
//! (`json_object`, blobs as `\x…` hex) streamed row by row, and enter PostgreSQL a batch at a time
//! through `json_populate_recordset`, which gives each value the PostgreSQL column's type by
//! that type's own input rules: 0/1 become booleans, `\x…` becomes the same bytes.

use std::path::Path;

use diesel::connection::{DefaultLoadingMode, SimpleConnection};
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::Database;

mod backup;
pub use backup::backup;

/// Why a copy or a backup was refused or failed, said to the person running the command.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CopyError(pub String);

impl From<diesel::result::Error> for CopyError {
    fn from(e: diesel::result::Error) -> Self {
        CopyError(format!("database error: {e}"))
    }
}

fn refuse<T>(message: impl Into<String>) -> Result<T, CopyError> {
    Err(CopyError(message.into()))
}

/// The rows of one table in the source and in the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub table: String,
    pub source: i64,
    pub target: i64,
}

/// A table to copy: its columns (in PostgreSQL's order) and its identity column, if any.
struct Table {
    name: String,
    columns: Vec<Column>,
    identity: Option<String>,
}

struct Column {
    name: String,
    bytea: bool,
}

/// diesel's own bookkeeping: each database keeps its own list of applied migrations.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// The rows the PostgreSQL baseline seeds (the default throttling policies and the resident key
/// manager): the source's own rows replace them.
const SEEDED: &[(&str, &str)] = &[
    ("throttling_policies", "id BETWEEN 1 AND 8"),
    ("key_managers", "id = 1 AND kind = 'resident'"),
];

/// Rows per INSERT, and the JSON text size at which a batch goes out earlier (large documents).
const BATCH_ROWS: usize = 1000;
const BATCH_BYTES: usize = 8 << 20;

/// Copies the SQLite installation `database` into the empty PostgreSQL database `target`:
/// migrations there first, then every table in one PostgreSQL transaction that also checks the
/// database is empty, replaces the seeded rows, moves the identity counters past the copied ids
/// and compares the row counts. The source is read in one snapshot and never written (`query_only`).
pub fn migrate_to_postgres(database: &Database, target: &str) -> Result<Vec<Counted>, CopyError> {
    let Database::Sqlite(path) = database else {
        return refuse(
            "migrate-database copies a SQLite installation, and PORTICO_DATABASE_URL \
             (database_url) names a PostgreSQL database: set it to the SQLite file to copy",
        );
    };
    if !(target.starts_with("postgres://") || target.starts_with("postgresql://")) {
        return refuse("--to must be a PostgreSQL URL (postgres://user@host/database)");
    }
    let mut src = open_existing(path)?;
    src.batch_execute("PRAGMA query_only = ON")?;
    check_source_migrated(&mut src)?;
    super::postgres::migrate(target).map_err(|e| CopyError(format!("PostgreSQL: {e}")))?;
    let mut dst = PgConnection::establish(target)
        .map_err(|e| CopyError(format!("cannot connect to PostgreSQL: {e}")))?;
    let tables = plan(&mut src, &mut dst)?;
    src.transaction(|src| dst.transaction(|dst| copy_all(src, dst, &tables)))
}

/// Opens an existing SQLite file (never creates one).
fn open_existing(path: &Path) -> Result<SqliteConnection, CopyError> {
    if !path.is_file() {
        return refuse(format!(
            "the SQLite database {} does not exist",
            path.display()
        ));
    }
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| CopyError(format!("cannot open {}: {e}", path.display())))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000")?;
    Ok(conn)
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Refuses a SQLite file this Portico has not migrated to its latest schema: the PostgreSQL
/// schema is that one, and what a pending migration would change would be lost.
fn check_source_migrated(src: &mut SqliteConnection) -> Result<(), CopyError> {
    use diesel::migration::MigrationSource;
    let applied: Vec<String> =
        diesel::sql_query(format!("SELECT version AS name FROM {MIGRATIONS_TABLE}"))
            .load::<Name>(src)
            .map_err(|_| CopyError("the SQLite file is not a Portico database".into()))?
            .into_iter()
            .map(|n| n.name)
            .collect();
    let known = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&super::sqlite::MIGRATIONS)
        .map_err(|e| CopyError(e.to_string()))?;
    let pending: Vec<String> = known
        .iter()
        .map(|m| m.name().version().to_string())
        .filter(|v| !applied.contains(v))
        .collect();
    if !pending.is_empty() {
        return refuse(format!(
            "the SQLite database lacks migrations of this Portico ({}): start this Portico \
             on it once (it migrates at start), then copy it",
            pending.join(", ")
        ));
    }
    Ok(())
}

/// The tables of both databases, checked to be the same with the same columns, in an order
/// where each table comes after the tables its foreign keys name.
fn plan(src: &mut SqliteConnection, dst: &mut PgConnection) -> Result<Vec<Table>, CopyError> {
    let in_sqlite = sqlite_tables(src)?;
    let in_postgres = postgres_tables(dst)?;
    if in_sqlite != in_postgres {
        let only = |a: &[String], b: &[String]| -> String {
            let names: Vec<&str> = a
                .iter()
                .filter(|t| !b.contains(t))
                .map(String::as_str)
                .collect();
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        };
        return refuse(format!(
            "the two databases do not have the same tables (only in SQLite: {}; only in \
             PostgreSQL: {}): nothing was copied",
            only(&in_sqlite, &in_postgres),
            only(&in_postgres, &in_sqlite)
        ));
    }
    let mut tables = Vec::new();
    for name in foreign_key_order(dst, &in_postgres)? {
        tables.push(describe(src, dst, name)?);
    }
    Ok(tables)
}

fn sqlite_tables(src: &mut SqliteConnection) -> Result<Vec<String>, CopyError> {
    let names = diesel::sql_query(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
         ESCAPE '\\' AND name <> ? ORDER BY name",
    )
    .bind::<Text, _>(MIGRATIONS_TABLE)
    .load::<Name>(src)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

fn postgres_tables(dst: &mut PgConnection) -> Result<Vec<String>, CopyError> {
    let names = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> $1 ORDER BY table_name COLLATE \"C\"",
    )
    .bind::<Text, _>(MIGRATIONS_TABLE)
    .load::<Name>(dst)?;
    let mut names: Vec<String> = names.into_iter().map(|n| n.name).collect();
    // the same byte order as SQLite's, whatever the server's collation
    names.sort();
    Ok(names)
}

#[derive(QueryableByName)]
struct Edge {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

/// The tables, parents before children (Kahn's algorithm over PostgreSQL's foreign keys, ties
/// by name). Inserting in this order satisfies every foreign key as it is checked, so they stay
/// enforced: a dangling reference in the source stops the copy instead of being copied, which
/// deferring the checks (not possible: the constraints are NOT DEFERRABLE) or switching them
/// off (`session_replication_role = replica`, superuser only) would let through.
fn foreign_key_order<'a>(
    dst: &mut PgConnection,
    tables: &'a [String],
) -> Result<Vec<&'a String>, CopyError> {
    let edges = diesel::sql_query(
        "SELECT ch.relname::text AS child, pa.relname::text AS parent FROM pg_constraint c \
         JOIN pg_class ch ON ch.oid = c.conrelid JOIN pg_class pa ON pa.oid = c.confrelid \
         WHERE c.contype = 'f' AND ch.relnamespace = current_schema()::regnamespace \
         AND ch.relname <> pa.relname",
    )
    .load::<Edge>(dst)?;
    let mut ordered: Vec<&String> = Vec::with_capacity(tables.len());
    while ordered.len() < tables.len() {
        let ready = tables.iter().find(|t| {
            !ordered.contains(t)
                && edges
                    .iter()
                    .filter(|e| &e.child == *t)
                    .all(|e| ordered.iter().any(|o| **o == e.parent))
        });
        match ready {
            Some(table) => ordered.push(table),
            None => return refuse("the foreign keys of the PostgreSQL schema form a cycle"),
        }
    }
    Ok(ordered)
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    identity: bool,
}

/// A table's columns on both sides, refused when their names differ.
fn describe(
    src: &mut SqliteConnection,
    dst: &mut PgConnection,
    table: &str,
) -> Result<Table, CopyError> {
    let columns = diesel::sql_query(
        "SELECT column_name::text AS name, data_type::text AS data_type, \
         is_identity = 'YES' AS identity FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind::<Text, _>(table)
    .load::<PgColumn>(dst)?;
    let mut in_sqlite: Vec<String> =
        diesel::sql_query("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind::<Text, _>(table)
            .load::<Name>(src)?
            .into_iter()
            .map(|n| n.name)
            .collect();
    let mut in_postgres: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    in_sqlite.sort();
    in_postgres.sort();
    if in_sqlite != in_postgres {
        return refuse(format!(
            "the table {table} has other columns in SQLite ({}) than in PostgreSQL ({}): \
             nothing was copied",
            in_sqlite.join(", "),
            in_postgres.join(", ")
        ));
    }
    Ok(Table {
        name: table.to_string(),
        identity: columns.iter().find(|c| c.identity).map(|c| c.name.clone()),
        columns: columns
            .into_iter()
            .map(|c| Column {
                bytea: c.data_type == "bytea",
                name: c.name,
            })
            .collect(),
    })
}

/// The work of the one PostgreSQL transaction (and the one SQLite read snapshot).
fn copy_all(
    src: &mut SqliteConnection,
    dst: &mut PgConnection,
    tables: &[Table],
) -> Result<Vec<Counted>, CopyError> {
    claim_empty(dst, tables)?;
    for table in tables {
        let copied = copy_table(src, dst, table)?;
        tracing::info!(table = %table.name, rows = copied, "copied");
    }
    advance_identities(src, dst, tables)?;
    let counts = count_rows(src, dst, tables)?;
    if let Some(c) = counts.iter().find(|c| c.source != c.target) {
        return refuse(format!(
            "the table {} has {} rows in SQLite but {} in PostgreSQL: nothing was copied",
            c.table, c.source, c.target
        ));
    }
    Ok(counts)
}

/// Locks every table against other writers (an instance started on the database meanwhile),
/// refuses a database holding anything but the seeded rows, and deletes those.
fn claim_empty(dst: &mut PgConnection, tables: &[Table]) -> Result<(), CopyError> {
    let names: Vec<String> = tables.iter().map(|t| ident(&t.name)).collect();
    dst.batch_execute(&format!(
        "SET LOCAL lock_timeout = '10s'; LOCK TABLE {} IN EXCLUSIVE MODE",
        names.join(", ")
    ))?;
    let mut held = Vec::new();
    for table in tables {
        let seeded = SEEDED.iter().find(|(t, _)| *t == table.name);
        let condition = seeded.map_or("TRUE".to_string(), |(_, c)| format!("NOT ({c})"));
        let n = count(
            dst,
            &format!(
                "SELECT count(*) AS n FROM {} WHERE {condition}",
                ident(&table.name)
            ),
        )?;
        if n > 0 {
            held.push(format!("{}: {n}", table.name));
        }
    }
    if !held.is_empty() {
        return refuse(format!(
            "the PostgreSQL database already holds Portico data (rows in {}): \
             migrate-database copies into an empty database only; nothing was changed",
            held.join(", ")
        ));
    }
    for (table, condition) in SEEDED {
        diesel::sql_query(format!("DELETE FROM {} WHERE {condition}", ident(table)))
            .execute(dst)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Streams one table's rows from SQLite (row by row, never the whole table in memory) into
/// PostgreSQL in batches; the number of rows copied.
fn copy_table(
    src: &mut SqliteConnection,
    dst: &mut PgConnection,
    table: &Table,
) -> Result<usize, CopyError> {
    let pairs: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let value = if c.bytea {
                let column = ident(&c.name);
                format!("CASE WHEN {column} IS NULL THEN NULL ELSE '\\x' || hex({column}) END")
            } else {
                ident(&c.name)
            };
            format!("{}, {value}", literal(&c.name))
        })
        .collect();
    let select = format!(
        "SELECT json_object({}) AS row FROM {}",
        pairs.join(", "),
        ident(&table.name)
    );
    let mut batch = Batch::new(table);
    for row in diesel::sql_query(select).load_iter::<JsonRow, DefaultLoadingMode>(src)? {
        batch.push(&row?.row);
        if batch.rows >= BATCH_ROWS || batch.json.len() >= BATCH_BYTES {
            batch.flush(dst)?;
        }
    }
    batch.flush(dst)?;
    Ok(batch.copied)
}

/// Rows gathered as a JSON array, inserted with one statement.
struct Batch {
    insert: String,
    json: String,
    rows: usize,
    copied: usize,
}

impl Batch {
    fn new(table: &Table) -> Batch {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        let columns = columns.join(", ");
        let name = ident(&table.name);
        Batch {
            insert: format!(
                "INSERT INTO {name} ({columns}) SELECT {columns} \
                 FROM json_populate_recordset(NULL::{name}, $1::json)"
            ),
            json: String::new(),
            rows: 0,
            copied: 0,
        }
    }

    fn push(&mut self, row: &str) {
        self.json.push(if self.rows == 0 { '[' } else { ',' });
        self.json.push_str(row);
        self.rows += 1;
    }

    fn flush(&mut self, dst: &mut PgConnection) -> Result<(), CopyError> {
        if self.rows == 0 {
            return Ok(());
        }
        self.json.push(']');
        let inserted = diesel::sql_query(&self.insert)
            .bind::<Text, _>(&self.json)
            .execute(dst)?;
        if inserted != self.rows {
            return refuse(format!("{inserted} rows of {} went in", self.rows));
        }
        self.copied += self.rows;
        self.rows = 0;
        self.json.clear();
        Ok(())
    }
}

/// Sets each identity counter past the highest copied id and past the highest id SQLite ever
/// handed out (`sqlite_sequence`, which remembers deleted ones: ids are never reused).
fn advance_identities(
    src: &mut SqliteConnection,
    dst: &mut PgConnection,
    tables: &[Table],
) -> Result<(), CopyError> {
    let has_sequence = count(
        src,
        "SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_sequence'",
    )? > 0;
    for table in tables {
        let Some(column) = &table.identity else {
            continue;
        };
        let copied = count(
            dst,
            &format!(
                "SELECT coalesce(max({}), 0) AS n FROM {}",
                ident(column),
                ident(&table.name)
            ),
        )?;
        let handed_out = if has_sequence {
            diesel::sql_query(
                "SELECT coalesce(max(seq), 0) AS n FROM sqlite_sequence WHERE name = ?",
            )
            .bind::<Text, _>(&table.name)
            .get_result::<Number>(src)?
            .n
        } else {
            0
        };
        let last = copied.max(handed_out);
        // setval(…, 1, false): nothing handed out yet, the next id is 1
        diesel::sql_query("SELECT setval(pg_get_serial_sequence($1, $2), $3, $4) AS n")
            .bind::<Text, _>(ident(&table.name))
            .bind::<Text, _>(column)
            .bind::<BigInt, _>(last.max(1))
            .bind::<Bool, _>(last >= 1)
            .execute(dst)?;
    }
    Ok(())
}

fn count_rows(
    src: &mut SqliteConnection,
    dst: &mut PgConnection,
    tables: &[Table],
) -> Result<Vec<Counted>, CopyError> {
    tables
        .iter()
        .map(|table| {
            let sql = format!("SELECT count(*) AS n FROM {}", ident(&table.name));
            Ok(Counted {
                table: table.name.clone(),
                source: count(src, &sql)?,
                target: count(dst, &sql)?,
            })
        })
        .collect()
}

/// One number (`… AS n`) from either database.
fn count<C>(conn: &mut C, sql: &str) -> Result<i64, CopyError>
where
    C: Connection,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Number>,
{
    Ok(diesel::sql_query(sql).get_result::<Number>(conn)?.n)
}

/// An identifier quoted for SQL (both backends quote with double quotes).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal for SQL.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The counts as a table for the terminal, with the totals.
pub fn render_counts(counts: &[Counted]) -> String {
    let width = counts
        .iter()
        .map(|c| c.table.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:>10}  {:>10}\n",
        "table", "SQLite", "PostgreSQL"
    );
    for c in counts {
        out.push_str(&format!(
            "{:<width$}  {:>10}  {:>10}\n",
            c.table, c.source, c.target
        ));
    }
    let total = |f: fn(&Counted) -> i64| counts.iter().map(f).sum::<i64>();
    out.push_str(&format!(
        "{:<width$}  {:>10}  {:>10}\n",
        "total",
        total(|c| c.source),
        total(|c| c.target)
    ));
    out
}
