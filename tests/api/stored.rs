//! Everything a test's database keeps, as bytes: what a test searches to prove that a password
//! or a secret is not stored as it was typed, on either backend.

use diesel::prelude::*;
use diesel::sql_types::{Binary, Text};

use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = Binary)]
    bytes: Vec<u8>,
}

impl TestApp {
    /// On SQLite the database file, its WAL and shared memory as they are, then again after a
    /// checkpoint folded the WAL into the file. On PostgreSQL every row of every table in
    /// `public` as text, one line a row, then the raw bytes of every BYTEA value.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match &self.pg {
            Some(_) => self.pg_dump(),
            None => {
                let mut bytes = self.sqlite_files();
                self.execute("PRAGMA wal_checkpoint(FULL)");
                bytes.extend(self.sqlite_files());
                bytes
            }
        }
    }

    fn sqlite_files(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(&self.db_path).expect("the database file");
        for suffix in ["-wal", "-shm"] {
            let mut path = self.db_path.as_os_str().to_owned();
            path.push(suffix);
            bytes.extend(std::fs::read(path).unwrap_or_default());
        }
        bytes
    }

    fn pg_dump(&self) -> Vec<u8> {
        let mut conn = PgConnection::establish(&self.db_url).expect("the database answers");
        let tables = diesel::sql_query(
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
        .load::<Name>(&mut conn)
        .expect("the tables");
        assert!(!tables.is_empty(), "the database has tables");
        let mut dump = Vec::new();
        for table in tables.iter().map(|t| &t.name) {
            let columns = diesel::sql_query(format!(
                "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS data_type \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND table_name = '{table}' ORDER BY ordinal_position"
            ))
            .load::<Column>(&mut conn)
            .expect("the columns");
            let values: Vec<String> = columns
                .iter()
                .map(|c| format!("coalesce(CAST(\"{}\" AS TEXT), 'NULL')", c.name))
                .collect();
            let rows = diesel::sql_query(format!(
                "SELECT concat_ws(' | ', {}) AS line FROM \"{table}\"",
                values.join(", ")
            ))
            .load::<Line>(&mut conn)
            .expect("the rows");
            for row in rows {
                dump.extend(format!("{table}: {}\n", row.line).into_bytes());
            }
            for column in columns.iter().filter(|c| c.data_type == "bytea") {
                let values = diesel::sql_query(format!(
                    "SELECT \"{0}\" AS bytes FROM \"{table}\" WHERE \"{0}\" IS NOT NULL",
                    column.name
                ))
                .load::<Bytes>(&mut conn)
                .expect("the binary values");
                for value in values {
                    dump.extend(value.bytes);
                }
            }
        }
        dump
    }
}

impl TestApp {
    /// One binary value (`SELECT x AS bytes ...`).
    pub fn blob(&self, sql: &str) -> Vec<u8> {
        diesel::sql_query(sql)
            .get_result::<Bytes>(&mut self.db())
            .expect("a binary value")
            .bytes
    }

    /// These bytes as an SQL literal of this backend (for a row no page can write).
    pub fn blob_literal(&self, bytes: &[u8]) -> String {
        match &self.pg {
            Some(_) => format!("'\\x{}'::bytea", hex::encode(bytes)),
            None => format!("X'{}'", hex::encode(bytes)),
        }
    }
}
