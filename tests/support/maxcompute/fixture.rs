//! A ready-made emulator with a small, typed data set, shared by the
//! emulator's own tests, the pyodps proof and the engine tests.
//!
//! Project `demo` (2-tier) holds `sales` (every scalar type the emulator
//! supports plus `array<string>`, partitioned by `ds`, with an empty newest
//! partition so `MAX_PT` must skip it), `customers` (unpartitioned) and
//! `profiles` (`map<>`, `struct<>`, `array<struct<>>`).
//! Project `lake` (3-tier, schema `analytics`) holds `analytics.visits`.
//! The one idea: the data set is small enough to assert on exactly.

use super::{Emulator, EmulatorConfig, EmulatorHandle, TableSpec};

/// Access key id the fixture accepts.
pub const AK: &str = "test_ak";
/// Its secret.
pub const SK: &str = "test_sk";
/// A temporary key id (needs [`STS_TOKEN`]).
pub const STS_AK: &str = "sts_ak";
/// Its secret.
pub const STS_SK: &str = "sts_sk";
/// Its token.
pub const STS_TOKEN: &str = "sts-token-1";

/// The fixture's interactive (MaxQA) quota, also the default connection.
pub const MAXQA_QUOTA: &str = "maxqa_q";
/// A batch (offline) quota.
pub const BATCH_QUOTA: &str = "batch_q";

/// The fixture's configuration: both keys, `demo` and 3-tier `lake`, an
/// interactive and a batch quota.
pub fn config() -> EmulatorConfig {
    EmulatorConfig::new()
        .credential(AK, SK)
        .sts_credential(STS_AK, STS_SK, STS_TOKEN)
        .project("demo")
        .project_with_schemas("lake", &["analytics"])
        .quota(MAXQA_QUOTA, true)
        .quota(BATCH_QUOTA, false)
}

/// Start an emulator with `config` and load the data set.
pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
    let emu = Emulator::start(config).await;
    emu.create_table(
        &TableSpec::new("demo.sales")
            .comment("One row per sale")
            .column("id", "bigint", "sale id")
            .column("amount", "double", "amount in CNY")
            .column("price", "decimal(10,2)", "unit price")
            .column("name", "string", "customer name")
            .column("code", "varchar(8)", "")
            .column("flag", "boolean", "")
            .column("created", "datetime", "")
            .column("day", "date", "")
            .column("tiny", "tinyint", "")
            .column("qty", "int", "")
            .column("small", "smallint", "")
            .column("ratio", "float", "")
            .column("tag", "char(3)", "")
            .column("raw", "binary", "")
            .column("tags", "array<string>", "")
            .column("ts", "timestamp", "")
            .partition_key("ds", "string", "business day"),
    )
    .await;
    emu.insert(
        "demo.sales",
        "(1, 2.5, 12.34, 'alice', 'A-1', true, '2024-01-02 03:04:05.678', '2024-01-02', 7, 100, 1000, 0.5, 'abc', '\\x0001ff'::bytea, ARRAY['x','y'], '2024-01-02 03:04:05.123456', '20240102'), \
         (2, NULL, NULL, 'bob', NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '20240102'), \
         (3, -1.25, -0.05, 'carol \"c\", 中文', 'B', NULL, '1970-01-01 00:00:00', '1969-12-31', -128, -5, -300, 1.5, 'x', ''::bytea, ARRAY['z', NULL], '1969-12-31 23:59:59.5', '20240102'), \
         (10, 1.0, 1.00, 'old', 'C', true, '2023-12-31 23:59:59', '2023-12-31', 1, 1, 1, 1.0, 'old', NULL, ARRAY[]::text[], NULL, '20240101')",
    )
    .await;
    emu.add_partition("demo.sales", "ds=20240103");
    emu.create_table(
        &TableSpec::new("demo.customers")
            .comment("Customers")
            .column("customer_id", "bigint", "")
            .column("region_code", "string", "region"),
    )
    .await;
    emu.insert("demo.customers", "(1, 'EAST'), (2, 'NORTH'), (3, 'WEST')")
        .await;
    emu.create_table(
        &TableSpec::new("demo.profiles")
            .comment("Complex types")
            .column("id", "bigint", "")
            .column("attrs", "map<string,bigint>", "")
            .column("info", "struct<city:string,zip:int>", "")
            .column("history", "array<struct<day:date,score:double>>", ""),
    )
    .await;
    emu.insert(
        "demo.profiles",
        "(1, '{\"a\": 1, \"b\": null}', '{\"city\": \"Hangzhou\", \"zip\": 310000}',           ARRAY['{\"day\": \"2024-01-01\", \"score\": 1.5}'::jsonb, NULL]),          (2, NULL, '{\"city\": null, \"zip\": 1}', NULL)",
    )
    .await;
    emu.create_table(
        &TableSpec::new("lake.analytics.visits")
            .column("visit_id", "bigint", "")
            .column("page", "string", ""),
    )
    .await;
    emu.insert("lake.analytics.visits", "(1, '/home'), (2, '/cart')")
        .await;
    emu
}
