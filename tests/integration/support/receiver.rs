//! A webhook receiver on loopback, as a client would run one: it records every delivery (its
//! event id, signature header and body, and what it answered), answering as told.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// 200 to everything.
    Healthy,
    /// 500 to every other request, the first included.
    FailsHalf,
    /// Holds every request this long before its 200.
    Slow(Duration),
    /// 410 Gone.
    Gone,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub event_id: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

#[derive(Clone)]
struct Shared {
    behaviour: Behaviour,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

/// Starts a receiver that behaves as `behaviour`.
pub async fn start(behaviour: Behaviour) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let shared = Shared {
        behaviour,
        received: received.clone(),
    };
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url, received }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let answered = match shared.behaviour {
        Behaviour::Healthy => StatusCode::OK,
        Behaviour::Gone => StatusCode::GONE,
        Behaviour::Slow(hold) => {
            tokio::time::sleep(hold).await;
            StatusCode::OK
        }
        Behaviour::FailsHalf => {
            let count = shared.received.lock().unwrap().len();
            if count % 2 == 0 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::NO_CONTENT
            }
        }
    };
    shared.received.lock().unwrap().push(Received {
        event_id: header("invoicer-event-id"),
        signature: header("invoicer-signature"),
        body,
        answered: answered.as_u16(),
    });
    answered
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The deliveries it answered with a 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits until it has accepted `count` deliveries; answers them. A bound, not a timing
    /// assertion: a stuck pipeline fails the test instead of hanging it.
    pub async fn wait_for_accepted(&self, count: usize) -> Vec<Received> {
        for _ in 0..1_500 {
            let accepted = self.accepted();
            if accepted.len() >= count {
                return accepted;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "{} never accepted {count} deliveries: {:?}",
            self.url,
            self.received()
        );
    }
}
