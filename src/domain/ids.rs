//! Id newtypes: an application's id is an `ApplicationId`, an API's an `ApiId`, and so on, so a
//! function that takes one cannot be handed another. Each is stored as a BIGINT, read from a
//! route's path segment, and shown as its number.

/// Declares an id type stored as a BIGINT column.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                value.parse().map($name)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>>::to_sql(&self.0, out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                i64::from_sql(bytes).map($name)
            }
        }
    };
}

id_type!(
    /// An application (`applications.id`).
    ApplicationId
);
id_type!(
    /// An API of the catalog (`apis.id`).
    ApiId
);
id_type!(
    /// A person's account (`users.id`).
    UserId
);
id_type!(
    /// A key manager (`key_managers.id`).
    KeyManagerId
);
id_type!(
    /// An organisation (`organisations.id`).
    OrganisationId
);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: ApplicationId,
    }

    #[test]
    fn an_id_goes_to_the_database_and_back_as_its_number() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        let row: Row = diesel::sql_query("SELECT ? + 1 AS id")
            .bind::<BigInt, _>(ApplicationId(41))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(row.id, ApplicationId(42));
        assert_eq!(row.id.to_string(), "42");
        assert_eq!("7".parse::<ApiId>(), Ok(ApiId(7)));
        assert!("seven".parse::<UserId>().is_err());
        let json = serde_json::to_string(&KeyManagerId(3)).unwrap();
        assert_eq!(json, "3");
    }
}
