"""Proxy metrics, kept cheap: labelled children are looked up once and then reused."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "gateway_proxied_requests_total",
            "Requests proxied to an upstream (or refused by the gateway)",
            ["upstream", "method", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "gateway_proxied_request_duration_seconds",
            "Time from request to the end of the relayed response",
            ["upstream"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self._counters: dict[tuple[str, str, int], object] = {}
        self._histograms: dict[str, object] = {}

    def observe(self, upstream: str, method: str, status: int, seconds: float) -> None:
        key = (upstream, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self._requests.labels(upstream, method, str(status))
        counter.inc()  # type: ignore[attr-defined]
        histogram = self._histograms.get(upstream)
        if histogram is None:
            histogram = self._histograms[upstream] = self._latency.labels(upstream)
        histogram.observe(seconds)  # type: ignore[attr-defined]
