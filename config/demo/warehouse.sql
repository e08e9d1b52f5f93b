-- sqlwarden demo: a small, deterministic sales warehouse.
--
-- Loaded by `sqlwarden demo` into an empty database. Every row comes from
-- generate_series and arithmetic on the row number (no random()), so the
-- data is the same on every machine and this file stays small.
-- The demo connection logs in as sqlwarden_demo_ro, a LOGIN role that can
-- SELECT the four tables the demo policy allows and nothing else: SQL that
-- reaches the server could undo a SET ROLE, so only the login's own
-- privileges hold if the gate ever lets something through.

CREATE TABLE regions (
    region_code text PRIMARY KEY,
    name        text NOT NULL,
    country     text NOT NULL
);
COMMENT ON TABLE regions IS 'Sales regions';

CREATE TABLE customers (
    customer_id integer PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    phone       text NOT NULL,
    address     text NOT NULL,
    region_code text NOT NULL REFERENCES regions,
    segment     text NOT NULL,
    created_at  timestamptz NOT NULL
);
COMMENT ON COLUMN customers.segment IS 'consumer, smb or enterprise';

CREATE TABLE products (
    product_id integer PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    name       text NOT NULL,
    category   text NOT NULL,
    unit_price numeric(10, 2) NOT NULL
);

CREATE TABLE orders (
    order_id    integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers,
    product_id  integer NOT NULL REFERENCES products,
    region_code text NOT NULL REFERENCES regions,
    quantity    integer NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL
);
COMMENT ON COLUMN orders.amount IS 'Order total in CNY, tax included';
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_created_idx ON orders (created_at);

-- Not in the demo policy: salaries stay out of reach of the agent.
CREATE TABLE employees (
    employee_id integer PRIMARY KEY,
    name        text NOT NULL,
    salary      numeric(12, 2) NOT NULL
);

INSERT INTO regions (region_code, name, country) VALUES
    ('EAST', 'East China', 'CN'),
    ('NORTH', 'North China', 'CN'),
    ('SOUTH', 'South China', 'CN'),
    ('WEST', 'West China', 'CN'),
    ('CENTRAL', 'Central China', 'CN');

INSERT INTO customers
SELECT n,
       'Customer ' || lpad(n::text, 4, '0'),
       'customer' || n || '@example.com',
       '+86-138-' || lpad(((n * 7919) % 10000)::text, 4, '0') || '-' || lpad(((n * 104729) % 10000)::text, 4, '0'),
       (n % 97 + 1) || ' ' || (ARRAY['Nanjing Rd', 'Huaihai Rd', 'Chang''an Ave', 'Tianhe Rd', 'Jiefang Rd'])[n % 5 + 1],
       (ARRAY['EAST', 'NORTH', 'SOUTH', 'WEST', 'CENTRAL'])[n % 5 + 1],
       (ARRAY['consumer', 'smb', 'enterprise'])[n % 3 + 1],
       timestamptz '2024-01-01 00:00:00+00' + (n * interval '17 hours')
FROM generate_series(1, 500) AS n;

INSERT INTO products
SELECT n,
       'SKU-' || lpad(n::text, 4, '0'),
       (ARRAY['Tea', 'Coffee', 'Rice', 'Noodles', 'Snacks'])[n % 5 + 1] || ' #' || n,
       (ARRAY['beverage', 'beverage', 'staple', 'staple', 'snack'])[n % 5 + 1],
       round((5 + (n * 37) % 200 + (n % 100) / 100.0)::numeric, 2)
FROM generate_series(1, 50) AS n;

INSERT INTO orders
SELECT o.n,
       o.customer_id,
       o.product_id,
       c.region_code,
       o.quantity,
       o.quantity * p.unit_price,
       (ARRAY['paid', 'paid', 'paid', 'shipped', 'shipped', 'refunded', 'cancelled'])[o.n % 7 + 1],
       timestamptz '2024-03-01 00:00:00+00' + (o.n * interval '2 hours 37 minutes')
FROM (
    SELECT n,
           (n * 7) % 500 + 1 AS customer_id,
           (n * 13) % 50 + 1 AS product_id,
           n % 9 + 1 AS quantity
    FROM generate_series(1, 3000) AS n
) AS o
JOIN customers AS c ON c.customer_id = o.customer_id
JOIN products AS p ON p.product_id = o.product_id;

INSERT INTO employees
SELECT n, 'Employee ' || n, 10000 + n * 250
FROM generate_series(1, 20) AS n;

-- Roles are shared by the whole cluster: create the demo login only once
-- (an older demo made it NOLOGIN: let it log in), one session at a time
-- (the lock lasts until this script's transaction ends). Its temporary
-- files are capped at 1 GB per query where this login may set that (only
-- a superuser may; the login itself cannot raise it).
DO $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('sqlwarden_demo_ro'));
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sqlwarden_demo_ro') THEN
        CREATE ROLE sqlwarden_demo_ro LOGIN;
    ELSIF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'sqlwarden_demo_ro') THEN
        ALTER ROLE sqlwarden_demo_ro LOGIN;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
        WHERE r.rolname = 'sqlwarden_demo_ro' AND s.setdatabase = 0
    ) THEN
        BEGIN
            ALTER ROLE sqlwarden_demo_ro SET temp_file_limit = '1GB';
        EXCEPTION
            WHEN insufficient_privilege THEN NULL;
        END;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM sqlwarden_demo_ro;
GRANT USAGE ON SCHEMA public TO sqlwarden_demo_ro;
GRANT SELECT ON regions, customers, products, orders TO sqlwarden_demo_ro;
