"""A title, summary or name from a post as it is to be stored (sanitize.plain_label), with a warning
for what that took out which the post's author may miss."""

from articles.sanitize import FORMAT_CHARACTERS, plain_label


def label_with_warnings(text, what, max_length, warnings, whitespace="collapse"):
    """plain_label(``text``) of the ``what`` ("title", "summary", "stock sh:601601 name", …), appending to the
    list ``warnings`` (English, translated by reasons.py) for what it took out: invisible format
    characters (a reader sees no difference, a search or a link may), or the end of a text longer
    than ``max_length`` characters. ``whitespace`` as plain_label's."""
    label = plain_label(text, whitespace=whitespace, max_length=max_length)
    if FORMAT_CHARACTERS.search(text):
        warnings.append(f"{what} {label[:60]!r}: invisible format characters dropped")
    if len(plain_label(text, whitespace=whitespace)) > max_length:
        warnings.append(f"{what} {label[:60]!r} is longer than {max_length} characters; cut")
    return label
