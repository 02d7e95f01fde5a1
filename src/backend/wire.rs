//! One application's HTTP exchanges: hyper's pooled client over rustls, HTTP/2 when the server
//! offers it by ALPN, HTTP/1.1 otherwise.
//!
//! No proxy from the environment and no redirects: a redirect would resend the credential and
//! the write somewhere else. hyper's client is used directly rather than through reqwest, whose
//! redirect and URL layers parse every call's URL again (host and IDNA included) although the
//! gateway has already checked it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::client::error_chain;
use super::native::{AnswerBody, NativeResponse};
use super::settings::TimeoutSettings;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The pooled client of one backend. Clones share the pool.
#[derive(Clone)]
pub(crate) struct Wire {
    client: Client<Bounded<HttpsConnector<HttpConnector>>, Full<Bytes>>,
}

/// Why an exchange produced no answer, sorted by whether the request may have reached the
/// application.
#[derive(Debug)]
pub(crate) enum WireError {
    /// Name resolution, TCP connect or the TLS handshake failed: nothing was sent.
    NotSent(String),
    /// The connection failed after the request may have been written, or the answer broke off.
    Unknown(String),
    /// The answer is longer than the limit; it was not read further.
    TooLarge(u64),
}

impl Wire {
    pub(crate) fn new(timeouts: &TimeoutSettings, tls: rustls::ClientConfig) -> Wire {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let connector = Bounded { inner: https, limit: Duration::from_millis(timeouts.connect_ms) };
        let mut builder = Client::builder(TokioExecutor::new());
        builder.timer(TokioTimer::new()).pool_timer(TokioTimer::new());
        match timeouts.idle_ms {
            0 => builder.pool_max_idle_per_host(0),
            ms => builder.pool_idle_timeout(Duration::from_millis(ms)),
        };
        Wire { client: builder.build(connector) }
    }

    /// Sends `request` and reads the whole answer, refusing one longer than `limit` bytes
    /// without buffering it. With [`AnswerBody::DropOnSuccess`], a 2xx body is read and dropped.
    pub(crate) async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        limit: u64,
        answer: AnswerBody,
    ) -> Result<NativeResponse, WireError> {
        let response = self.client.request(request).await.map_err(|e| {
            let reason = error_chain(&e);
            if e.is_connect() { WireError::NotSent(reason) } else { WireError::Unknown(reason) }
        })?;
        let (parts, body) = response.into_parts();
        if answer == AnswerBody::DropOnSuccess && parts.status.is_success() {
            drain(body).await?;
            return Ok(NativeResponse { status: parts.status.as_u16(), headers: parts.headers, body: Bytes::new() });
        }
        let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        if declared.is_some_and(|n: u64| n > limit) {
            return Err(WireError::TooLarge(limit));
        }
        let body = read_body(body, limit).await?;
        Ok(NativeResponse { status: parts.status.as_u16(), headers: parts.headers, body })
    }
}

/// A body that failed part-way: the request was sent, so its outcome is unknown.
fn broke_off(e: hyper::Error) -> WireError {
    WireError::Unknown(format!("the answer broke off: {}", error_chain(&e)))
}

/// Reads a body to its end without keeping it. There is no size limit: nothing is held, and the
/// call's timeout bounds the time.
async fn drain(mut body: hyper::body::Incoming) -> Result<(), WireError> {
    while let Some(frame) = body.frame().await {
        frame.map_err(broke_off)?;
    }
    Ok(())
}

/// Reads a body whole. Most answers arrive as one chunk, which is kept without a copy.
async fn read_body(mut body: hyper::body::Incoming, limit: u64) -> Result<Bytes, WireError> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut len = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(broke_off)?;
        let Ok(chunk) = frame.into_data() else { continue };
        len += chunk.len() as u64;
        if len > limit {
            return Err(WireError::TooLarge(limit));
        }
        match (&mut first, &mut joined) {
            (None, None) => first = Some(chunk),
            (Some(_), None) => {
                let mut buf = BytesMut::from(first.take().unwrap_or_default());
                buf.extend_from_slice(&chunk);
                joined = Some(buf);
            }
            (_, Some(buf)) => buf.extend_from_slice(&chunk),
        }
    }
    Ok(joined.map(BytesMut::freeze).or(first).unwrap_or_default())
}

/// Bounds a connector's whole connect, TLS handshake included, by `connect_ms`: a handshake
/// that hangs has sent nothing, and is reported as such rather than as a timed-out call whose
/// outcome is unknown.
#[derive(Clone)]
struct Bounded<C> {
    inner: C,
    limit: Duration,
}

impl<C> tower_service::Service<Uri> for Bounded<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(format!("no connection within connect_ms ({} ms)", limit.as_millis()).into()),
            }
        })
    }
}
