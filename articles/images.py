"""Cover images: what an upload must be, what is kept of it, and the thumbnails made from it."""

import io
import warnings
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

# Pillow is imported by the functions that read images: models.py imports this module, and the
# processes that never see a cover (an import from cron, most commands) would load it at start.

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
THUMBNAIL_SIZE = (480, 480)
# The lists' cover slot is 96×64 CSS px (static/css/site.css, .item-cover): its rendition has the
# pixels of a 2× screen, cropped to the slot's 3:2 as the slot itself crops (object-fit: cover).
LIST_COVER_SIZE = (192, 128)
FORMAT_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# Of an image's metadata, only what its pixels need to look the same (a palette's transparent colour).
KEPT_INFO = {"transparency"}


def validate_cover_image(file):
    """Reject non-images, unsupported formats, files over 10 MB and decompression bombs."""
    if getattr(file, "_committed", False):
        return  # stored already: it passed when it was uploaded, and is not read again on each save
    from PIL import Image, UnidentifiedImageError

    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationError("图片文件不能大于 10 MB。", code="too_large")
    position = file.tell()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two bomb limits; a warning is a rejection here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                if image.format not in ALLOWED_FORMATS:
                    raise ValidationError("只支持 JPEG、PNG、GIF 和 WebP 图片。", code="format")
                if image.width * image.height * getattr(image, "n_frames", 1) > MAX_PIXELS:
                    raise ValidationError("图片像素过多（超过 4000 万），请缩小后再上传。", code="too_many_pixels")
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("图片像素过多（超过 4000 万），请缩小后再上传。", code="too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("上传的文件不是有效的图片。", code="invalid_image") from None
    finally:
        file.seek(position)


def reencode_cover(file):
    """The cover image ``file`` decoded and encoded again, in its own format (animations kept).

    Only the pixels survive: EXIF and other metadata (camera, place), comments, and anything
    appended after the image data (a script hidden in a GIF) are left behind. ``file`` must have
    passed validate_cover_image.
    """
    from PIL import Image, ImageOps, ImageSequence

    file.seek(0)
    with Image.open(file) as image:
        image_format, loop = image.format, image.info.get("loop", 0)
        frames, durations = [], []
        for frame in ImageSequence.Iterator(image):
            durations.append(frame.info.get("duration", 100))
            frames.append(_pixels_only(ImageOps.exif_transpose(frame)))
    options = {"format": image_format}
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=durations, loop=loop)
    if image_format == "JPEG":
        options.update(quality=90)
    output = io.BytesIO()
    frames[0].save(output, **options)
    return ContentFile(output.getvalue(), name=f"{PurePath(file.name).stem}.{FORMAT_EXTENSIONS[image_format]}")


def _pixels_only(frame):
    clean = frame.copy()
    clean.info = {key: value for key, value in frame.info.items() if key in KEPT_INFO}
    return clean


def make_thumbnail(file):
    """A JPEG of at most 480×480 pixels made from the cover image ``file``."""
    from PIL import Image, ImageOps

    file.seek(0)
    with Image.open(file) as image:
        thumbnail = ImageOps.exif_transpose(image).convert("RGB")
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    return _jpeg(thumbnail, f"{PurePath(file.name).stem}-thumb.jpg")


def make_list_cover(file):
    """A JPEG of exactly LIST_COVER_SIZE (192×128) pixels made from the cover image ``file``: the
    middle of the image at the slot's proportions, scaled (up, for a cover smaller than that)."""
    from PIL import Image, ImageOps

    file.seek(0)
    with Image.open(file) as image:
        cover = ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), LIST_COVER_SIZE)
    width, height = LIST_COVER_SIZE
    return _jpeg(cover, f"{PurePath(file.name).stem}-{width}x{height}.jpg")


def _jpeg(image, name):
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=82, optimize=True)
    return ContentFile(output.getvalue(), name=name)
