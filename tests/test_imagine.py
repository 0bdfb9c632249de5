"""imagine through realm and a diffusers worker, on a tiny random-weight
Stable Diffusion pipeline that the test builds and saves itself."""
from __future__ import annotations

import struct
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm
from mtor_client import Client, Delta, Finished, InvalidArgument
from tiny.diffusion import make_pipeline


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    root = tmp_path_factory.mktemp("imagine")
    pipeline = make_pipeline(root)
    cluster = Cluster(root)
    try:
        realm = cluster.realm()
        cluster.worker(realm, "painter", backends="diffusers", env={"MTOR_DIFFUSERS_MODEL": str(pipeline)})
        yield realm
    finally:
        cluster.stop()


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def test_imagine_makes_a_png_of_the_asked_size_with_a_delta_per_step(realm):
    events = []
    with Client(realm.address) as client:
        image = client.imagine("a red cube", negative_prompt="blurry", width=64, height=48, steps=2, seed=3,
                               on_event=events.append, timeout=120)
    assert png_size(image.png) == (64, 48) and (image.width, image.height, image.seed) == (64, 48, 3)
    assert image.model == "tiny-sd" and image.worker == "painter"
    fractions = [e.fraction for e in events if isinstance(e, Delta)]
    assert fractions == [0.5, 1.0] and isinstance(events[-1], Finished)


def test_the_same_seed_gives_the_same_image(realm):
    with Client(realm.address) as client:
        first, second, other = (client.imagine("a blue sphere", width=32, height=32, steps=2, seed=s, timeout=120)
                                for s in (11, 11, 12))
    assert first.png == second.png and first.png != other.png


def test_a_size_the_pipeline_cannot_make_is_invalid_argument(realm):
    with Client(realm.address) as client:
        with pytest.raises(InvalidArgument) as e:
            client.imagine("a cube", width=33, height=32, steps=2, timeout=60)
        assert "imagine.width 33 is not a multiple of" in e.value.message
        assert png_size(client.imagine("still drawing", width=16, height=16, steps=1, timeout=60).png) == (16, 16)
