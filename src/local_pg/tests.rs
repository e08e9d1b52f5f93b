use super::find::parse_version;
use super::*;

#[test]
fn versions_order_numerically() {
    assert_eq!(parse_version("17"), Some((17, 0)));
    assert_eq!(parse_version("9.6"), Some((9, 6)));
    assert!(parse_version("9.6") < parse_version("10"));
    assert_eq!(parse_version("latest"), None);
    assert_eq!(parse_version("15beta"), None);
}

#[test]
fn the_test_server_is_not_the_shared_one() {
    // Unless a server was named explicitly, the tests run their own.
    if std::env::var_os(testing::HOST_ENV).is_none() {
        let server = testing::server();
        assert_ne!(server.port, 5432);
    }
}

/// A socket-only cluster: created, started, found running, reachable
/// through its socket only, stopped, started again, removed.
#[tokio::test]
async fn a_socket_only_cluster_lives_and_goes() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("pg");
    let cluster = Cluster::new(&dir, 5432, Listen::SocketOnly).unwrap();
    assert!(!cluster.exists());
    if cluster::running_as_root() {
        cluster.hand_to_server_account(parent.path()).unwrap();
    }
    cluster
        .init(&Init {
            superuser: "alice",
            password: None,
            durable: false,
            settings: &[],
        })
        .unwrap();
    assert!(cluster.exists());
    assert!(!cluster.is_running());
    cluster.start().unwrap();
    assert!(cluster.is_running());

    let mut config = tokio_postgres::Config::new();
    config
        .host_path(cluster.socket_dir())
        .port(cluster.port())
        .user("alice")
        .dbname("postgres");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT current_setting('listen_addresses')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "");
    drop(client);

    cluster.stop().unwrap();
    assert!(!cluster.is_running());
    cluster.start().unwrap();
    assert!(cluster.is_running());
    cluster.remove().unwrap();
    assert!(!dir.exists());
}
