//! How the models look up one row, written once: `query.first_row(conn)` selects the columns of
//! the model its caller's signature names (a diesel `Selectable` struct), takes the first row
//! and answers `None` when there is none. A lookup then says only its table and conditions.

use diesel::dsl::{AsSelect, Limit, Select};
use diesel::query_dsl::LoadQuery;
use diesel::query_dsl::methods::{LimitDsl, SelectDsl};
use diesel::sqlite::Sqlite;
use diesel::{
    Expression, OptionalExtension, QueryResult, RunQueryDsl, Selectable, SelectableHelper,
    SqliteConnection,
};

/// `query.first_row(conn)`: the first row the query finds, as the model `R`, or `None`.
pub trait FirstRow: Sized {
    fn first_row<'q, R>(self, conn: &mut SqliteConnection) -> QueryResult<Option<R>>
    where
        R: Selectable<Sqlite>,
        AsSelect<R, Sqlite>: Expression,
        Self: SelectDsl<AsSelect<R, Sqlite>>,
        Select<Self, AsSelect<R, Sqlite>>: LimitDsl,
        Limit<Select<Self, AsSelect<R, Sqlite>>>:
            LoadQuery<'q, SqliteConnection, R> + RunQueryDsl<SqliteConnection>,
    {
        self.select(R::as_select())
            .limit(1)
            .get_result(conn)
            .optional()
    }
}

impl<Q> FirstRow for Q {}
