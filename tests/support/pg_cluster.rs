//! A private PostgreSQL cluster for one test, on a free port, stopped and
//! removed on drop.
//!
//! Tests that need a server asking for passwords, or one they can stop,
//! restart or start again, run one of their own beside the process's test
//! server ([`super::pg`]), with `sqlwarden::local_pg`.

use std::net::TcpListener;

use sqlwarden::local_pg::testing::Watchdog;
use sqlwarden::local_pg::{Cluster, Init, Listen};

/// How the cluster authenticates local logins.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// Every login is let in (as the test server).
    Trust,
    /// `scram-sha-256`; user `postgres` has this password.
    Password(&'a str),
}

/// A running private cluster; user `postgres`, database `postgres`.
/// Stopped and deleted on drop, and by its watchdog if the test process
/// is killed.
pub struct PgCluster {
    parent: tempfile::TempDir,
    cluster: Cluster,
    _watchdog: Watchdog,
    /// The bootstrap login's password, for [`PgCluster::client`].
    password: Option<String>,
}

impl PgCluster {
    /// `initdb` a new cluster and start it on a free port of 127.0.0.1.
    pub fn start(auth: Auth<'_>) -> PgCluster {
        Self::start_as("postgres", auth)
    }

    /// [`PgCluster::start`] with `superuser` as the bootstrap login (and
    /// no `postgres` role unless that is it).
    pub fn start_as(superuser: &str, auth: Auth<'_>) -> PgCluster {
        let parent = tempfile::tempdir().expect("tempdir");
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let cluster = Cluster::new(&parent.path().join("pg"), port, Listen::Loopback)
            .unwrap_or_else(|e| panic!("{e}\nhint: {}", e.hint()));
        cluster
            .hand_to_server_account(parent.path())
            .expect("hand the directory to the server account");
        cluster
            .init(&Init {
                superuser,
                password: match auth {
                    Auth::Trust => None,
                    Auth::Password(password) => Some(password),
                },
                durable: false,
                settings: &[("fsync", "off")],
            })
            .unwrap_or_else(|e| panic!("initdb: {e}"));
        cluster.start().unwrap_or_else(|e| panic!("start: {e}"));
        let watchdog =
            Watchdog::start(&cluster, parent.path()).unwrap_or_else(|e| panic!("watchdog: {e}"));
        PgCluster {
            parent,
            cluster,
            _watchdog: watchdog,
            password: match auth {
                Auth::Trust => None,
                Auth::Password(password) => Some(password.to_owned()),
            },
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// The directory that holds all of the cluster's files.
    pub fn dir(&self) -> &std::path::Path {
        self.parent.path()
    }

    /// The Unix socket directory.
    pub fn socket_dir(&self) -> &std::path::Path {
        self.cluster.socket_dir()
    }

    /// `pg_ctl restart -m fast`: every session is ended, the server comes
    /// back on the same port.
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    /// `pg_ctl stop -m fast`.
    pub fn stop(&self) {
        self.cluster.stop().unwrap_or_else(|e| panic!("stop: {e}"));
    }

    /// Start the stopped cluster again, on the same port.
    pub fn start_again(&self) {
        self.cluster
            .start()
            .unwrap_or_else(|e| panic!("start again: {e}"));
    }

    /// A tokio-postgres client as `postgres` on database `dbname` (with
    /// the password, on a cluster that asks for one).
    pub async fn client(&self, dbname: &str) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port())
            .user("postgres")
            .dbname(dbname);
        if let Some(password) = &self.password {
            config.password(password);
        }
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("the private cluster on port {}: {e}", self.port()));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}
