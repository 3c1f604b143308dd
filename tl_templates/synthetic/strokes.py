"""Characters drawn as pen strokes, the way a hand writes them.

Each character has one or more stroke templates (a few variants a writer may
choose: a 7 with or without a bar, an open or closed 4) given as control
points on a 6-wide, 10-high grid (y down; descenders go below 10). One random
drawing moves every control point a little, slants and stretches the whole
character, passes a smooth curve through the points of each stroke and draws
it with a round pen of random width, centred by its ink mass in a box like
MNIST's (20 px of 28). `tl_templates.synthetic.glyphs` mixes these drawings with font
renderings to make the source task of the lab backbone.
"""

import numpy as np
from PIL import Image, ImageDraw

# character -> variants; variant -> strokes; stroke -> control points (x, y).
# Points of one stroke are joined by a smooth curve; a sharp corner is where
# one stroke ends and the next begins.
_OVAL = [(3, 0), (0.7, 1.6), (0, 5), (0.7, 8.4), (3, 10), (5.3, 8.4), (6, 5), (5.3, 1.6), (3, 0)]
_BOWL_LEFT = [(5, 5.5), (3.5, 4), (1.5, 4.2), (0.3, 6), (0.5, 8.8), (2, 10), (4, 9.3), (5, 7)]
_ARCH = [(0.5, 6), (2, 4.3), (4, 4), (5.3, 5.3), (5.5, 7), (5.5, 10)]
_C_CURVE = [
    (5.8, 1.5), (4, 0), (2, 0.2), (0.3, 2.5), (0, 5), (0.3, 7.5), (2, 9.8), (4, 10), (5.8, 8.5)
]  # fmt: skip
_P_BOWL = [(0.5, 0), (4, 0), (5.5, 1.4), (5.5, 3.6), (4, 5), (0.5, 5)]
TEMPLATES = {
    "0": [[_OVAL], [_OVAL, [(5, 1.5), (1, 8.5)]]],
    "1": [[[(3, 0), (3, 10)]], [[(1.3, 2.2), (3, 0)], [(3, 0), (3, 10)]],
          [[(1.3, 2.2), (3, 0)], [(3, 0), (3, 10)], [(1.2, 10), (4.8, 10)]]],
    "2": [[[(0.5, 2), (2, 0.3), (4, 0.2), (5.5, 1.8), (5, 4), (3, 6.5), (0, 10)],
           [(0, 10), (6, 10)]],
          [[(0.3, 2.5), (2.5, 0), (5, 0.8), (5.3, 3.3), (1.5, 8), (0.5, 9.8), (1.8, 9),
            (3.5, 9.3), (6, 10)]]],
    "3": [[[(0.5, 1), (3, 0), (5.5, 1.5), (5, 4), (2.5, 5)],
           [(2.5, 5), (5.5, 6.5), (5.5, 8.8), (3, 10), (0.3, 9)]],
          [[(0.5, 0), (5.5, 0)], [(5.5, 0), (2.5, 4.5)],
           [(2.5, 4.5), (5.5, 6), (5.5, 8.8), (3, 10), (0.3, 9)]]],
    "4": [[[(4.5, 10), (4.5, 0)], [(4.5, 0), (0, 7)], [(0, 7), (6, 7)]],
          [[(1, 0), (0.2, 6)], [(0.2, 6), (6, 6)], [(4.5, 2), (4.5, 10)]]],
    "5": [[[(5.5, 0), (1, 0)], [(1, 0), (0.6, 4.5)],
           [(0.6, 4.5), (3, 3.8), (5.5, 5.5), (5.5, 8.5), (3, 10), (0.3, 9)]]],
    "6": [[[(5, 0.5), (3, 0), (1, 2), (0, 6), (1, 9.3), (3, 10), (5.3, 9), (5.6, 7),
            (4.5, 5.3), (2.5, 5), (0.3, 7)]],
          [[(4.5, 0), (1.5, 4.5), (0.3, 7.5), (1.3, 9.6), (3.2, 10), (5.2, 9), (5.4, 7),
            (3.8, 5.8), (1.5, 6.5)]]],
    "7": [[[(0, 0), (6, 0)], [(6, 0), (2, 10)]],
          [[(0, 0), (6, 0)], [(6, 0), (2, 10)], [(1.5, 5), (5.5, 5)]],
          [[(0, 1), (6, 0)], [(6, 0), (4, 4), (3, 7), (2.6, 10)]]],
    "8": [[[(3, 5), (5, 3.5), (5.3, 1.5), (3, 0), (0.7, 1.5), (1, 3.5), (3, 5), (5.4, 7),
            (5, 9.3), (3, 10), (1, 9.3), (0.6, 7), (3, 5)]]],
    "9": [[[(5.5, 2.5), (4, 0.4), (2, 0.2), (0.3, 2), (0.5, 4), (2.5, 5), (4.5, 4.3), (5.5, 2.5)],
           [(5.5, 2.5), (5.5, 6), (5, 10)]],
          [[(5.5, 2.5), (4, 0.4), (2, 0.2), (0.3, 2), (0.5, 4), (2.5, 5), (4.5, 4.3), (5.5, 2.5)],
           [(5.5, 1), (5.5, 10)]]],
    "A": [[[(0, 10), (3, 0)], [(3, 0), (6, 10)], [(1, 6.5), (5, 6.5)]]],
    "B": [[[(0.5, 0), (0.5, 10)], [(0.5, 0), (4, 0), (5.3, 1.3), (5.3, 3.7), (4, 5), (0.5, 5)],
           [(0.5, 5), (4.5, 5), (6, 6.5), (6, 8.5), (4.5, 10), (0.5, 10)]]],
    "C": [[_C_CURVE]],
    "D": [[[(0.5, 0), (0.5, 10)], [(0.5, 0), (3, 0), (5.3, 1.8), (6, 5), (5.3, 8.2), (3, 10),
                                   (0.5, 10)]]],
    "E": [[[(6, 0), (0.5, 0)], [(0.5, 0), (0.5, 10)], [(0.5, 10), (6, 10)], [(0.5, 5), (4.5, 5)]]],
    "F": [[[(6, 0), (0.5, 0)], [(0.5, 0), (0.5, 10)], [(0.5, 5), (4.5, 5)]]],
    "G": [[_C_CURVE, [(5.8, 8.5), (5.8, 5.5)], [(5.8, 5.5), (3.5, 5.5)]]],
    "H": [[[(0.5, 0), (0.5, 10)], [(5.5, 0), (5.5, 10)], [(0.5, 5), (5.5, 5)]]],
    "I": [[[(3, 0), (3, 10)], [(1.5, 0), (4.5, 0)], [(1.5, 10), (4.5, 10)]]],
    "J": [[[(1.5, 0), (5.5, 0)], [(4.5, 0), (4.5, 7.5), (3.8, 9.5), (2.3, 10), (0.5, 8.5)]],
          [[(4.5, 0), (4.5, 7.5), (3.8, 9.5), (2.3, 10), (0.5, 8.5)]]],
    "K": [[[(0.5, 0), (0.5, 10)], [(5.5, 0), (0.5, 6)], [(2, 4.5), (6, 10)]]],
    "L": [[[(0.5, 0), (0.5, 10)], [(0.5, 10), (5.5, 10)]]],
    "M": [[[(0, 10), (0.5, 0)], [(0.5, 0), (3, 7)], [(3, 7), (5.5, 0)], [(5.5, 0), (6, 10)]]],
    "N": [[[(0.5, 10), (0.5, 0)], [(0.5, 0), (5.5, 10)], [(5.5, 10), (5.5, 0)]]],
    "O": [[[(3, 0), (0.4, 1.5), (-0.5, 5), (0.4, 8.5), (3, 10), (5.6, 8.5), (6.5, 5), (5.6, 1.5),
            (3, 0)]]],
    "P": [[[(0.5, 0), (0.5, 10)], _P_BOWL]],
    "Q": [[_OVAL, [(3.5, 7), (6, 10.5)]]],
    "R": [[[(0.5, 0), (0.5, 10)], _P_BOWL, [(3, 5), (5.8, 10)]]],
    "S": [[[(5.5, 1.2), (3.5, 0), (1.5, 0.2), (0.3, 1.8), (0.8, 3.8), (3, 5), (5.2, 6.2),
            (5.7, 8.3), (4.5, 9.8), (2.5, 10), (0.3, 8.8)]]],
    "T": [[[(0, 0), (6, 0)], [(3, 0), (3, 10)]]],
    "U": [[[(0.5, 0), (0.5, 7), (1.3, 9.3), (3, 10), (4.7, 9.3), (5.5, 7), (5.5, 0)]]],
    "V": [[[(0, 0), (3, 10)], [(3, 10), (6, 0)]]],
    "W": [[[(0, 0), (1.5, 10)], [(1.5, 10), (3, 3)], [(3, 3), (4.5, 10)], [(4.5, 10), (6, 0)]]],
    "X": [[[(0, 0), (6, 10)], [(6, 0), (0, 10)]]],
    "Y": [[[(0, 0), (3, 5)], [(6, 0), (3, 5)], [(3, 5), (3, 10)]]],
    "Z": [[[(0, 0), (6, 0)], [(6, 0), (0, 10)], [(0, 10), (6, 10)]],
          [[(0, 0), (6, 0)], [(6, 0), (0, 10)], [(0, 10), (6, 10)], [(1.5, 5), (4.5, 5)]]],
    "a": [[_BOWL_LEFT, [(5, 4), (5, 10)]],
          [[(0.8, 4.8), (2.5, 4), (4.3, 4.3), (5, 5.5), (5, 10)],
           [(5, 6.8), (2.5, 6.6), (0.5, 7.8), (0.8, 9.5), (2.5, 10), (5, 8.8)]]],
    "b": [[[(0.5, 0), (0.5, 10)], [(0.5, 6), (2, 4.2), (4, 4), (5.5, 5.8), (5.7, 8), (4.3, 9.8),
                                   (2.3, 10), (0.5, 8.5)]]],
    "d": [[[(5.5, 0), (5.5, 10)], [(5.5, 6), (4, 4.2), (2, 4), (0.5, 5.8), (0.3, 8), (1.7, 9.8),
                                   (3.7, 10), (5.5, 8.5)]]],
    "e": [[[(0.5, 7), (5.5, 7), (5.3, 5), (3.5, 4), (1.5, 4.2), (0.3, 6.5), (0.7, 9), (2.5, 10),
            (5, 9.3)]]],
    "f": [[[(5, 0.5), (3.8, 0), (2.5, 0.6), (2, 2.5), (2, 10)], [(0.5, 4), (4.5, 4)]]],
    "g": [[_BOWL_LEFT, [(5, 4), (5, 11.5), (4, 13), (2, 13), (0.7, 12)]]],
    "h": [[[(0.5, 0), (0.5, 10)], _ARCH]],
    "n": [[[(0.5, 4), (0.5, 10)], _ARCH]],
    "q": [[_BOWL_LEFT, [(5, 4), (5, 13.5)]]],
    "r": [[[(0.5, 4), (0.5, 10)], [(0.5, 6.5), (1.8, 4.6), (3.5, 4), (5, 4.4)]]],
    "t": [[[(2, 1), (2, 8.8), (2.8, 9.9), (4.5, 9.7)], [(0.3, 4), (4.5, 4)]]],
}  # fmt: skip


def _smooth(points, samples_per_segment=12):
    """A Catmull-Rom curve through `points` (an (n, 2) array), as a denser array."""
    if len(points) < 3:
        return points
    padded = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    t = np.linspace(0, 1, samples_per_segment, endpoint=False)[:, None]
    curve = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        curve.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                   + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )  # fmt: skip
    curve.append(points[-1:])
    return np.vstack(curve)


def draw_character(character, rng, size=64, box=0.625):
    """One hand-drawn-looking character as ink coverage in [0, 1].

    Args:
        character: str. A key of `TEMPLATES`.
        rng: numpy Generator.
        size: int. Side of the square canvas.
        box: float. The longer side of the character, as a fraction of `size`
            (MNIST: 20 px of 28, at 32x32 after padding 20 of 32).

    Returns:
        float32 `(size, size)` array; the ink's centre of mass at the centre.
    """
    variants = TEMPLATES[character]
    strokes = variants[rng.integers(len(variants))]
    # The writer's hand: slant, aspect, a little rotation; each control point
    # moves on its own too (shared points of two strokes move together).
    slant = rng.uniform(-0.45, 0.25)
    angle = np.deg2rad(rng.uniform(-10, 10))
    aspect = rng.uniform(0.65, 1.25)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    transform = rotation @ np.array([[1.0, slant], [0.0, 1.0]]) @ np.diag([aspect, 1.0])
    wobble = rng.uniform(0.15, 0.45)
    moved = {}
    curves = []
    for stroke in strokes:
        points = []
        for point in stroke:
            if point not in moved:
                moved[point] = np.array(point) + rng.normal(0, wobble, 2)
            points.append(moved[point])
        curves.append(_smooth(np.array(points) - [3.0, 5.0]) @ transform.T)
    # Fit the longer side of the drawing to the box, at 4x for anti-aliasing.
    every_point = np.vstack(curves)
    low, high = every_point.min(axis=0), every_point.max(axis=0)
    big = size * 4
    scale = box * big * rng.uniform(0.85, 1.1) / max(high - low)
    pen = max(1, int(round(big * rng.uniform(0.05, 0.11))))
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    for curve in curves:
        xy = [tuple(p) for p in (curve - (low + high) / 2) * scale + big / 2]
        draw.line(xy, fill=255, width=pen, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round pen ends
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    image = image.resize((size, size), Image.BOX)
    ink = np.asarray(image, dtype=np.float32) / 255.0
    # Centre by mass, as MNIST does.
    rows, columns = np.indices(ink.shape)
    total = ink.sum() + 1e-6
    shift = (
        int(round(size / 2 - (rows * ink).sum() / total)),
        int(round(size / 2 - (columns * ink).sum() / total)),
    )
    return np.roll(ink, shift, axis=(0, 1))
