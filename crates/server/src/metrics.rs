//! Prometheus metrics: requests by endpoint (the route pattern, never the raw path, so the
//! label set stays bounded and names no partner or object) and status, objects served and
//! received, failed logins, and request latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) endpoint: String,
    pub(crate) method: String,
    pub(crate) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndpointLabels {
    pub(crate) endpoint: String,
}

pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    served: Counter,
    received: Counter,
    auth_failures: Counter,
    evaluated: Counter,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("liaison_taxii");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let served = Counter::default();
        let received = Counter::default();
        let auth_failures = Counter::default();
        let evaluated = Counter::default();
        registry.register(
            "match_evaluated",
            "selectors evaluated for partners' private-matching requests (padding included)",
            evaluated.clone(),
        );
        registry.register(
            "requests",
            "HTTP requests by endpoint, method and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "request latency",
            latency.clone(),
        );
        registry.register(
            "objects_served",
            "STIX objects served to partners",
            served.clone(),
        );
        registry.register(
            "objects_received",
            "STIX objects stored from partners",
            received.clone(),
        );
        registry.register(
            "auth_failures",
            "failed authentications",
            auth_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            served,
            received,
            auth_failures,
            evaluated,
        }
    }

    pub(crate) fn evaluated(&self, n: u64) {
        self.evaluated.inc_by(n);
    }

    pub(crate) fn request(&self, endpoint: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            })
            .observe(seconds);
    }

    pub(crate) fn served(&self, n: usize) {
        self.served.inc_by(n as u64);
    }

    pub(crate) fn received(&self, n: usize) {
        self.received.inc_by(n as u64);
    }

    pub(crate) fn auth_failure(&self) {
        self.auth_failures.inc();
    }

    /// The OpenMetrics text exposition.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
