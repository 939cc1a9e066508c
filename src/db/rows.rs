//! How the models look up one row, written once: `query.first_row(conn)` selects the columns of
//! the model its caller's signature names (a diesel `Selectable` struct), takes the first row
//! and answers `None` when there is none. A lookup then says only its table and conditions.

use crate::db::{DbConnection, MultiBackend};
use diesel::dsl::{AsSelect, Limit, Select};
use diesel::query_dsl::LoadQuery;
use diesel::query_dsl::methods::{LimitDsl, SelectDsl};
use diesel::{
    Expression, OptionalExtension, QueryResult, RunQueryDsl, Selectable, SelectableHelper,
};

/// `query.first_row(conn)`: the first row the query finds, as the model `R`, or `None`.
pub trait FirstRow: Sized {
    fn first_row<'q, R>(self, conn: &mut DbConnection) -> QueryResult<Option<R>>
    where
        R: Selectable<MultiBackend>,
        AsSelect<R, MultiBackend>: Expression,
        Self: SelectDsl<AsSelect<R, MultiBackend>>,
        Select<Self, AsSelect<R, MultiBackend>>: LimitDsl,
        Limit<Select<Self, AsSelect<R, MultiBackend>>>:
            LoadQuery<'q, DbConnection, R> + RunQueryDsl<DbConnection>,
    {
        self.select(R::as_select())
            .limit(1)
            .get_result(conn)
            .optional()
    }
}

impl<Q> FirstRow for Q {}
