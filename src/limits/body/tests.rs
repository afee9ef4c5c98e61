use std::time::Instant;

use super::*;
use crate::limits::budget::SendBudget;

/// A body yielding these data chunks, then ending.
struct Chunks(Vec<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Poll::Ready((!self.0.is_empty()).then(|| Ok(Frame::data(self.0.remove(0)))))
    }
}

async fn next(body: &mut ResponseBody<Chunks>) -> Option<Frame<Bytes>> {
    std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx))
        .await
        .map(|f| f.expect("a frame, not an error"))
}

fn hello(connection: &Arc<ConnectionState>) -> ResponseBody<Chunks> {
    ResponseBody::new(
        Chunks(vec![Bytes::from_static(b"hello")]),
        None,
        Some(connection.clone()),
        None,
    )
}

#[tokio::test]
async fn an_answer_that_finds_no_room_ends_with_resource_exhausted_at_the_send_timeout() {
    let connection = ConnectionState::new(SendBudget::new(1_000, 10, Duration::from_millis(100)));
    // Another answer holds all the connection's room.
    connection.try_reserve(10).unwrap();
    let mut body = hello(&connection);
    let started = Instant::now();
    let trailers = next(&mut body)
        .await
        .expect("trailers")
        .into_trailers()
        .expect("the answer ends with trailers");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(trailers["grpc-status"], "8");
    assert!(next(&mut body).await.is_none());
    assert_eq!(connection.held(), 10, "the dropped answer holds nothing");
}

#[tokio::test]
async fn a_waiting_answer_goes_on_when_room_comes_free_and_gives_it_back_once_taken_on() {
    let connection = ConnectionState::new(SendBudget::new(1_000, 10, Duration::from_secs(10)));
    connection.try_reserve(10).unwrap();
    let other = connection.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        other.release(10);
    });
    let mut body = hello(&connection);
    let chunk = next(&mut body).await.expect("data");
    assert_eq!(chunk.into_data().expect("data"), "hello");
    assert_eq!(
        connection.held(),
        5,
        "the chunk holds its bytes until taken on"
    );
    assert!(connection.stall_due().is_some(), "the send timer runs");
    assert!(next(&mut body).await.is_none());
    assert_eq!(connection.held(), 0);
    assert!(connection.stall_due().is_none());
}
