"""The recall suite: composed 1080p photos are deterministic, their faces inside the frame and apart."""

from __future__ import annotations

import numpy as np

from perf.recall_suite import PHOTOS, PLATES, SCENES, photo_images, suite


def test_composed_photos_are_deterministic_with_faces_inside_the_frame() -> None:
    first, again = list(photo_images(3)), list(photo_images(3))
    for image, same in zip(first, again, strict=True):
        assert image.group == PHOTOS and image.size == "1920x1080"
        assert np.array_equal(image.pixels, same.pixels) and np.array_equal(image.boxes, same.boxes)
        boxes = image.boxes
        assert len(boxes) >= 2
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 1920).all() and (boxes[:, 3] <= 1080).all()
        assert ((boxes[:, 2] - boxes[:, 0]) > 10).all() and ((boxes[:, 3] - boxes[:, 1]) >= 20).all()
    assert not np.array_equal(first[0].pixels, first[1].pixels)


def test_pasted_faces_keep_their_pixels() -> None:
    """The first photo is the astronaut fitted whole: its face box holds a face, not the background."""
    image = next(photo_images(1))
    x1, y1, x2, y2 = image.boxes[0].round().astype(int)
    face = image.pixels[y1:y2, x1:x2].astype(np.float32)
    assert face.std() > 20  # eyes, mouth, hair: not a flat patch


def test_groups_are_chosen_and_ordered() -> None:
    images = suite((SCENES,), photos=0)
    assert images and {image.group for image in images} == {SCENES}
    assert [image.group for image in suite((PHOTOS,), photos=2)] == [PHOTOS, PHOTOS]


def test_plates_are_their_own_group_with_plate_boxes() -> None:
    images = suite((PLATES,))
    assert [(image.name, len(image.boxes)) for image in images] == [("bus-3-plates", 3), ("zidane-1-plate", 1)]
    assert [(image.boxes[:, 2] - image.boxes[:, 0]).tolist() for image in images] == [[200.0, 160.0, 120.0], [180.0]]
    assert all(image.group == PLATES for image in images)
