"""The gateway process: `mtor gateway` in front of a realm, and `mtor up` starting one."""
from __future__ import annotations

import json
import re
import signal
import urllib.error
import urllib.request

from harness import spawn, wait_until


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_the_gateway_serves_in_front_of_a_realm_and_stops_cleanly(cluster):
    realm = cluster.realm()
    gateway = cluster.gateway(realm)
    assert get_json(f"{gateway.url}/healthz") == {"realm": "SERVING"}
    assert gateway.proc.terminate() == 0
    assert "Traceback" not in gateway.proc.output()


def test_the_gateway_says_when_its_port_is_taken(cluster, tmp_path):
    realm = cluster.realm()
    gateway = cluster.gateway(realm)
    taken = gateway.url.removeprefix("http://")
    proc = spawn(["gateway", "--realm", realm.address, "--listen", taken, "--data-dir", str(tmp_path / "g2")],
                 tmp_path / "g2.log")
    assert proc.popen.wait(20) == 2
    assert f"mtor: gateway.listen {taken}: cannot listen" in proc.output() and "Traceback" not in proc.output()


def test_up_starts_a_gateway_and_prints_its_url_unless_told_not_to(tmp_path):
    for no_gateway in (False, True):
        data = tmp_path / f"data-{no_gateway}"
        args = ["up", "--listen", "127.0.0.1:0", "--data-dir", str(data), "--backend", "echo"]
        proc = spawn(args + (["--no-gateway"] if no_gateway else []), tmp_path / f"up-{no_gateway}.log")
        try:
            wait_until(lambda: "listening on" in proc.output(), 20, what="the realm")
            if no_gateway:
                wait_until(lambda: "worker" in proc.output() and "joined" in proc.output(), 30, what="the worker")
                assert "mtor gateway on" not in proc.output()
            else:
                url = wait_until(lambda: (m := re.search(r"mtor gateway on (http://\S+)", proc.output()))
                                 and m.group(1), 30, what="the gateway's URL")
                assert get_json(f"{url}/healthz") == {"realm": "SERVING"}
            proc.popen.send_signal(signal.SIGTERM)
            assert proc.popen.wait(30) == 0, proc.output()
            assert "Traceback" not in proc.output()
        finally:
            if proc.alive():
                proc.popen.kill()


def test_cors_answers_the_allow_listed_origins_only(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    gateway = cluster.gateway(realm, env={"MTOR_GATEWAY_ORIGINS": "https://app.example.org"})

    def preflight(origin: str) -> dict[str, str]:
        request = urllib.request.Request(f"{gateway.url}/v1/chat/completions", method="OPTIONS", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as e:
            return {k.lower(): v for k, v in e.headers.items()}

    allowed = preflight("https://app.example.org")
    assert allowed.get("access-control-allow-origin") == "https://app.example.org"
    assert "authorization" in allowed.get("access-control-allow-headers", "").lower()
    assert "access-control-allow-origin" not in preflight("https://evil.example")
    body = json.dumps({"model": "", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"{gateway.url}/v1/chat/completions", body, {
        "content-type": "application/json", "Origin": "https://app.example.org"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "x-mtor-intent-id" in response.headers["access-control-expose-headers"]
        assert json.loads(response.read())["choices"][0]["message"]["content"] == "echo: hi"
