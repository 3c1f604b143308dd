"""Drawn street scenes: cars, pedestrians, traffic lights and stop signs.

The driving-multilabel template and the multi-label notebooks need scenes
with several objects present or absent at once that run offline. Each scene
is drawn with Pillow: sky, buildings, a road in perspective, sidewalks, and
each object (really drawn, at a random place and size) with its own
probability, so labels are imbalanced as in real driving data. Distractors
carry no label: red cars (stop signs are red), trees, blue road signs,
street lamps (poles, like traffic lights).
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CANVAS = 96  # scenes are drawn at this size, then scaled down
LABELS = ("car", "pedestrian", "traffic_light", "stop_sign")
# Probability that a scene contains each object.
PRESENCE = {"car": 0.5, "pedestrian": 0.35, "traffic_light": 0.3, "stop_sign": 0.2}
CAR_COLOURS = [
    (200, 30, 30),
    (30, 60, 160),
    (230, 230, 230),
    (40, 40, 40),
    (150, 150, 160),
    (220, 180, 40),
    (30, 120, 60),
]


def _colour(rng, low=0, high=256):
    return tuple(int(value) for value in rng.integers(low, high, 3))


def _background(rng, draw, horizon):
    sky = [(120, 170, 230), (170, 175, 185), (230, 160, 110)][int(rng.integers(0, 3))]
    for y in range(horizon):
        shade = 1 - 0.25 * y / horizon
        draw.line((0, y, CANVAS, y), fill=tuple(int(v * shade) for v in sky))
    x = -int(rng.integers(0, 10))
    while x < CANVAS:  # buildings along the horizon
        width, height = int(rng.integers(12, 28)), int(rng.integers(10, horizon - 4))
        wall = _colour(rng, 90, 200)
        draw.rectangle((x, horizon - height, x + width, horizon), fill=wall)
        for wy in range(horizon - height + 3, horizon - 3, 6):
            for wx in range(x + 3, x + width - 3, 6):
                draw.rectangle((wx, wy, wx + 2, wy + 2), fill=tuple(v // 2 for v in wall))
        x += width + int(rng.integers(0, 4))
    draw.rectangle((0, horizon, CANVAS, CANVAS), fill=(150, 150, 145))  # sidewalks
    road = _colour(rng, 55, 85)
    draw.polygon(
        [
            (CANVAS * 0.42, horizon),
            (CANVAS * 0.58, horizon),
            (CANVAS * 0.95, CANVAS),
            (CANVAS * 0.05, CANVAS),
        ],
        fill=road,
    )
    lane = (235, 235, 235) if rng.random() < 0.6 else (230, 200, 60)
    for y in range(horizon + 3, CANVAS, 9):
        draw.line((CANVAS / 2, y, CANVAS / 2, y + 4), fill=lane, width=1 + y // 40)


def _pole(draw, x, top, bottom, colour=(90, 90, 95)):
    draw.rectangle((x - 1, min(top, bottom), x + 1, max(top, bottom)), fill=colour)


def _car(rng, draw, horizon):
    depth = rng.uniform(0.35, 1.0)  # 1: close to the camera
    width = 22 + 26 * depth
    y = horizon + 6 + (CANVAS - horizon - 12) * depth
    x = rng.uniform(CANVAS * 0.3, CANVAS * 0.7) - width / 2 + rng.normal(0, 6)
    body = CAR_COLOURS[int(rng.integers(0, len(CAR_COLOURS)))]
    draw.polygon(
        [
            (x + width * 0.2, y - width * 0.42),
            (x + width * 0.8, y - width * 0.42),
            (x + width * 0.92, y - width * 0.22),
            (x + width * 0.08, y - width * 0.22),
        ],
        fill=body,
    )
    draw.polygon(
        [
            (x + width * 0.26, y - width * 0.38),
            (x + width * 0.74, y - width * 0.38),
            (x + width * 0.83, y - width * 0.24),
            (x + width * 0.17, y - width * 0.24),
        ],
        fill=(150, 190, 215),
    )
    draw.rounded_rectangle((x, y - width * 0.24, x + width, y), radius=3, fill=body)
    wheel = width * 0.11
    for wx in (x + width * 0.2, x + width * 0.8):
        draw.ellipse((wx - wheel, y - wheel, wx + wheel, y + wheel), fill=(20, 20, 20))
    for lx in (x + width * 0.1, x + width * 0.9):
        draw.ellipse((lx - 2, y - width * 0.16, lx + 2, y - width * 0.1), fill=(250, 240, 180))


def _pedestrian(rng, draw, horizon):
    height = rng.uniform(32, 46)
    x = rng.choice(
        [
            rng.uniform(4, CANVAS * 0.3),
            rng.uniform(CANVAS * 0.7, CANVAS - 4),
            rng.uniform(CANVAS * 0.3, CANVAS * 0.7),
        ],
        p=[0.4, 0.4, 0.2],
    )
    feet = rng.uniform(horizon + height * 0.4, CANVAS - 2)
    head = height * 0.16
    top = feet - height
    skin = [(236, 200, 175), (120, 80, 55), (190, 140, 100)][int(rng.integers(0, 3))]
    shirt, trousers = _colour(rng, 20, 235), _colour(rng, 10, 80)
    draw.ellipse((x - head, top, x + head, top + 2 * head), fill=skin)
    draw.rectangle(
        (x - height * 0.18, top + 2 * head, x + height * 0.18, top + height * 0.58), fill=shirt
    )
    stride = rng.uniform(0, height * 0.15)
    for side in (-1, 1):
        draw.line(
            (
                x + side * height * 0.06,
                top + height * 0.58,
                x + side * (height * 0.06 + stride),
                feet,
            ),
            fill=trousers,
            width=4,
        )
        draw.line(
            (
                x + side * height * 0.16,
                top + 2.4 * head,
                x + side * height * 0.24,
                top + height * 0.55,
            ),
            fill=shirt,
            width=3,
        )


def _traffic_light(rng, draw, horizon):
    x = rng.choice([rng.uniform(6, CANVAS * 0.3), rng.uniform(CANVAS * 0.7, CANVAS - 6)])
    height = rng.uniform(12, 17)
    top = rng.uniform(4, horizon - 4)
    _pole(draw, x, top + height, rng.uniform(horizon + 10, CANVAS - 5))
    width = height * 0.45
    draw.rectangle((x - width, top, x + width, top + height * 1.3), fill=(25, 25, 25))
    lit = int(rng.integers(0, 3))
    for index, colour in enumerate([(255, 40, 30), (255, 190, 20), (40, 230, 80)]):
        cy = top + height * (0.22 + 0.43 * index)
        radius = width * 0.62
        fill = colour if index == lit else tuple(v // 4 for v in colour)
        draw.ellipse((x - radius, cy - radius, x + radius, cy + radius), fill=fill)


def _stop_sign(rng, draw, horizon):
    x = rng.choice([rng.uniform(8, CANVAS * 0.3), rng.uniform(CANVAS * 0.7, CANVAS - 8)])
    radius = rng.uniform(7, 11)
    cy = rng.uniform(radius + 2, horizon + 8)
    _pole(draw, x, cy, rng.uniform(horizon + 12, CANVAS - 4))
    angles = np.pi / 8 + np.arange(8) * np.pi / 4
    outline = [(x + radius * np.cos(a), cy + radius * np.sin(a)) for a in angles]
    draw.polygon(outline, fill=(245, 245, 245))
    inner = [(x + radius * 0.85 * np.cos(a), cy + radius * 0.85 * np.sin(a)) for a in angles]
    draw.polygon(inner, fill=(200, 20, 25))
    draw.rectangle(
        (x - radius * 0.55, cy - radius * 0.14, x + radius * 0.55, cy + radius * 0.14),
        fill=(245, 245, 245),
    )


def _distractors(rng, draw, horizon):
    if rng.random() < 0.5:  # a tree
        x = rng.uniform(4, CANVAS - 4)
        crown = rng.uniform(6, 12)
        draw.rectangle((x - 1.5, horizon - 4, x + 1.5, horizon + 10), fill=(90, 60, 30))
        leaves = (int(rng.integers(20, 120)), int(rng.integers(110, 170)), 40)
        draw.ellipse((x - crown, horizon - 4 - 2 * crown, x + crown, horizon - 4), fill=leaves)
    if rng.random() < 0.3:  # a blue square road sign
        x, y, side = rng.uniform(6, CANVAS - 6), rng.uniform(10, horizon), rng.uniform(5, 8)
        _pole(draw, x, y, rng.uniform(horizon + 8, CANVAS - 4))
        draw.rectangle((x - side, y - side, x + side, y + side), fill=(30, 80, 190))
    if rng.random() < 0.4:  # a street lamp
        x = rng.uniform(4, CANVAS - 4)
        top = rng.uniform(4, horizon - 6)
        _pole(draw, x, top, rng.uniform(horizon + 10, CANVAS - 4))
        draw.ellipse((x - 3, top - 2, x + 3, top + 2), fill=(240, 240, 200))


DRAWERS = {
    "car": _car,
    "pedestrian": _pedestrian,
    "traffic_light": _traffic_light,
    "stop_sign": _stop_sign,
}


def draw_scene(rng, present, size=48):
    """One street scene as a `size` x `size` RGB `PIL.Image`.

    Args:
        rng: np.random.Generator.
        present: dict. `{label: bool}` for the labels in `LABELS`.
        size: int. Side of the returned image.
    """
    image = Image.new("RGB", (CANVAS, CANVAS))
    draw = ImageDraw.Draw(image)
    horizon = int(rng.integers(int(CANVAS * 0.36), int(CANVAS * 0.48)))
    _background(rng, draw, horizon)
    _distractors(rng, draw, horizon)
    # Signs stand behind, then cars; people are drawn last, so never hidden.
    for label in ("traffic_light", "stop_sign", "car", "pedestrian"):
        if present[label]:
            for _ in range(1 if label != "car" else int(rng.integers(1, 3))):
                DRAWERS[label](rng, draw, horizon)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.6)))
    return image.resize((size, size), Image.LANCZOS)


def generate_scenes(count, seed=0, size=48):
    """`count` random scenes and which objects each contains.

    Returns:
        `(images, labels)`: uint8 `(count, size, size, 3)` and int
        `(count, len(LABELS))`, 1 where the object is in the scene.

    Examples:

    >>> from tl_templates.synthetic import scenes as synthetic_scenes
    >>> images, labels = synthetic_scenes.generate_scenes(3, seed=1, size=32)
    >>> images.shape, labels.shape
    ((3, 32, 32, 3), (3, 4))
    """
    rng = np.random.default_rng(seed)
    images = np.zeros((count, size, size, 3), dtype=np.uint8)
    labels = np.zeros((count, len(LABELS)), dtype=np.int64)
    for index in range(count):
        present = {label: bool(rng.random() < PRESENCE[label]) for label in LABELS}
        images[index] = np.asarray(draw_scene(rng, present, size))
        labels[index] = [present[label] for label in LABELS]
    return images, labels
