//! A partner's TAXII server, and one session with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, AUTHORIZATION, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use liaison_taxii::{
    Collections, Discovery, Envelope, ErrorMessage, HEADER_DATE_ADDED_LAST, TAXII_MEDIA_TYPE,
};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::ClientError;
use crate::pin::{parse_fingerprint, Pinned};

/// The most a single response may hold; a partner cannot make us read more.
const MAX_RESPONSE: usize = 256 * 1024 * 1024;

/// How long the client waits. A partner that accepts a connection and never answers (or
/// answers a byte a minute) cannot hold a pull forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection: TCP, TLS and HTTP handshakes.
    pub connect: Duration,
    /// For one request: from sending it to the last byte of the answer.
    pub read: Duration,
    /// For a whole session, from `connect` on: no request runs past it.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(60),
            total: Duration::from_secs(30 * 60),
        }
    }
}

/// Where a partner's TAXII server is and how we prove who we are to it.
#[derive(Clone)]
pub struct Remote {
    timeouts: Timeouts,
    url: String,
    https: bool,
    host: String,
    port: u16,
    prefix: String,
    pin: Option<[u8; 32]>,
    authorization: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// One page of a collection.
#[derive(Debug, Clone)]
pub struct Page {
    /// The objects, each as the JSON text received.
    pub objects: Vec<String>,
    /// Whether the server has more.
    pub more: bool,
    /// The token for the next page.
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-Last`: where the next pull starts.
    pub date_added_last: Option<String>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Remote {
    /// A partner's server at `url` (`https://host:port/`, or `http://` for local testing
    /// only), its certificate pinned by SHA-256 `fingerprint` (required for https), and our
    /// credentials there: our party and the secret the partner gave us.
    pub fn new(
        url: &str,
        fingerprint: Option<&str>,
        user: &str,
        secret: &str,
    ) -> Result<Remote, ClientError> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(ClientError::Config(format!(
                "`{url}`: the URL must start with https:// (or http:// for local testing)"
            )));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| ClientError::Config(format!("`{url}`: `{p}` is not a port")))?;
                (
                    h.trim_start_matches('[').trim_end_matches(']').to_owned(),
                    port,
                )
            }
            _ => (authority.to_owned(), if https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(ClientError::Config(format!("`{url}`: no host")));
        }
        let pin = match (https, fingerprint) {
            (true, Some(f)) => Some(parse_fingerprint(f).ok_or_else(|| {
                ClientError::Config(format!(
                    "`{f}` is not a SHA-256 fingerprint (64 hex digits)"
                ))
            })?),
            (true, None) => return Err(ClientError::Config(
                "an https partner needs its certificate fingerprint (`liaison serve` prints it)"
                    .into(),
            )),
            (false, _) => None,
        };
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        Ok(Remote {
            timeouts: Timeouts::default(),
            url: url.to_owned(),
            https,
            host,
            port,
            prefix: path.trim_end_matches('/').to_owned(),
            pin,
            authorization: format!("Basic {token}"),
        })
    }

    /// The same remote with other timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Remote {
        self.timeouts = timeouts;
        self
    }

    /// Opens a connection (TLS when https, pinned), within the connect timeout.
    pub async fn connect(&self) -> Result<Session, ClientError> {
        let started = Instant::now();
        Ok(Session {
            remote: self.clone(),
            sender: self.handshake().await?,
            deadline: started + self.timeouts.total,
        })
    }

    /// A new HTTP/1.1 connection to the partner, ready for requests, within the connect
    /// timeout (a session opens one again when the server closed the last).
    async fn handshake(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        match tokio::time::timeout(self.timeouts.connect, self.open()).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                url: self.url.clone(),
                what: "connecting",
                after: self.timeouts.connect,
            }),
        }
    }

    async fn open(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let fail = |detail: String| ClientError::Connect {
            url: self.url.clone(),
            detail,
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let io: Box<dyn Io> = if self.https {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let algorithms = provider.signature_verification_algorithms;
            let pin = self
                .pin
                .ok_or_else(|| fail("no pinned fingerprint".into()))?;
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| fail(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned {
                    fingerprint: pin,
                    algorithms,
                }))
                .with_no_client_auth();
            let name = ServerName::try_from(self.host.clone()).map_err(|e| fail(e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| fail(e.to_string()))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection to partner closed");
            }
        });
        Ok(sender)
    }
}

/// An open connection to a partner's server.
pub struct Session {
    remote: Remote,
    sender: SendRequest<Full<Bytes>>,
    /// No request runs past this (the session's total timeout).
    deadline: Instant,
}

struct Answer {
    status: StatusCode,
    date_added_last: Option<String>,
    body: Bytes,
}

impl Session {
    /// GETs `path`. A 503 with `Retry-After` (a liaison server preparing our view after a
    /// change on its side) is asked again after the time it names, up to a minute each and
    /// within the session's deadline; any other answer is returned as it is.
    async fn get(&mut self, path: &str) -> Result<Answer, ClientError> {
        let mut tries = 0;
        loop {
            match self.request("GET", path, Bytes::new()).await {
                Err(ClientError::Taxii {
                    status: 503,
                    retry_after: Some(secs),
                    ..
                }) if secs <= 60
                    && tries < MAX_UNAVAILABLE_RETRIES
                    && Instant::now() + Duration::from_secs(secs.into()) < self.deadline =>
                {
                    tries += 1;
                    tracing::info!(
                        path,
                        secs,
                        "the partner is preparing our view: asking again"
                    );
                    tokio::time::sleep(Duration::from_secs(secs.into())).await;
                }
                other => return other,
            }
        }
    }

    /// GETs `path` (under the server's prefix) and returns the body as is: for the partner's
    /// transparency log beside TAXII (`/log/...`).
    pub async fn get_bytes(&mut self, path: &str) -> Result<Vec<u8>, ClientError> {
        let path = format!("{}{path}", self.remote.prefix);
        Ok(self.get(&path).await?.body.to_vec())
    }

    /// GETs a paged list of the partner's log (`/log/deliveries`, `/log/agreements`: a JSON
    /// object with `proofs`, and `more`/`next` while pages follow) and returns every page's
    /// proofs in one object, as the first page with the others' proofs appended. Every page
    /// must be proved against the same checkpoint as the first; at most `MAX_LOG_PAGES`.
    pub async fn get_log_list(&mut self, path: &str) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{path}", self.remote.url.trim_end_matches('/'));
        let bad = |detail: String| ClientError::Protocol {
            url: url.clone(),
            detail,
        };
        let parse =
            |bytes: &[u8]| -> Result<serde_json::Map<String, serde_json::Value>, ClientError> {
                serde_json::from_slice(bytes).map_err(|e| bad(format!("not a list of proofs: {e}")))
            };
        let mut first = parse(&self.get_bytes(path).await?)?;
        let mut next = take_next(&mut first);
        let mut pages = 1;
        while let Some(token) = next {
            if pages >= MAX_LOG_PAGES {
                return Err(bad(format!("more than {MAX_LOG_PAGES} pages")));
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut page = parse(
                &self
                    .get_bytes(&format!("{path}{sep}next={}", encode(&token)))
                    .await?,
            )?;
            pages += 1;
            next = take_next(&mut page);
            if page.get("checkpoint") != first.get("checkpoint") {
                return Err(bad("a page is proved against another checkpoint".into()));
            }
            let more = match page.remove("proofs") {
                Some(serde_json::Value::Array(a)) => a,
                _ => return Err(bad("a page without `proofs`".into())),
            };
            match first.get_mut("proofs") {
                Some(serde_json::Value::Array(all)) => all.extend(more),
                _ => return Err(bad("a page without `proofs`".into())),
            }
        }
        serde_json::to_vec(&first).map_err(|e| bad(e.to_string()))
    }

    /// POSTs `body` (text) to `path` (under the server's prefix).
    pub async fn post_bytes(&mut self, path: &str, body: Vec<u8>) -> Result<(), ClientError> {
        self.post_for_bytes(path, body).await.map(|_| ())
    }

    /// POSTs `body` to `path` (under the server's prefix) and returns the answer's body.
    pub async fn post_for_bytes(
        &mut self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ClientError> {
        let path = format!("{}{path}", self.remote.prefix);
        Ok(self
            .request("POST", &path, Bytes::from(body))
            .await?
            .body
            .to_vec())
    }

    /// One request, within the read timeout and the session's deadline.
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<Answer, ClientError> {
        let t = self.remote.timeouts;
        let read_by = Instant::now() + t.read;
        let (by, what, after) = if read_by <= self.deadline {
            (read_by, "waiting for an answer", t.read)
        } else {
            (self.deadline, "in this session", t.total)
        };
        let url = format!("{}{path}", self.remote.url.trim_end_matches('/'));
        match tokio::time::timeout_at(by.into(), self.exchange(method, path, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(ClientError::Timeout { url, what, after }),
        }
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: Bytes,
    ) -> Result<Answer, ClientError> {
        let url = format!("{}{path}", self.remote.url.trim_end_matches('/'));
        let fail = |detail: String| ClientError::Connect {
            url: url.clone(),
            detail,
        };
        let host = format!("{}:{}", self.remote.host, self.remote.port);
        let build = || {
            Request::builder()
                .method(method)
                .uri(path)
                .header(HOST, host.as_str())
                .header(ACCEPT, TAXII_MEDIA_TYPE)
                .header(AUTHORIZATION, &self.remote.authorization)
                .body(Full::new(body.clone()))
                .map_err(|e| fail(e.to_string()))
        };
        // A server may close the connection after any response (`Connection: close`, as
        // medallion's does after each one): then the request goes on a new connection. It is
        // sent again only if it was never sent (or is a GET, which changes nothing).
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender = self.remote.handshake().await?;
        }
        let res = match self.sender.send_request(build()?).await {
            Ok(res) => res,
            Err(e) if e.is_canceled() || (method == "GET" && e.is_closed()) => {
                self.sender = self.remote.handshake().await?;
                self.sender.ready().await.map_err(|e| fail(e.to_string()))?;
                self.sender
                    .send_request(build()?)
                    .await
                    .map_err(|e| fail(e.to_string()))?
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        let status = res.status();
        let retry_after = res
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u16>().ok());
        let date_added_last = res
            .headers()
            .get(HEADER_DATE_ADDED_LAST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(res.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| fail(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            let err: Option<ErrorMessage> = serde_json::from_slice(&body).ok();
            return Err(ClientError::Taxii {
                url,
                status: status.as_u16(),
                title: err
                    .as_ref()
                    .map(|e| e.title.clone())
                    .unwrap_or_else(|| status.to_string()),
                description: err.and_then(|e| e.description),
                retry_after,
            });
        }
        Ok(Answer {
            status,
            date_added_last,
            body,
        })
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        a: &Answer,
    ) -> Result<T, ClientError> {
        serde_json::from_slice(&a.body).map_err(|e| ClientError::Protocol {
            url: format!("{}{path}", self.remote.url.trim_end_matches('/')),
            detail: format!("not a TAXII resource ({}): {e}", a.status),
        })
    }

    /// The API root the partner names first (its default, else the first listed), as a path.
    pub async fn api_root(&mut self) -> Result<String, ClientError> {
        let path = format!("{}/taxii2/", self.remote.prefix);
        let a = self.get(&path).await?;
        let d: Discovery = self.parse(&path, &a)?;
        let root = d
            .default
            .or_else(|| d.api_roots.into_iter().next())
            .ok_or_else(|| ClientError::Protocol {
                url: self.remote.url.clone(),
                detail: "the server lists no API root".into(),
            })?;
        // An API root may be a full URL or a path; only its path is used, on this server.
        let path = match root.split_once("://") {
            Some((_, rest)) => rest
                .find('/')
                .map(|i| rest[i..].to_owned())
                .unwrap_or_else(|| "/".into()),
            None => root,
        };
        Ok(if path.ends_with('/') {
            path
        } else {
            format!("{path}/")
        })
    }

    /// The collection the partner releases to us: the one we may read and not write.
    pub async fn outbound_collection(&mut self, api_root: &str) -> Result<String, ClientError> {
        let path = format!("{api_root}collections/");
        let a = self.get(&path).await?;
        let c: Collections = self.parse(&path, &a)?;
        c.collections
            .into_iter()
            .find(|c| c.can_read && !c.can_write)
            .map(|c| c.id)
            .ok_or_else(|| ClientError::Protocol {
                url: format!("{}{path}", self.remote.url.trim_end_matches('/')),
                detail: "no collection there releases anything to us".into(),
            })
    }

    /// One page of a collection's objects, added after `added_after` or continuing at `next`.
    pub async fn page(
        &mut self,
        api_root: &str,
        collection: &str,
        added_after: Option<&str>,
        next: Option<&str>,
        limit: usize,
    ) -> Result<Page, ClientError> {
        let mut path = format!("{api_root}collections/{collection}/objects/?limit={limit}");
        if let Some(a) = added_after {
            path.push_str(&format!("&added_after={}", encode(a)));
        }
        if let Some(n) = next {
            path.push_str(&format!("&next={}", encode(n)));
        }
        let a = self.get(&path).await?;
        let env: Envelope = self.parse(&path, &a)?;
        Ok(Page {
            objects: env.objects.iter().map(|o| o.get().to_owned()).collect(),
            more: env.more,
            next: env.next,
            date_added_last: a.date_added_last,
        })
    }
}

/// The most times one GET is asked again after 503 with `Retry-After`.
const MAX_UNAVAILABLE_RETRIES: u32 = 60;

/// The most pages of one log list followed.
const MAX_LOG_PAGES: usize = 100_000;

/// Removes `more` and `next` from a page of a log list; the token, if more follow.
fn take_next(page: &mut serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let more = page.remove("more").and_then(|v| v.as_bool()) == Some(true);
    let next = page
        .remove("next")
        .and_then(|v| v.as_str().map(str::to_owned));
    next.filter(|_| more)
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_strictly() {
        let r = Remote::new(
            "https://127.0.0.1:8443/",
            Some(&"ab".repeat(32)),
            "USA",
            "s",
        )
        .unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.prefix.as_str()),
            ("127.0.0.1", 8443, "")
        );
        let r = Remote::new("http://localhost/base/", None, "USA", "s").unwrap();
        assert_eq!((r.port, r.prefix.as_str()), (80, "/base"));
        assert!(
            Remote::new("https://127.0.0.1:8443/", None, "USA", "s").is_err(),
            "https needs a pin"
        );
        assert!(Remote::new("ftp://x/", None, "USA", "s").is_err());
        assert!(Remote::new("https://h:port/", Some(&"ab".repeat(32)), "USA", "s").is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode("2026-11-22T00:00:00.000000Z"),
            "2026-11-22T00%3A00%3A00.000000Z"
        );
        assert_eq!(encode("a+b/c"), "a%2Bb%2Fc");
    }
}
