use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::*;

fn fence(sql: &str) -> bool {
    let mut parser = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .unwrap();
    needed(&parser.parse_query().unwrap())
}

#[test]
fn plain_comparisons_keep_the_flat_form() {
    for sql in [
        "SELECT order_id FROM orders WHERE order_id = 5",
        "SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE o.status IN ('paid', 'shipped') AND NOT o.amount IS NULL",
        "SELECT region_code, count(*) FROM orders WHERE created_at BETWEEN '2024-01-01' AND '2024-02-01' GROUP BY region_code",
    ] {
        assert!(!fence(sql), "{sql}");
    }
}

#[test]
fn anything_that_computes_gets_the_fence() {
    for sql in [
        "SELECT order_id FROM orders WHERE 1 / (amount - 5) > 0",
        "SELECT order_id FROM orders WHERE lower(status) = 'x'",
        "SELECT order_id FROM orders WHERE amount::int = 1",
        "SELECT order_id FROM orders o JOIN customers c ON o.customer_id + 0 = c.customer_id",
        "SELECT y FROM (SELECT 1 / (amount - 5) AS y FROM orders) s WHERE y > 0",
        "WITH s AS (SELECT amount FROM orders) SELECT amount FROM s WHERE amount > 0",
        "SELECT order_id FROM orders WHERE order_id IN (SELECT order_id FROM orders)",
        "SELECT order_id FROM orders GROUP BY order_id HAVING sum(amount) > 0",
        "SELECT order_id FROM orders WHERE status LIKE 'p%'",
    ] {
        assert!(fence(sql), "{sql}");
    }
}
