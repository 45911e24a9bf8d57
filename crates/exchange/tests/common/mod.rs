//! What the exchange tests share: a node served over pinned TLS on 127.0.0.1.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use liaison_release::Node;
use liaison_store::SqliteStore;

/// A node served on 127.0.0.1:0 over TLS, stopped when dropped.
pub(crate) struct Served {
    pub(crate) node: Arc<Mutex<Node<SqliteStore>>>,
    pub(crate) url: String,
    pub(crate) fingerprint: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub(crate) async fn serve(node: Node<SqliteStore>, home: &Path) -> Served {
    serve_with(node, home, liaison_server::Config::default(), false).await
}

/// [`serve`] with `config`, and with `upkeep` the views maintained in the background as
/// `liaison serve` maintains them (on a node of its own over the same store, `home`).
pub(crate) async fn serve_with(
    node: Node<SqliteStore>,
    home: &Path,
    config: liaison_server::Config,
    upkeep: bool,
) -> Served {
    let (cert, key, fingerprint) = liaison_server::self_signed(&home.join("tls"), &[]).unwrap();
    let tls =
        liaison_server::tls_config(&std::fs::read(cert).unwrap(), &std::fs::read(key).unwrap())
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let node = Arc::new(Mutex::new(node));
    let state = liaison_server::AppState::new(Arc::clone(&node), config).unwrap();
    if upkeep {
        let maintainer = Node::open(home).unwrap();
        state
            .maintain_in_background(maintainer, std::time::Duration::from_millis(20))
            .unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(liaison_server::run(
        listener,
        Some(tls),
        state,
        async move {
            let _ = stopped.await;
        },
    ));
    Served {
        node,
        url,
        fingerprint,
        stop: Some(stop),
    }
}
