"""vision through realm and a transformers worker, on a tiny random-weight
captioner that the test builds itself; and the original's image preparation."""
from __future__ import annotations

import io
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm
from mtor_client import Client, Delta, Finished, InvalidArgument
from PIL import Image
from tiny.vision import make_captioner

from mtor_worker.backends.vision import prepare_image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_transparency_is_flattened_on_white_and_the_longest_side_is_512():
    clear = Image.new("RGBA", (1024, 300), (255, 0, 0, 0))
    clear.paste(Image.new("RGBA", (10, 10), (0, 0, 255, 255)), (0, 0))
    prepared = prepare_image(png(clear))
    assert prepared.mode == "RGB" and prepared.size == (512, 150)
    assert prepared.getpixel((400, 100)) == (255, 255, 255)  # transparent became white, not red or black
    assert prepared.getpixel((1, 1))[2] > 200  # the opaque corner kept its blue
    small = prepare_image(png(Image.new("RGB", (40, 30), (0, 128, 0))))
    assert small.size == (40, 30)  # never enlarged


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    root = tmp_path_factory.mktemp("vision")
    model = make_captioner(root)
    cluster = Cluster(root)
    try:
        realm = cluster.realm()
        cluster.worker(realm, "eyes", backends="transformers", env={"MTOR_TRANSFORMERS_MODEL": str(model)})
        yield realm
    finally:
        cluster.stop()


def test_vision_streams_text_about_an_image(realm):
    events = []
    picture = png(Image.new("RGBA", (100, 60), (255, 0, 0, 128)))
    with Client(realm.address) as client:
        result = client.vision(picture, "What is this?", max_tokens=6, on_event=events.append, timeout=120)
    assert result.kind == "vision" and result.model == "tiny-captioner" and result.worker == "eyes"
    assert 1 <= result.tokens <= 6  # random weights: meaningless text, but real generation
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert "".join(deltas) == result.text and isinstance(events[-1], Finished)


def test_bytes_that_are_not_an_image_are_invalid_argument(realm):
    with Client(realm.address) as client:
        with pytest.raises(InvalidArgument) as e:
            client.vision(b"definitely not a picture", "What is this?", timeout=60)
        assert "not an image" in e.value.message
        assert client.vision(png(Image.new("RGB", (8, 8))), max_tokens=2, timeout=60).kind == "vision"
