//! The router as a `tower::Service<http::Request<B>>` for any body `B`, and reading a body up to the
//! payload limit.
//!
//! The service never fails (`Error = Infallible`): every problem is an HTTP response, as API Gateway
//! answers it, so axum's `Router::route_service` / `fallback_service` and hyper can mount it as it is.
//! A body past the limit is `413 {"message":"Request Entity Too Large"}` (HTTP API quotas: "Payload
//! size", 10 MB, <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>);
//! a body that fails to arrive is `400 {"message":"Bad Request"}`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http_body::Body as HttpBody;

use crate::apigw::body::Body;
use crate::apigw::response::GatewayError;
use crate::apigw::router::{CallOptions, Router};

enum ReadError {
    TooLarge,
    Failed,
}

/// Reads `body` whole, refusing more than `limit` bytes.
async fn read_body<B: HttpBody>(body: B, limit: usize) -> Result<Bytes, ReadError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(ReadError::TooLarge);
    }
    let mut body = Box::pin(body);
    let mut buf = BytesMut::new();
    loop {
        let frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
        match frame {
            None => return Ok(buf.freeze()),
            Some(Err(_)) => return Err(ReadError::Failed),
            Some(Ok(frame)) => {
                if let Ok(mut data) = frame.into_data() {
                    use bytes::Buf;
                    if buf.len() + data.remaining() > limit {
                        return Err(ReadError::TooLarge);
                    }
                    while data.has_remaining() {
                        let chunk = data.chunk();
                        let n = chunk.len();
                        buf.extend_from_slice(chunk);
                        data.advance(n);
                    }
                }
            }
        }
    }
}

impl Router {
    /// Handles one request: reads its body, then routes it as API Gateway would. Options come from the
    /// request's extensions (a [`CallOptions`], else a [`SocketAddr`]).
    pub async fn call_http<B: HttpBody>(&self, req: http::Request<B>) -> http::Response<Body> {
        let opts = match req.extensions().get::<CallOptions>() {
            Some(o) => o.clone(),
            None => CallOptions {
                source_ip: req.extensions().get::<SocketAddr>().map(SocketAddr::ip),
            },
        };
        self.call_opts(req, opts).await
    }

    /// Handles one request with explicit options.
    pub async fn call_opts<B: HttpBody>(
        &self,
        req: http::Request<B>,
        opts: CallOptions,
    ) -> http::Response<Body> {
        let (parts, body) = req.into_parts();
        match read_body(body, self.inner.payload_limit).await {
            Ok(bytes) => self.handle_collected(parts, bytes, opts).await,
            Err(ReadError::TooLarge) => GatewayError::PayloadTooLarge.response(),
            Err(ReadError::Failed) => GatewayError::BadRequest.response(),
        }
    }
}

impl<B> tower::Service<http::Request<B>> for Router
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let router = self.clone();
        Box::pin(async move { Ok(router.call_http(req).await) })
    }
}
