//! Origins: where an [`Edge`](crate::Edge) fetches what it does not have.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};

use crate::error::Result;

/// The server behind an edge: answers a request with a response (status, headers, body).
///
/// An origin's error (as opposed to an error *response* such as a 503) means no response at all: a refused
/// connection, a reset, a handler failure. The edge may then serve a stale response (`stale-if-error`) or
/// answers `502 Bad Gateway`.
#[async_trait]
pub trait Origin: Send + Sync + fmt::Debug {
    /// Fetches `request` from the origin.
    ///
    /// # Errors
    /// Any failure to produce a response ([`Error::Origin`](crate::Error::Origin) for most).
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>>;
}

#[async_trait]
impl<T: Origin + ?Sized> Origin for Arc<T> {
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        (**self).fetch(request).await
    }
}

#[async_trait]
impl<T: Origin + ?Sized> Origin for Box<T> {
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        (**self).fetch(request).await
    }
}

/// Interim (`1xx`) responses an origin sent before its final response, attached to the final response's
/// [extensions](http::Response::extensions). An edge passes them on with a response it fetched and never
/// stores them, so a response served from cache has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interim(pub Vec<(http::StatusCode, http::HeaderMap)>);

/// An [`Origin`] made from an async closure; see [`from_fn`].
#[derive(Clone)]
pub struct FnOrigin<F> {
    f: F,
}

impl<F> fmt::Debug for FnOrigin<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnOrigin").finish_non_exhaustive()
    }
}

/// An origin that calls `f` for every request.
///
/// ```
/// use bytes::Bytes;
/// use http::Response;
///
/// let origin = edgecache::origin::from_fn(|req: http::Request<Bytes>| async move {
///     Ok(Response::new(Bytes::from(format!("you asked for {}", req.uri().path()))))
/// });
/// # let _ = origin;
/// ```
pub fn from_fn<F, Fut>(f: F) -> FnOrigin<F>
where
    F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Bytes>>> + Send + 'static,
{
    FnOrigin { f }
}

#[async_trait]
impl<F, Fut> Origin for FnOrigin<F>
where
    F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Bytes>>> + Send + 'static,
{
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        (self.f)(request).await
    }
}
