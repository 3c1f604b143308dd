"""A large source task the kit generates itself: rendered characters, heavily augmented.

47 classes (digits, capitals and the 11 lower-case letters that EMNIST-balanced
keeps apart from their capitals), rendered from the TrueType fonts that ship
inside matplotlib (and any fonts you add) or drawn as pen strokes the way a
hand writes them (`tl_templates.synthetic.strokes`), then given random affine transforms,
stroke width, blur, noise, contrast, polarity and colour. The lab backbone is
pretrained on it, so transfer experiments run offline and honestly.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tl_templates.synthetic import strokes

CLASSES = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")

# Fonts that draw symbols, not letters, or look the same as another file.
_SKIP_FONTS = (
    "STIXSiz", "STIXNonUni", "cmex10", "cmsy10", "LastResort", "Display", "Math",
    "Symbol", "D050000L", "breipfont",
)  # fmt: skip
# Debian packages whose fonts widen the source task (handwriting-like ones
# above all); the pretraining script uses those it finds under /usr/share/fonts.
EXTRA_FONT_PACKAGES = (
    "fonts-humor-sans", "fonts-comic-neue", "fonts-breip", "fonts-dancingscript",
    "fonts-urw-base35", "fonts-liberation", "fonts-freefont-ttf", "fonts-open-sans",
    "fonts-bwht", "fonts-femkeklaver", "fonts-dkg-handwriting", "fonts-rufscript",
    "fonts-sjfonts",
)  # fmt: skip
_CANVAS = 64  # base renders are made at this size, then transformed and shrunk


def font_files(extra_dirs=()):
    """Font files for the characters: matplotlib's, plus those under `extra_dirs`.

    A font whose file name another one already has (DejaVu ships in both) is
    used once.
    """
    import matplotlib

    folders = [Path(matplotlib.get_data_path()) / "fonts" / "ttf", *map(Path, extra_dirs)]
    files, names = [], set()
    for folder in folders:
        for path in sorted(folder.glob("**/*.[ot]tf")):
            if path.name not in names and not any(skip in path.name for skip in _SKIP_FONTS):
                files.append(path)
                names.add(path.name)
    return files


def _render(font_path, character):
    """The character as ink coverage in [0, 1] on a square canvas, or None if
    the font lacks it (it draws nothing, or the same box as for a missing glyph)."""
    font = ImageFont.truetype(str(font_path), size=int(_CANVAS * 0.7))
    image = Image.new("L", (_CANVAS, _CANVAS), 0)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), character, font=font)
    if right - left < 2 or bottom - top < 2:
        return None
    position = ((_CANVAS - (right - left)) / 2 - left, (_CANVAS - (bottom - top)) / 2 - top)
    draw.text(position, character, fill=255, font=font)
    return np.asarray(image, dtype=np.float32) / 255.0


def base_renders(fonts, characters=None):
    """`{class index: [ink arrays]}`: each class drawn by every font that has it.

    `characters` defaults to `CLASSES`; any other characters can be drawn too.
    """
    characters = CLASSES if characters is None else characters
    renders = {index: [] for index in range(len(characters))}
    for font_path in fonts:
        missing = _render(font_path, "\uffff")
        for index, character in enumerate(characters):
            ink = _render(font_path, character)
            if ink is not None and (missing is None or not np.array_equal(ink, missing)):
                renders[index].append(ink)
    return renders


def _elastic(image, rng, cells=4, jitter=0.04):
    """A smooth random warp, like a hand's wobble: a grid of quads whose shared
    corners move a little."""
    size = image.size[0]
    step = size / cells
    corners = np.mgrid[0 : cells + 1, 0 : cells + 1].transpose(1, 2, 0) * step
    corners = corners + rng.normal(0, jitter * size, corners.shape)
    mesh = []
    for row in range(cells):
        for column in range(cells):
            box = (
                int(column * step),
                int(row * step),
                int((column + 1) * step),
                int((row + 1) * step),
            )
            quad = [corners[row, column], corners[row + 1, column],
                    corners[row + 1, column + 1], corners[row, column + 1]]  # fmt: skip
            mesh.append((box, tuple(float(value) for corner in quad for value in corner[::-1])))
    return image.transform(image.size, Image.MESH, mesh, Image.BILINEAR)


def _augment(ink, rng, image_size):
    """One random, label-preserving variation of a base render, as uint8 RGB."""
    image = Image.fromarray((ink * 255).astype(np.uint8))
    if rng.random() < 0.7:
        image = _elastic(image, rng)
    # Stroke width: thicker or thinner pen.
    stroke = rng.choice(["thin", "same", "same", "thick", "thicker"])
    if stroke == "thin":
        thinner = image.filter(ImageFilter.MinFilter(3))
        if np.asarray(thinner).mean() > 0.5 * np.asarray(image).mean():  # keep legible
            image = thinner
    elif stroke in ("thick", "thicker"):
        image = image.filter(ImageFilter.MaxFilter(3 if stroke == "thick" else 5))
    # Random affine: rotation, shear, scale, translation (inverse map for PIL).
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    scale = rng.uniform(0.75, 1.25) * np.array([1.0, rng.uniform(0.8, 1.2)])
    shift = rng.uniform(-0.12, 0.12, 2) * _CANVAS
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag(scale)
    inverse = np.linalg.inv(forward)
    center = np.array([_CANVAS / 2, _CANVAS / 2])
    offset = center - inverse @ (center + shift)
    coefficients = (*inverse[0], offset[0], *inverse[1], offset[1])
    image = image.transform(image.size, Image.AFFINE, coefficients, Image.BILINEAR)
    if rng.random() < 0.3:  # a low-resolution scan: detail lost, then upsampled
        low = int(rng.integers(10, max(11, image_size // 2 + 1)))
        image = image.resize((low, low), Image.BILINEAR)
        image = image.resize((image_size, image_size), Image.BILINEAR)
    else:
        image = image.resize((image_size, image_size), Image.BILINEAR)
        if rng.random() < 0.5:
            image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0)))
    coverage = np.asarray(image, dtype=np.float32)[..., None] / 255.0
    # Ink and paper colours: any polarity, contrast at least 0.45 in brightness.
    paper = rng.uniform(0, 1)
    ink_level = paper + rng.uniform(0.45, 1.0) * (1 if paper < 0.5 else -1)
    ink_level = float(np.clip(ink_level, 0, 1))
    tint = rng.uniform(0.8, 1.2, 3) if rng.random() < 0.5 else np.ones(3)
    rgb = paper * (1 - coverage) + ink_level * tint * coverage
    rgb = rgb + rng.normal(0, rng.uniform(0, 0.08), rgb.shape)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def make_glyph_dataset(
    num_images, image_size=32, seed=0, fonts=None, characters=None, stroke_fraction=0.0
):
    """Random characters, rendered from fonts or drawn as pen strokes, with labels.

    Args:
        num_images: int. How many images to draw.
        image_size: int. Side of the square RGB images.
        seed: int. The same seed gives the same images.
        fonts: list or None. Font files; None: `font_files()`.
        characters: sequence or None. The classes to draw; None: `CLASSES`.
            Characters no font has are left out of the classes drawn.
        stroke_fraction: float. The share of images drawn as pen strokes
            (`tl_templates.synthetic.strokes`) rather than rendered from a font, for
            the characters that have stroke templates. The lab backbone's
            second pretraining stage uses 0.5; the default 0 gives font
            renderings only, the images the notebooks were written with.

    Returns:
        `(images, labels)`: uint8 `(num_images, image_size, image_size, 3)` and
        int `(num_images,)` indices into `characters` (default `CLASSES`),
        classes balanced.

    Examples:

    >>> from tl_templates.synthetic import glyphs
    >>> images, labels = glyphs.make_glyph_dataset(4, image_size=32)
    >>> images.shape, images.dtype.name, len(glyphs.CLASSES)
    ((4, 32, 32, 3), 'uint8', 47)
    """
    rng = np.random.default_rng(seed)
    characters = CLASSES if characters is None else characters
    renders = base_renders(fonts or font_files(), characters)
    drawable = np.array([index for index, inks in renders.items() if inks])
    labels = rng.permutation(drawable[np.arange(num_images) % len(drawable)])
    images = np.empty((num_images, image_size, image_size, 3), dtype=np.uint8)
    for index, label in enumerate(labels):
        character = characters[label]
        # (No random draw at stroke_fraction=0: the font-only images stay those
        # of the first lab_glyphs source task, seed for seed.)
        drawable_by_hand = stroke_fraction > 0 and character in strokes.TEMPLATES
        if drawable_by_hand and rng.random() < stroke_fraction:
            ink = strokes.draw_character(character, rng, size=_CANVAS)
        else:
            choices = renders[label]
            ink = choices[rng.integers(len(choices))]
        images[index] = _augment(ink, rng, image_size)
    return images, labels
