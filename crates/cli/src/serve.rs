//! `liaison serve`: the node's TAXII 2.1 server, over TLS. Without a certificate it makes a
//! self-signed one on first start (kept in `tls/` in the node's home) and prints its
//! fingerprint, which partners pin. Beside it, on a listener of its own, the operators' web
//! console (plain HTTP on loopback; HTTPS with the same certificate anywhere else).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use liaison_console::{ConsoleConfig, ConsoleState};

use liaison_server::{run, run_operator, self_signed, tls_config, AppState, Config};
use serde_json::json;

use crate::output::Format;

/// How often the background upkeep of partners' views looks for changes to the store.
const VIEW_UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Where `serve` listens: the partners' port, the operators' one for metrics, if any, and
/// the console's, if any.
pub(crate) struct Listen {
    pub(crate) partners: SocketAddr,
    pub(crate) metrics: Option<SocketAddr>,
    pub(crate) console: Option<SocketAddr>,
}

/// `--console`: an address, or `off`.
pub(crate) fn console_at(text: &str) -> anyhow::Result<Option<SocketAddr>> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        anyhow!("--console: `{text}` is neither an address (e.g. 127.0.0.1:8080) nor `off`")
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    home: &Path,
    listen: Listen,
    cert: Option<&Path>,
    key: Option<&Path>,
    names: &[String],
    insecure_http: bool,
    region: Option<&str>,
    fmt: Format,
) -> anyhow::Result<()> {
    let mut node = crate::commands::open(home)?;
    // Partners' views are kept in the store and maintained from a connection of their own, so
    // that upkeep never holds the lock requests take (see `maintain.rs`). Opened here, outside
    // the async runtime: the PostgreSQL client blocks on a runtime of its own.
    let maintainer = crate::commands::open(home)?;
    node.set_region(
        region
            .map(str::parse::<liaison_selectors::Region>)
            .transpose()
            .map_err(|e| anyhow!("--region: {e}"))?,
    );
    let party = node.party().clone();
    let (tls, cert_info) = if insecure_http {
        tracing::warn!("serving plain HTTP: for local testing only, credentials travel in clear");
        (None, None)
    } else {
        let (cert_path, key_path, fingerprint): (PathBuf, PathBuf, Option<String>) =
            match (cert, key) {
                (Some(c), Some(k)) => (c.to_owned(), k.to_owned(), None),
                (None, None) => {
                    let (c, k, f) = self_signed(&home.join("tls"), names)?;
                    (c, k, Some(f))
                }
                _ => return Err(anyhow!("give both `--cert` and `--key`, or neither")),
            };
        let cert_pem = std::fs::read(&cert_path)
            .with_context(|| format!("cannot read `{}`", cert_path.display()))?;
        let key_pem = std::fs::read(&key_path)
            .with_context(|| format!("cannot read `{}`", key_path.display()))?;
        let fingerprint = match fingerprint {
            Some(f) => f,
            None => liaison_server::fingerprint(&cert_pem)?,
        };
        (
            Some(tls_config(&cert_pem, &key_pem)?),
            Some((cert_path, fingerprint)),
        )
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen.partners)
            .await
            .with_context(|| format!("cannot listen on {}", listen.partners))?;
        let addr = listener.local_addr()?;
        let operator = match listen.metrics {
            Some(at) => {
                if !at.ip().is_loopback() {
                    tracing::warn!(%at, "metrics on a non-loopback address: keep it off the partners' network");
                }
                let l = tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen on {at} for metrics"))?;
                Some(l)
            }
            None => None,
        };
        let metrics_addr = match &operator {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        if let Some(at) = listen.console {
            if at.port() != 0 && (at == listen.partners || listen.metrics == Some(at)) {
                return Err(anyhow!("--console {at}: the console needs a port of its own, never the partners' one"));
            }
            if !at.ip().is_loopback() && tls.is_none() {
                return Err(anyhow!("--console {at}: off loopback the console is served over TLS only, and this server runs without (`--insecure-http`)"));
            }
        }
        let console_listener = match listen.console {
            Some(at) => Some(
                tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen on {at} for the console"))?,
            ),
            None => None,
        };
        // Loopback: plain HTTP (the browser is on this machine). Elsewhere: the partners'
        // certificate, and cookies marked `Secure`.
        let console_tls = match &console_listener {
            Some(l) if !l.local_addr()?.ip().is_loopback() => tls.clone(),
            _ => None,
        };
        let console_url = match &console_listener {
            Some(l) => Some(format!(
                "{}://{}/",
                if console_tls.is_some() { "https" } else { "http" },
                l.local_addr()?
            )),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        match fmt {
            Format::Json => {
                let (cert, fp) = match &cert_info {
                    Some((c, f)) => (Some(c.display().to_string()), Some(f.clone())),
                    None => (None, None),
                };
                println!(
                    "{}",
                    json!({"party": party.as_str(), "listening": addr.to_string(), "url": format!("{scheme}://{addr}/"),
                           "certificate": cert, "fingerprint": fp,
                           "metrics": metrics_addr.map(|a| format!("http://{a}/metrics")),
                           "console": console_url})
                );
            }
            Format::Human => {
                println!("{party} serving TAXII 2.1 at {scheme}://{addr}/taxii2/");
                if let Some((c, f)) = &cert_info {
                    println!("certificate {} (give partners its SHA-256 fingerprint)", c.display());
                    println!("fingerprint {f}");
                }
                println!("health {scheme}://{addr}/health");
                match metrics_addr {
                    Some(a) => println!("metrics http://{a}/metrics (operators only)"),
                    None => println!("no metrics (`--metrics ADDR` serves them to operators)"),
                }
                match &console_url {
                    Some(u) => println!("console {u} (operators only: `liaison operator add`)"),
                    None => println!("no console (`--console off`)"),
                }
            }
        }
        std::io::Write::flush(&mut std::io::stdout())?;
        let node = Arc::new(Mutex::new(node));
        let config = Config::default();
        let state = AppState::new(Arc::clone(&node), config.clone())?;
        state.maintain_in_background(maintainer, VIEW_UPKEEP_EVERY)?;
        let (stop_console, console_stopped) = tokio::sync::oneshot::channel::<()>();
        let console = match console_listener {
            Some(l) => {
                let console_state = ConsoleState::new(
                    node,
                    ConsoleConfig {
                        secure_cookies: console_tls.is_some(),
                        ..ConsoleConfig::default()
                    },
                )?;
                let config = config.clone();
                Some(tokio::spawn(async move {
                    liaison_console::run(l, console_tls, console_state, &config, async {
                        let _ = console_stopped.await;
                    })
                    .await
                }))
            }
            None => None,
        };
        let (stop_operator, operator_stopped) = tokio::sync::oneshot::channel::<()>();
        let operator = operator.map(|l| {
            tokio::spawn(run_operator(l, state.clone(), async {
                let _ = operator_stopped.await;
            }))
        });
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        };
        run(listener, tls, state, shutdown).await?;
        let _ = stop_operator.send(());
        let _ = stop_console.send(());
        if let Some(task) = operator {
            task.await??;
        }
        if let Some(task) = console {
            task.await??;
        }
        anyhow::Ok(())
    })
}
