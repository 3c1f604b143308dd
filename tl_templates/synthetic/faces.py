"""Drawn faces whose gender and age can be read from the pixels.

The face-multitask template and the multi-task notebooks need face images
labelled with gender and age that run offline and are small enough to ship.
These are drawn with Pillow, one random face per call, and the labels really
are in the pixels, through cues that are noisy on purpose:

- gender: long hair (85% of women, 15% of men), beards and moustaches (about
  half the men over 17), lipstick (60% of women), a narrower jaw for women;
- age: the proportions of a child (round face, large eyes set low), hair
  turning grey from about 35, wrinkles from about 35, baldness in older men.

Skin tone follows UTKFace's race field and background, clothes and pose are
random, so neither carries a label.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CANVAS = 96  # faces are drawn at this size, then scaled down
# UTKFace race field: 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others.
SKIN_TONES = {
    0: (236, 200, 175),
    1: (120, 80, 55),
    2: (230, 195, 150),
    3: (190, 140, 100),
    4: (205, 160, 120),
}
HAIR_COLOURS = [(30, 22, 18), (70, 45, 25), (120, 80, 40), (200, 160, 90), (150, 60, 30)]
GREY_HAIR = (215, 215, 215)


def sample_labels(rng):
    """A random `(age, gender, race)`, ages spread like a face data set's."""
    group = rng.choice(3, p=[0.2, 0.5, 0.3])
    low, high = [(1, 16), (16, 46), (46, 86)][group]
    age = int(rng.integers(low, high))
    return age, int(rng.integers(0, 2)), int(rng.integers(0, 5))


def _mix(colour, other, amount):
    return tuple(int(round(a + (b - a) * amount)) for a, b in zip(colour, other, strict=True))


def _jitter(rng, colour, spread=18):
    return tuple(
        int(np.clip(value + rng.integers(-spread, spread + 1), 0, 255)) for value in colour
    )


def draw_face(rng, age, gender, race, size=48):
    """One face as a `size` x `size` RGB `PIL.Image`.

    Args:
        rng: np.random.Generator. Everything not set by the labels is random.
        age: int. Years.
        gender: int. 0 male, 1 female (UTKFace's convention).
        race: int. 0-4, UTKFace's field; sets the skin tone only.
        size: int. Side of the returned image.
    """
    female = gender == 1
    growth = min(age, 18) / 18  # 0 for a baby, 1 for an adult
    background = _jitter(rng, tuple(int(v) for v in rng.integers(60, 230, 3)), 0)
    image = Image.new("RGB", (CANVAS, CANVAS), background)
    draw = ImageDraw.Draw(image)
    skin = _jitter(rng, SKIN_TONES[race], 12)
    hair_base = HAIR_COLOURS[0 if race in (1, 2, 3) else int(rng.integers(0, len(HAIR_COLOURS)))]
    greyness = float(np.clip((age - 30) / 35 + rng.normal(0, 0.1), 0, 1))
    hair = _mix(_jitter(rng, hair_base, 10), GREY_HAIR, greyness)

    centre_x = CANVAS / 2 + rng.normal(0, 3)
    centre_y = CANVAS * 0.47 + rng.normal(0, 3)
    height = CANVAS * (0.36 + 0.22 * growth) * rng.uniform(0.94, 1.06)
    ratio = 0.95 - 0.1 * growth - (0.07 * growth if female else 0)  # width / height
    width = height * ratio * rng.uniform(0.96, 1.04)
    left, right = centre_x - width / 2, centre_x + width / 2
    top, bottom = centre_y - height / 2, centre_y + height / 2

    long_hair = rng.random() < (0.85 if female else 0.15)
    bald = not female and age > 45 and rng.random() < (age - 45) / 40
    if long_hair:  # behind the head, down to the shoulders
        draw.rounded_rectangle(
            (left - 7, top - 6, right + 7, bottom + height * 0.45), radius=14, fill=hair
        )
    shirt = tuple(int(v) for v in rng.integers(20, 235, 3))
    draw.rectangle(
        (centre_x - width * 0.22, bottom - 4, centre_x + width * 0.22, CANVAS), fill=skin
    )
    draw.ellipse(
        (centre_x - width * 1.1, bottom + 6, centre_x + width * 1.1, CANVAS + 40), fill=shirt
    )
    draw.ellipse((left, top, right, bottom), fill=skin)
    if not bald:  # the hair on top of the head
        draw.chord((left - 2, top - 4, right + 2, top + height * 0.55), 180, 360, fill=hair)
    else:
        draw.chord(
            (left - 2, top + height * 0.15, left + width * 0.25, top + height * 0.6),
            90,
            270,
            fill=hair,
        )
        draw.chord(
            (right - width * 0.25, top + height * 0.15, right + 2, top + height * 0.6),
            270,
            90,
            fill=hair,
        )

    # Eyes: large and low in a child's face, smaller and higher in an adult's.
    eye_y = top + height * (0.58 - 0.1 * growth)
    eye_radius = width * (0.15 - 0.07 * growth)
    for side in (-1, 1):
        eye_x = centre_x + side * width * 0.22
        draw.ellipse(
            (
                eye_x - eye_radius,
                eye_y - eye_radius * 0.7,
                eye_x + eye_radius,
                eye_y + eye_radius * 0.7,
            ),
            fill=(245, 245, 245),
        )
        pupil = eye_radius * 0.55
        draw.ellipse(
            (eye_x - pupil, eye_y - pupil, eye_x + pupil, eye_y + pupil), fill=(40, 30, 30)
        )
        brow_width = 3 if not female else 1
        draw.line(
            (
                eye_x - eye_radius * 1.2,
                eye_y - eye_radius * 1.6,
                eye_x + eye_radius * 1.2,
                eye_y - eye_radius * 1.7,
            ),
            fill=_mix(hair, (0, 0, 0), 0.3),
            width=brow_width,
        )
    mouth_y = top + height * 0.8
    lipstick = female and rng.random() < 0.6
    lips = _jitter(rng, (190, 30, 60), 20) if lipstick else _mix(skin, (90, 30, 30), 0.45)
    draw.ellipse(
        (centre_x - width * 0.16, mouth_y - 2.5, centre_x + width * 0.16, mouth_y + 2.5), fill=lips
    )

    if age > 30:  # wrinkles, darker with age: forehead lines, crow's feet, smile lines
        line_colour = _mix(skin, (0, 0, 0), min(0.7, 0.3 + (age - 30) / 80))
        for index in range(min(3, int((age - 30) / 12) + 1)):
            y = top + height * (0.27 + 0.05 * index)
            draw.line(
                (centre_x - width * 0.28, y, centre_x + width * 0.28, y), fill=line_colour, width=2
            )
        for side in (-1, 1):
            x = centre_x + side * width * 0.42
            draw.line((x, eye_y - 3, x + side * 5, eye_y), fill=line_colour, width=2)
            draw.line((x, eye_y + 3, x + side * 5, eye_y), fill=line_colour, width=2)
            if age > 45:
                x = centre_x + side * width * 0.22
                draw.line(
                    (x, mouth_y - height * 0.18, x + side * 3, mouth_y + 2),
                    fill=line_colour,
                    width=2,
                )
    if not female and age >= 17 and rng.random() < 0.5:  # beard or moustache
        beard = _mix(hair, (0, 0, 0), 0.1)
        if rng.random() < 0.6:
            draw.chord((left + 2, top + height * 0.45, right - 2, bottom + 3), 0, 180, fill=beard)
            draw.ellipse(
                (centre_x - width * 0.15, mouth_y - 2, centre_x + width * 0.15, mouth_y + 2),
                fill=lips,
            )
        draw.rectangle(
            (centre_x - width * 0.2, mouth_y - 6, centre_x + width * 0.2, mouth_y - 3), fill=beard
        )

    image = image.rotate(rng.normal(0, 5), resample=Image.BILINEAR, fillcolor=background)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.8)))
    return image.resize((size, size), Image.LANCZOS)


def generate_faces(count, seed=0, size=48):
    """`count` random faces and their labels.

    Returns:
        `(images, ages, genders, races)`: uint8 `(count, size, size, 3)`, then
        one int array per label.

    Examples:

    >>> from tl_templates.synthetic import faces as synthetic_faces
    >>> images, ages, genders, races = synthetic_faces.generate_faces(2, seed=1, size=32)
    >>> images.shape, images.dtype.name
    ((2, 32, 32, 3), 'uint8')
    """
    rng = np.random.default_rng(seed)
    images = np.zeros((count, size, size, 3), dtype=np.uint8)
    labels = np.zeros((3, count), dtype=np.int64)
    for index in range(count):
        age, gender, race = sample_labels(rng)
        images[index] = np.asarray(draw_face(rng, age, gender, race, size))
        labels[:, index] = age, gender, race
    return images, labels[0], labels[1], labels[2]
