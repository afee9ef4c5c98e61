//! Concurrent fan-out to custodians.
//!
//! Each leg is bounded by its own deadline (see [`crate::upstream::Upstream::call`]), so the
//! fan-out as a whole takes about as long as its slowest leg, never the sum, and never longer
//! than the caller's deadline.

use std::{future::Future, sync::Arc};

use crate::upstream::Upstream;

/// Runs `leg` for every upstream at once and returns the results in upstream order.
pub async fn fan_out<T, F, Fut>(upstreams: &[Arc<Upstream>], leg: F) -> Vec<(Arc<Upstream>, T)>
where
    F: Fn(Arc<Upstream>) -> Fut,
    Fut: Future<Output = T>,
{
    let legs = upstreams.iter().map(|u| {
        let upstream = u.clone();
        let fut = leg(upstream.clone());
        async move { (upstream, fut.await) }
    });
    futures::future::join_all(legs).await
}
