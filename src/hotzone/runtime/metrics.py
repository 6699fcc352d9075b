"""Prometheus ``/metrics`` of a pipeline process (``hotzone ingest``, ``node``, ``serve``).

Services count into their own plain counters (`SourceCounters`, `ServiceCounters`,
`UdpCounters`, ...); `PipelineMetrics` is told which ones a process has (``watch_*``) and
reads them when scraped, with the maintained ``prometheus_client`` producing the text
format. Nothing here changes what a service does, and a process without ``--metrics-port``
builds none of it.

The exporter runs in ``prometheus_client``'s own HTTP thread, so a scrape is answered
while the event loop is busy decoding; it only reads integers and copies of counters.

Metrics (every name starts with ``hotzone_``):

- sources (label ``source``): ``source_chunks_total`` (reads or datagrams decoded),
  ``source_bytes_total``, ``source_messages_total`` (published), ``dead_letters_total``
  (also by ``reason``, the text of the refusal before its first colon),
  ``source_decode_seconds`` (histogram: arrival to published);
- servers (label ``source``): ``connections_total``, ``connections_open``,
  ``connections_refused_total`` (by ``reason``: ``limit`` or ``tls``),
  ``connections_closed_total`` (by ``reason``: ``idle`` or ``slow``);
- UDP (label ``source``): ``udp_datagrams_received_total``,
  ``udp_datagrams_dropped_total`` (by ``where``: ``kernel``, ``backlog``, ``queue``),
  ``udp_backlog_datagrams``, ``udp_receive_buffer_bytes``;
- stages (label ``stage``): ``stage_messages_in_total`` and ``stage_messages_out_total``
  (by ``type``), ``stage_dead_letters_total``, ``stage_step_seconds`` (histogram: one
  window's step and the publishing of its outputs), ``queue_depth`` (messages waiting in
  the stage's subscription; the recorder's too), ``recorded_messages_total``;
  ``ingest --track``'s tracker is the stage ``tracking`` (reports in, Track messages out).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from hotzone.runtime.latency import LatencyHistogram

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from hotzone.runtime.live_tracking import LiveTrackingService
    from hotzone.runtime.pipeline import Pipeline
    from hotzone.runtime.services import RecorderService, StageService
    from hotzone.runtime.sources import SourceCounters
    from hotzone.runtime.udp_receiver import UdpReceiver

#: Where the exporter listens: metrics say what a node receives and refuses, which is for
#: this machine's monitoring agent, not for the network.
METRICS_HOST = "127.0.0.1"


@dataclass
class PipelineMetrics:
    """The counters of one process, as Prometheus metrics."""

    sources: dict[str, SourceCounters] = field(default_factory=dict)
    udp: dict[str, UdpReceiver] = field(default_factory=dict)
    stages: list[StageService] = field(default_factory=list)
    recorders: list[RecorderService] = field(default_factory=list)
    trackers: list[LiveTrackingService] = field(default_factory=list)
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=False)
    )
    event_loop: str | None = None
    """Which event loop the process runs on (`hotzone.runtime.event_loop`), once it runs."""
    _server: WSGIServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.registry.register(_PipelineCollector(self))

    def watch_source(self, name: str, counters: SourceCounters) -> None:
        self.sources[name] = counters

    def watch_udp(self, name: str, receiver: UdpReceiver) -> None:
        self.udp[name] = receiver

    def watch_pipeline(self, pipeline: Pipeline) -> None:
        self.stages.extend(pipeline.services)
        self.recorders.append(pipeline.recorder)

    def watch_recorder(self, recorder: RecorderService) -> None:
        self.recorders.append(recorder)

    def watch_event_loop(self, kind: str) -> None:
        self.event_loop = kind

    def watch_tracker(self, tracker: LiveTrackingService) -> None:
        """``hotzone ingest --track``'s tracking, shown as the stage ``tracking``."""
        self.trackers.append(tracker)

    def text(self) -> bytes:
        """The Prometheus text exposition of everything watched."""
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = METRICS_HOST) -> int:
        """Answer ``GET /metrics`` on HOST:PORT (port 0: a free one); the port bound."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None


class _PipelineCollector(Collector):
    def __init__(self, metrics: PipelineMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        if self.metrics.event_loop is not None:
            loop = _gauge("event_loop_info", "The event loop the process runs on", ["loop"])
            loop.add_metric([self.metrics.event_loop], 1.0)
            yield loop
        yield from _source_metrics(self.metrics.sources)
        yield from _udp_metrics(self.metrics.udp, self.metrics.sources)
        yield from _stage_metrics(
            self.metrics.stages, self.metrics.recorders, self.metrics.trackers
        )


def _counter(name: str, documentation: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(f"hotzone_{name}", documentation, labels=labels)


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"hotzone_{name}", documentation, labels=labels)


def _add_histogram(
    family: HistogramMetricFamily, labels: list[str], histogram: LatencyHistogram
) -> None:
    family.add_metric(labels, histogram.cumulative(), histogram.total_s)


def _source_metrics(sources: dict[str, SourceCounters]) -> Iterator[Metric]:
    if not sources:
        return  # no family without samples: the web API's /metrics has its own names
    chunks = _counter("source_chunks", "Reads or datagrams fed to the decoder", ["source"])
    size = _counter("source_bytes", "Bytes fed to the decoder", ["source"])
    messages = _counter("source_messages", "Messages decoded and published", ["source"])
    dead = _counter("dead_letters", "Refused input published as dead letters", ["source", "reason"])
    decode = HistogramMetricFamily(
        "hotzone_source_decode_seconds",
        "Seconds from a read's arrival to its messages being published",
        labels=["source"],
    )
    connections = _counter("connections", "Connections accepted", ["source"])
    open_now = _gauge("connections_open", "Connections open now", ["source"])
    refused = _counter("connections_refused", "Connections refused", ["source", "reason"])
    closed = _counter("connections_closed", "Connections closed by a limit", ["source", "reason"])
    for name, counters in sorted(sources.items()):
        chunks.add_metric([name], counters.chunks)
        size.add_metric([name], counters.bytes)
        messages.add_metric([name], counters.messages)
        for reason, count in sorted(dict(counters.dead_letter_reasons).items()):
            dead.add_metric([name, reason], count)
        _add_histogram(decode, [name], counters.decode_seconds)
        connections.add_metric([name], counters.connections)
        open_now.add_metric([name], counters.connections_open)
        refused.add_metric([name, "limit"], counters.connections_refused)
        refused.add_metric([name, "tls"], counters.connections_refused_tls)
        closed.add_metric([name, "idle"], counters.closed_idle)
        closed.add_metric([name, "slow"], counters.closed_slow)
    yield from (chunks, size, messages, dead, decode, connections, open_now, refused, closed)


def _udp_metrics(
    receivers: dict[str, UdpReceiver], sources: dict[str, SourceCounters]
) -> Iterator[Metric]:
    dropped = _counter(
        "udp_datagrams_dropped", "Datagrams dropped before decoding", ["source", "where"]
    )
    # Datagram sources read in the event loop (Unix datagram sockets) drop at their queue.
    for name, counters in sorted(sources.items()):
        if counters.datagrams_dropped:
            dropped.add_metric([name, "queue"], counters.datagrams_dropped)
    if not receivers:
        if dropped.samples:
            yield dropped
        return
    received = _counter("udp_datagrams_received", "Datagrams taken from the socket", ["source"])
    backlog = _gauge(
        "udp_backlog_datagrams", "Datagrams received and waiting for the decoder", ["source"]
    )
    buffer = _gauge(
        "udp_receive_buffer_bytes", "Socket receive buffer granted by the kernel", ["source"]
    )
    for name, receiver in sorted(receivers.items()):
        udp = receiver.counters
        received.add_metric([name], udp.received)
        dropped.add_metric([name, "kernel"], receiver.kernel_drops_now())
        dropped.add_metric([name, "backlog"], udp.dropped_backlog_full)
        backlog.add_metric([name], udp.backlog)
        buffer.add_metric([name], udp.receive_buffer_granted)
    yield from (received, dropped, backlog, buffer)


def _stage_metrics(
    stages: list[StageService],
    recorders: list[RecorderService],
    trackers: list[LiveTrackingService],
) -> Iterator[Metric]:
    if not stages and not recorders and not trackers:
        return
    received = _counter("stage_messages_in", "Messages a stage took in", ["stage", "type"])
    published = _counter("stage_messages_out", "Messages a stage published", ["stage", "type"])
    dead = _counter("stage_dead_letters", "Bus payloads a stage could not decode", ["stage"])
    steps = HistogramMetricFamily(
        "hotzone_stage_step_seconds",
        "Seconds of one window's step and the publishing of its outputs",
        labels=["stage"],
    )
    depth = _gauge("queue_depth", "Messages waiting in a consumer's subscription", ["consumer"])
    recorded = _counter("recorded_messages", "Messages written to the store", ["consumer"])
    # A waiting stage's producers (`hotzone.runtime.watermarks`): a sector node not
    # running, or no node tracking the detections of no sector (`fusion-none`), shows
    # here and not only in the summary printed when the node stops.
    went_without = _counter(
        "watermark_ticks_without",
        "Ticks a stage stepped without a producer's done marker (the producer absent)",
        ["stage", "producer"],
    )
    absent = _gauge(
        "watermark_producer_absent",
        "1 while a stage goes on without a producer it waits for, else 0",
        ["stage", "producer"],
    )
    for service in stages:
        if service.gate is not None:
            for producer in sorted(service.gate.producers):
                labels = [service.stage.name, producer]
                went_without.add_metric(labels, service.gate.timeouts[producer])
                absent.add_metric(labels, float(producer in service.gate.absent))
        name = service.stage.name
        for kind, count in sorted(dict(service.counters.received).items()):
            received.add_metric([name, kind], count)
        for kind, count in sorted(dict(service.counters.published).items()):
            published.add_metric([name, kind], count)
        dead.add_metric([name], service.counters.dead_letters)
        _add_histogram(steps, [name], service.counters.step_latency)
        if service.subscription is not None:
            depth.add_metric([name], service.subscription.pending)
    for tracker in trackers:
        for kind, count in sorted(tracker.counters.received.items()):
            received.add_metric(["tracking", kind], count)
        published.add_metric(["tracking", "Track"], tracker.counters.track_messages)
        dead.add_metric(["tracking"], tracker.counters.dead_letters)
    for index, recorder in enumerate(recorders):
        name = "recorder" if index == 0 else f"recorder{index + 1}"
        recorded.add_metric([name], recorder.recorded)
        if recorder.subscription is not None:
            depth.add_metric([name], recorder.subscription.pending)
    yield from (received, published, dead, steps, depth, recorded, went_without, absent)
