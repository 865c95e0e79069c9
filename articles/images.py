"""Cover images: what an upload must be, and the thumbnail made from it."""

import io
import warnings
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
THUMBNAIL_SIZE = (480, 480)


def validate_cover_image(file):
    """Reject non-images, unsupported formats, files over 10 MB and decompression bombs."""
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
                if image.width * image.height > MAX_PIXELS:
                    raise ValidationError("图片像素过多（超过 4000 万），请缩小后再上传。", code="too_many_pixels")
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("图片像素过多（超过 4000 万），请缩小后再上传。", code="too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("上传的文件不是有效的图片。", code="invalid_image") from None
    finally:
        file.seek(position)


def make_thumbnail(file):
    """A JPEG of at most 480×480 pixels made from the cover image ``file``."""
    file.seek(0)
    with Image.open(file) as image:
        thumbnail = ImageOps.exif_transpose(image).convert("RGB")
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    output = io.BytesIO()
    thumbnail.save(output, format="JPEG", quality=82, optimize=True)
    return ContentFile(output.getvalue(), name=f"{PurePath(file.name).stem}-thumb.jpg")
