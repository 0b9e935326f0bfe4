//! [`Body`]: the router's response body, one buffer sent as one frame.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// A complete response body. Implements [`http_body::Body`], so hyper and axum can send it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    data: Option<Bytes>,
}

impl Body {
    /// A body of these bytes (an empty buffer is an empty body).
    pub fn new(data: impl Into<Bytes>) -> Self {
        let data: Bytes = data.into();
        Body {
            data: (!data.is_empty()).then_some(data),
        }
    }

    /// The bytes not yet sent.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_deref().unwrap_or(&[])
    }

    /// The body's bytes.
    pub fn into_bytes(self) -> Bytes {
        self.data.unwrap_or_default()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}
