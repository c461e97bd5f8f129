//! Prometheus metrics of one server instance, exposed at `/metrics`.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template (`/api/conversations/{id}`), never the raw path, to bound cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub reason: String,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub websocket_connections: Gauge,
    pub users_online: Gauge,
    pub messages_sent: Counter,
    pub events_delivered: Counter,
    pub slow_clients_disconnected: Counter,
    pub calls_ended: Family<CallLabels, Counter>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_request_seconds: HistogramFamily,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let websocket_connections = Gauge::default();
        let users_online = Gauge::default();
        let messages_sent = Counter::default();
        let events_delivered = Counter::default();
        let slow_clients_disconnected = Counter::default();
        let calls_ended = Family::<CallLabels, Counter>::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        let http_request_seconds: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let mut registry = Registry::with_prefix("natter");
        registry.register(
            "websocket_connections",
            "Open realtime WebSocket connections",
            websocket_connections.clone(),
        );
        registry.register(
            "users_online",
            "Users with at least one open connection",
            users_online.clone(),
        );
        registry.register(
            "messages_sent",
            "Messages stored (resends of the same client_id not counted)",
            messages_sent.clone(),
        );
        registry.register(
            "events_delivered",
            "Durable events written to WebSockets, backlog included",
            events_delivered.clone(),
        );
        registry.register(
            "slow_clients_disconnected",
            "Connections closed because their queue was full",
            slow_clients_disconnected.clone(),
        );
        registry.register(
            "calls_ended",
            "Calls ended, by end reason",
            calls_ended.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and status",
            http_request_seconds.clone(),
        );
        Metrics {
            registry,
            websocket_connections,
            users_online,
            messages_sent,
            events_delivered,
            slow_clients_disconnected,
            calls_ended,
            http_requests,
            http_request_seconds,
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
