"""Prometheus metrics: the exposition text as written, and a real realm's endpoint scraped for real."""
from __future__ import annotations

import math
import re
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest
from harness import spawn, wait_until
from mtor_client import Client, Internal
from mtor_client._convert import chat_request
from mtor_client.types import Failed

from mtor_server.metrics import Counter, Gauge, Histogram, render
from mtor_server.metrics.registry import format_value

NAME = 'lab "7"\\north'  # a realm name that needs escaping in a label value

# ------------------------------------------------------------- the text --


def test_label_values_and_help_are_escaped():
    counter = Counter("x_total", 'Help with a \\ backslash,\na newline and "quotes".', ("who",), {"realm": NAME})
    counter.inc(2, who='say "hi"\nback\\slash')
    assert render([counter]) == (
        '# HELP x_total Help with a \\\\ backslash,\\na newline and "quotes".\n'
        "# TYPE x_total counter\n"
        'x_total{realm="lab \\"7\\"\\\\north",who="say \\"hi\\"\\nback\\\\slash"} 2\n')
    parsed = parse(render([counter]))
    assert parsed.value("x_total", who='say "hi"\nback\\slash') == 2 and parsed.samples[0][1]["realm"] == NAME


def test_histogram_buckets_are_cumulative_and_end_with_inf():
    histogram = Histogram("h_seconds", "H.", (1, 0.5), ("kind",))
    for value in (0.1, 0.5, 0.7, 3.0):
        histogram.observe(value, kind="chat")
    gauge = Gauge("g", "G.")
    gauge.set(1.5)
    assert render([histogram, gauge]) == (
        "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
        'h_seconds_bucket{kind="chat",le="0.5"} 2\n'
        'h_seconds_bucket{kind="chat",le="1.0"} 3\n'
        'h_seconds_bucket{kind="chat",le="+Inf"} 4\n'
        'h_seconds_sum{kind="chat"} 4.3\n'
        'h_seconds_count{kind="chat"} 4\n'
        "# HELP g G.\n# TYPE g gauge\ng 1.5\n")
    assert [format_value(v) for v in (math.inf, -math.inf, math.nan, 3.0, 0.25)] == ["+Inf", "-Inf", "NaN", "3",
                                                                                     "0.25"]


def test_metrics_refuse_what_prometheus_would_not_read():
    with pytest.raises(ValueError, match="_total"):
        Counter("intents", "No suffix.")
    with pytest.raises(ValueError, match="label name"):
        Histogram("h", "H.", (1,), ("le",))
    with pytest.raises(ValueError, match="label name"):
        Gauge("g", "G.", ("bad-name",))
    counter = Counter("c_total", "C.", ("kind",))
    with pytest.raises(ValueError, match="takes the labels"):
        counter.inc(kind="chat", outcome="x")
    with pytest.raises(ValueError, match="cannot go down"):
        counter.inc(-1, kind="chat")


# ------------------------------------------------------- a real realm --


def test_the_endpoint_counts_intents_by_kind_and_outcome(cluster):
    realm = cluster.realm({"MTOR_REALM_NAME": NAME})
    cluster.worker(realm, "w1", concurrency=4)
    url = metrics_url(realm)
    before = scrape(url)
    assert before.value("mtor_intents_total", kind="chat", outcome="succeeded") == 0  # present from the start
    assert before.value("mtor_workers", state="available") == 1
    with Client(realm.address) as client:
        for i in range(3):
            assert client.chat(f"hello {i}", timeout=10).text == f"echo: hello {i}"
        with pytest.raises(Internal):
            client.chat("!fail please", timeout=10)
        doomed = client.submit(chat_request("!sleep 10 cancel me"))
        doomed_id = next(doomed).intent_id
        assert client.cancel(doomed_id) == "cancelled"
        assert isinstance(list(doomed)[-1], Failed)
        for text in ("one", "two"):
            client.speak(text, timeout=10)
    after = scrape(url)

    assert after.types["mtor_intents_total"] == "counter"
    outcomes = {(s["kind"], s["outcome"]): v for name, s, v in after.samples if name == "mtor_intents_total"}
    assert {k: v for k, v in outcomes.items() if v} == {("chat", "succeeded"): 3, ("chat", "failed"): 1,
                                                        ("chat", "cancelled"): 1, ("speak", "succeeded"): 2}
    assert len(outcomes) == 21  # seven kinds x three outcomes, zeros included
    assert [(s["kind"], s["code"], v) for name, s, v in after.samples
            if name == "mtor_intent_errors_total"] == [("chat", "INTERNAL", 1)]

    assert after.types["mtor_intent_processing_seconds"] == "histogram"
    for kind, succeeded in (("chat", 3), ("speak", 2)):
        buckets = after.buckets("mtor_intent_processing_seconds", kind=kind)
        assert buckets[-1] == (math.inf, succeeded)
        assert after.value("mtor_intent_processing_seconds_count", kind=kind) == succeeded
        assert 0 <= after.value("mtor_intent_processing_seconds_sum", kind=kind) < 10
    # every intent of a worker kind here reached a worker, cancelled and failed ones too
    assert after.buckets("mtor_intent_queue_wait_seconds", kind="chat")[-1] == (math.inf, 5)
    assert after.value("mtor_intent_queue_wait_seconds_count", kind="speak") == 2
    assert after.value("mtor_queue_depth", kind="chat") == 0 and after.value("mtor_intents_running", kind="chat") == 0
    assert after.value("mtor_uptime_seconds") > before.value("mtor_uptime_seconds") > 0
    assert {s["realm"] for _, s, _ in after.samples} == {NAME}  # every sample, escaped and read back


def test_gauges_show_the_queue_and_the_workers_as_they_are(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=1)
    url = metrics_url(realm)
    with Client(realm.address) as client, realm.admin() as admin:
        busy = client.submit(chat_request("!sleep 3 busy"))
        next(busy), next(busy)  # accepted, started
        waiting = [client.submit(chat_request(f"wait {i}")) for i in range(2)]
        for stream in waiting:
            next(stream)
        now = scrape(url)
        assert now.value("mtor_queue_depth", kind="chat") == 2
        assert now.value("mtor_intents_running", kind="chat") == 1
        assert now.value("mtor_worker_slots", state="busy") == 1 and now.value("mtor_worker_slots", state="free") == 0
        assert now.value("mtor_users_connected") == 1  # anonymous, with three calls open
        assert now.value("mtor_queue_depth", kind="speak") == 0

        admin.drain_worker("w1")
        assert list(busy)[-1].result.worker == "w1"  # the drained worker finishes its work, takes no more
        drained = scrape(url)
        assert [drained.value("mtor_workers", state=s) for s in ("available", "draining", "blacklisted")] == [0, 1, 0]
        assert [drained.value("mtor_worker_slots", state=s) for s in ("free", "busy")] == [0, 0]  # its slot is idle
        assert drained.value("mtor_queue_depth", kind="chat") == 2
        admin.readmit_worker("w1")
        assert scrape(url).value("mtor_workers", state="available") == 1
        for stream in waiting:
            assert list(stream)[-1].result.worker == "w1"
    done = scrape(url)
    assert done.value("mtor_queue_depth", kind="chat") == 0 and done.value("mtor_intents_running", kind="chat") == 0
    # the two that waited behind the 3 s sleep waited more than a second; the first did not wait
    waits = dict(done.buckets("mtor_intent_queue_wait_seconds", kind="chat"))
    assert (waits[1.0], waits[math.inf]) == (1, 3)
    wait_until(lambda: scrape(url).value("mtor_users_connected") == 0, 5, what="no user connected")


def test_the_realm_keeps_serving_while_it_is_scraped(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    url = metrics_url(realm)
    host, port = re.match(r"http://([^/]+):(\d+)/", url).groups()
    stalled = socket.create_connection((host, int(port)), timeout=5)  # a request never finished
    stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    scrapes: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def scraper() -> None:
        while not stop.is_set():
            try:
                scrapes.append(len(scrape(url).samples))
            except BaseException as e:  # reported below
                errors.append(e)
                return

    thread = threading.Thread(target=scraper, daemon=True)
    thread.start()
    try:
        with Client(realm.address) as client:
            answers = [client.chat(f"during {i}", timeout=10).text for i in range(10)]
        wait_until(lambda: len(scrapes) >= 10 or errors, 10, what="ten scrapes")
    finally:
        stop.set()
        thread.join(10)
        stalled.close()
    assert not errors and answers == [f"echo: during {i}" for i in range(10)]
    assert min(scrapes) > 30  # every scrape parsed whole
    assert scrape(url).value("mtor_intents_total", kind="chat", outcome="succeeded") == 10


def test_only_get_metrics_is_served_and_each_connection_closes(cluster):
    realm = cluster.realm()
    url = metrics_url(realm)
    with pytest.raises(urllib.error.HTTPError) as missing:
        _open(url.replace("/metrics", "/other"))
    assert missing.value.code == 404
    host, port = re.match(r"http://([^/]+):(\d+)/", url).groups()
    assert raw(host, int(port), b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(host, int(port), b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"y" * 9000 + b"\r\n\r\n"
               ).startswith(b"HTTP/1.1 400 ")
    assert raw(host, int(port), b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    head = raw(host, int(port), b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n")  # headers only
    full = raw(host, int(port), b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")  # raw() reads to the close: it closed
    headers, body = full.split(b"\r\n\r\n", 1)
    assert b"Content-Type: text/plain; version=0.0.4; charset=utf-8" in headers
    assert int(re.search(rb"Content-Length: (\d+)", headers).group(1)) == len(body) > 0
    assert b"# TYPE mtor_intents_total counter" in body
    assert realm.describe().name  # gRPC unharmed


def test_metrics_can_be_turned_off_and_a_taken_port_stops_the_start(cluster, tmp_path):
    off = cluster.realm({"MTOR_METRICS_LISTEN": ""}, name="off")
    assert "metrics on" not in off.proc.output() and off.describe().name
    taken = metrics_url(cluster.realm(name="first")).removeprefix("http://").removesuffix("/metrics")
    proc = spawn(["realm", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "second")],
                 tmp_path / "second.log", {"MTOR_METRICS_LISTEN": taken})
    try:
        assert proc.popen.wait(30) == 2
    finally:
        if proc.alive():
            proc.popen.kill()
    assert f"mtor: metrics.listen {taken}: cannot listen" in proc.output() and "Traceback" not in proc.output()
    assert "sysop token" not in proc.output()  # no secrets shown by a realm that did not start


# ------------------------------------------------------------- helpers --


@dataclass
class Scrape:
    types: dict[str, str] = field(default_factory=dict)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def series(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        return [(s, v) for n, s, v in self.samples if n == name and all(s.get(k) == w for k, w in labels.items())]

    def value(self, name: str, **labels: str) -> float:
        found = self.series(name, **labels)
        assert len(found) == 1, f"{name} {labels}: {found}"
        return found[0][1]

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """(le, count) in order, checked to be cumulative up to +Inf."""
        found = [(float(s["le"]), v) for s, v in self.series(f"{name}_bucket", **labels)]
        bounds, counts = [b for b, _ in found], [c for _, c in found]
        assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds) and bounds[-1] == math.inf, bounds
        assert counts == sorted(counts), f"{name} buckets are not cumulative: {found}"
        assert counts[-1] == self.value(f"{name}_count", **labels)
        return found


_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')
_SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def parse(text: str) -> Scrape:
    """The text format 0.0.4, strictly: each sample of a family whose TYPE came before it."""
    out = Scrape()
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in out.types and kind in _SUFFIXES, line
            out.types[name] = kind
            continue
        if line.startswith("# HELP ") or not line:
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"not a sample line: {line!r}"
        name, inner, value = match.groups()
        assert any(name == family + suffix for family, kind in out.types.items() for suffix in _SUFFIXES[kind]), name
        labels: dict[str, str] = {}
        pos = 0
        while inner and pos < len(inner):
            label = _LABEL.match(inner, pos)
            assert label, f"bad labels in {line!r}"
            assert label[1] not in labels
            labels[label[1]] = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], label[2])
            pos = label.end()
        out.samples.append((name, labels, float(value)))
    return out


def _open(url: str):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 directly, whatever the env
    return opener.open(url, timeout=5)


def scrape(url: str) -> Scrape:
    with _open(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return parse(response.read().decode("utf-8"))


def metrics_url(realm) -> str:
    found = wait_until(lambda: re.search(r"metrics on (http://\S+)", realm.proc.output()), 10, what="the metrics line")
    return found.group(1)


def raw(host: str, port: int, request: bytes) -> bytes:
    """Send a request as bytes; everything the server sent until it closed the connection."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
