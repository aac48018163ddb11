//! A bound on what the API server may send: the client reads a response
//! body whole (a watch, line by line) before decoding it, so a broken or
//! hostile server streaming an endless body would otherwise be buffered
//! until the request timeout, gigabytes later. [`BodyLimit`] is a tower
//! layer on the kube client's stack that fails a response once it passes
//! [`MAX_RESPONSE_BYTES`] (a watch: once one event line does).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};

/// The most bytes of one response body (or of one watch event line). Far
/// above what an API server sends: etcd stores objects up to 1.5 MiB, and
/// gen lists only its own objects.
pub const MAX_RESPONSE_BYTES: u64 = 64 << 20;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The layer: wraps every response body in a [`Limited`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    /// The bound.
    pub max: u64,
}

impl<S> tower_layer::Layer<S> for BodyLimit {
    type Service = LimitService<S>;
    fn layer(&self, inner: S) -> LimitService<S> {
        LimitService {
            inner,
            max: self.max,
        }
    }
}

/// The service [`BodyLimit`] builds.
#[derive(Debug, Clone)]
pub struct LimitService<S> {
    inner: S,
    max: u64,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for LimitService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<Limited<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // A watch streams events, one JSON document per line, for as long
        // as it lasts: bound each line rather than the whole.
        let watch = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
        let max = self.max;
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|inner| Limited {
                inner,
                max,
                watch,
                seen: 0,
            }))
        })
    }
}

/// A response body that fails once it passes its bound.
#[derive(Debug)]
pub struct Limited<B> {
    inner: B,
    max: u64,
    watch: bool,
    /// Bytes so far (of the current line, for a watch).
    seen: u64,
}

/// The error a [`Limited`] body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the API server sent more than {} MiB in one {} (gen's limit); is this really a Kubernetes API server?", .0 >> 20, if *.1 { "watch event" } else { "response" })]
pub struct TooLarge(u64, bool);

impl<B> Body for Limited<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let chunk = data.chunk();
            let mut over = false;
            if self.watch {
                // Count each line; the first part continues the last line.
                for (i, part) in chunk.split(|b| *b == b'\n').enumerate() {
                    if i > 0 {
                        self.seen = 0;
                    }
                    self.seen = self.seen.saturating_add(part.len() as u64);
                    over |= self.seen > self.max;
                }
            } else {
                self.seen = self.seen.saturating_add(chunk.len() as u64);
                over = self.seen > self.max;
            }
            if over {
                return Poll::Ready(Some(Err(Box::new(TooLarge(self.max, self.watch)))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// A body of the given chunks.
    struct Chunks(Vec<Bytes>);
    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(if self.0.is_empty() {
                None
            } else {
                Some(Ok(Frame::data(self.0.remove(0))))
            })
        }
    }

    /// How many frames pass before the body fails (None: it never does).
    fn fails_after(chunks: &[&str], max: u64, watch: bool) -> Option<usize> {
        let mut body = Limited {
            inner: Chunks(chunks.iter().map(|c| Bytes::from(c.to_string())).collect()),
            max,
            watch,
            seen: 0,
        };
        let mut cx = Context::from_waker(Waker::noop());
        for i in 0.. {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    assert!(e.to_string().contains("gen's limit"), "{e}");
                    return Some(i);
                }
                Poll::Ready(None) => return None,
                Poll::Pending => unreachable!("the test body is always ready"),
            }
        }
        None
    }

    #[test]
    fn responses_are_bounded_whole_and_watches_per_line() {
        assert_eq!(fails_after(&["abcd", "efgh"], 8, false), None);
        assert_eq!(fails_after(&["abcd", "efgh", "i"], 8, false), Some(2));
        assert_eq!(fails_after(&["abcdefghi"], 8, false), Some(0));
        // New lines do not reset a plain response.
        assert_eq!(fails_after(&["abc\n", "def\n", "ghi\n"], 8, false), Some(2));
        // A watch: each line alone.
        assert_eq!(fails_after(&["abc\n", "def\n", "ghi\n"], 8, true), None);
        assert_eq!(
            fails_after(&["abcdef", "gh\nij", "klmnopq"], 8, true),
            Some(2)
        );
        assert_eq!(fails_after(&["abcdefgh", "ijk\n"], 8, true), Some(1));
        assert_eq!(fails_after(&["abcdefg", "hi\nj"], 8, true), Some(1));
        assert_eq!(fails_after(&["a\nabcdefghi\nb"], 8, true), Some(0));
    }
}
