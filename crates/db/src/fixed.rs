//! Hand-written statements that each connection prepares once.
//!
//! diesel-async keeps a prepared statement per connection only for queries whose text diesel can
//! prove never changes. It cannot for `sql_query` (any text), for every `UPDATE` (a changeset's
//! shape may vary) nor for `ON CONFLICT DO UPDATE`: those are parsed and planned by PostgreSQL on
//! every execution, and cost a second round trip. A [`Fixed`] statement has a `'static` text and a
//! fixed list of binds, so its text (with the bind types) is its cache key: parsed and planned once
//! per connection, then only bound and executed.
//!
//! The text numbers its parameters `$1`, `$2`, … in the order of the [`Fixed::bind`] calls, each
//! once (a statement that needs a value twice selects its parameters once, e.g. in a
//! `WITH p AS (SELECT $1::uuid AS store_id, …)`); anything else is refused before it is sent.

use diesel::{
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    result::{Error, QueryResult},
    serialize::ToSql,
    sql_types::{HasSqlType, Untyped},
};

/// A statement with a fixed text; load its rows into a `QueryableByName` type, or execute it.
pub struct Fixed {
    sql: &'static str,
    binds: Vec<Box<dyn QueryFragment<Pg> + Send + Sync>>,
}

/// Starts a statement (see the module docs for how its parameters are numbered).
pub fn fixed(sql: &'static str) -> Fixed {
    Fixed {
        sql,
        binds: Vec::new(),
    }
}

impl Fixed {
    /// Binds the next parameter as SQL type `ST`.
    pub fn bind<ST, T>(mut self, value: T) -> Self
    where
        Pg: HasSqlType<ST>,
        T: ToSql<ST, Pg> + Send + Sync + 'static,
        ST: Send + Sync + 'static,
    {
        self.binds.push(Box::new(Bound {
            value,
            sql_type: std::marker::PhantomData::<ST>,
        }));
        self
    }

    /// The text split at its parameters: `binds + 1` pieces, or an error naming what is wrong. Runs
    /// on every execution (diesel walks a query a few times): the search jumps from `$` to `$`
    /// (`memchr`) rather than looking at every byte of a long text.
    fn pieces(&self) -> Result<Vec<&'static str>, String> {
        let sql = self.sql;
        let mut pieces = Vec::with_capacity(self.binds.len() + 1);
        let (mut start, mut next) = (0, 1usize);
        for (i, _) in sql.match_indices('$') {
            let digits = sql[i + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(sql.len() - i - 1);
            if digits == 0 {
                continue;
            }
            let end = i + 1 + digits;
            let n: usize = sql[i + 1..end].parse().map_err(|_| "bad parameter")?;
            if n != next {
                return Err(format!("parameter ${n} where ${next} was expected"));
            }
            pieces.push(&sql[start..i]);
            next += 1;
            start = end;
        }
        pieces.push(&sql[start..]);
        if next - 1 != self.binds.len() {
            return Err(format!(
                "{} parameters in the text, {} bound",
                next - 1,
                self.binds.len()
            ));
        }
        Ok(pieces)
    }
}

struct Bound<ST, T> {
    value: T,
    sql_type: std::marker::PhantomData<ST>,
}

impl<ST, T> QueryFragment<Pg> for Bound<ST, T>
where
    Pg: HasSqlType<ST>,
    T: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, T>(&self.value)
    }
}

impl QueryFragment<Pg> for Fixed {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let pieces = self
            .pieces()
            .map_err(|e| Error::QueryBuilderError(format!("fixed statement: {e}").into()))?;
        let mut binds = self.binds.iter();
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0
                && let Some(bind) = binds.next()
            {
                bind.walk_ast(out.reborrow())?;
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl QueryId for Fixed {
    type QueryId = ();
    // The text, not a type, tells statements apart (and is the statement cache's key).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Fixed {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use diesel::{
        debug_query,
        sql_types::{BigInt, Text},
    };

    use super::*;

    #[test]
    fn parameters_are_numbered_in_bind_order() {
        let q = fixed("SELECT $1::bigint AS a, $2::text AS b, '$x' AS c")
            .bind::<BigInt, _>(7_i64)
            .bind::<Text, _>("seven".to_owned());
        let shown = debug_query::<Pg, _>(&q).to_string();
        assert!(
            shown.starts_with("SELECT $1::bigint AS a, $2::text AS b, '$x' AS c"),
            "{shown}"
        );
        assert!(shown.contains("[7, \"seven\"]"), "{shown}");
    }

    #[test]
    fn a_text_that_does_not_match_its_binds_is_refused() {
        let render = |q: Fixed| {
            let mut sql = String::new();
            let mut builder = diesel::pg::PgQueryBuilder::default();
            let ok = QueryFragment::<Pg>::to_sql(&q, &mut builder, &Pg).is_ok();
            sql.push_str(&diesel::query_builder::QueryBuilder::<Pg>::finish(builder));
            ok
        };
        assert!(!render(
            fixed("SELECT $2, $1")
                .bind::<BigInt, _>(1_i64)
                .bind::<BigInt, _>(2_i64)
        ));
        assert!(!render(
            fixed("SELECT $1")
                .bind::<BigInt, _>(1_i64)
                .bind::<BigInt, _>(2_i64)
        ));
        assert!(!render(fixed("SELECT $1, $2").bind::<BigInt, _>(1_i64)));
        assert!(render(
            fixed("SELECT $1, $2")
                .bind::<BigInt, _>(1_i64)
                .bind::<BigInt, _>(2_i64)
        ));
    }

    #[test]
    fn it_may_be_cached_as_prepared() {
        let q = fixed("SELECT $1::bigint").bind::<BigInt, _>(1_i64);
        assert_eq!(q.is_safe_to_cache_prepared(&Pg).ok(), Some(true));
    }
}
