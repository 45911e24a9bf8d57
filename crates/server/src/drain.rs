//! Reading what a client still sends after we answered. A client that POSTs an oversize body
//! writes all of it before it reads the answer; if the server closed the connection with
//! the body unread, the client's kernel gets a reset and the client sees a broken connection
//! (over TLS an "EOF" in the middle of its write) instead of our 413. So the rest of a body a
//! handler did not read is read and thrown away, bounded in bytes (`drain_limit`) and time
//! (`drain_timeout`), while the answer goes out; past either bound the connection closes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use http_body_util::BodyExt;
use hyper::body::Frame;
use tokio::sync::mpsc;

/// How much and how long to drain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    pub(crate) limit: u64,
    pub(crate) timeout: Duration,
}

/// Reads `body` to its end (within the bounds) and discards it.
pub(crate) fn discard(body: Body, drain: Drain) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(drain.timeout, read_out(body, drain.limit)).await;
    });
}

async fn read_out(mut body: Body, limit: u64) {
    let mut read = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            read = read.saturating_add(data.len() as u64);
            if read > limit {
                return;
            }
        }
    }
}

/// `body` as the handler will see it; whatever the handler leaves unread (it answered
/// before the end, or dropped the body) is discarded as [`discard`] does.
pub(crate) fn guarded(body: Body, drain: Drain) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, axum::Error>>(2);
    tokio::spawn(async move {
        let mut body = body;
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if tx.send(Ok(data)).await.is_err() {
                            // The handler is done with it: read out the rest.
                            discard(body, drain);
                            return;
                        }
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                None => return,
            }
        }
    });
    Body::new(Forwarded { rx })
}

/// The body a handler reads: the frames the forwarding task passes on.
struct Forwarded {
    rx: mpsc::Receiver<Result<Bytes, axum::Error>>,
}

impl HttpBody for Forwarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}
