"""Why the import rejected a file or left it alone, and what it changed in or left out of a file it
took (its warnings), in Chinese for the editors who read it in the admin (导入记录). The import
states these in English, for operators and the API's clients (stderr, /api/v1/posts/); each is
translated here by the pattern of its text, and one not known here is shown as it is
(tests/test_operations.py produces every warning and checks that it is translated).
"""

import re

from django.core.exceptions import FieldDoesNotExist

from articles.models import Article, Market
from articles.validators import MAX_INFO_CODE_LENGTH

from .body import MAX_NAMED_LEFT_OUT
from .importer import CONFLICT_REASON, WRITE_FAILURE

# The texts the import takes as labels (labels.label_with_warnings), as its warnings name them, and
# as editors know them.
_LABELS = {
    "title": "标题",
    "category": "分类",
    "tag": "标签",
    "source name": "来源",
    "author": "作者",
    "summary": "摘要",
    "stock name": "股票名称",
}
# What editors call the elements and attributes a body most often loses (html_left_out_in_chinese).
HTML_GLOSSES = {
    "script": "脚本", "style": "样式表", "iframe": "内嵌网页", "frame": "内嵌网页", "object": "嵌入内容",
    "embed": "嵌入内容", "video": "视频", "audio": "音频", "canvas": "画布", "svg": "矢量图", "math": "公式",
    "form": "表单", "input": "输入框", "button": "按钮", "select": "下拉框", "textarea": "文本框",
    "title": "鼠标悬停时显示的提示文字", "href": "链接地址", "src": "图片地址", "type": "列表的编号样式",
    "reversed": "列表倒序编号", "value": "列表项的编号",
    # What a digest's Markdown makes, which its summary, a text, flattens (body._note_flattened_digest).
    "a": "链接", "strong": "加粗", "em": "斜体", "code": "代码", "img": "图片", "ul": "列表", "ol": "列表",
    "li": "列表项", "h1": "标题", "h2": "标题", "h3": "标题", "h4": "标题", "h5": "标题", "h6": "标题",
    "pre": "代码块", "hr": "分隔线", "del": "删除线", "s": "删除线",
}  # fmt: skip
EVENT_HANDLER_GLOSS = "事件脚本"
# A stock's name as stocks._named gives it: "stock sh:601601 name".
_STOCK = r"(\w+):(\S+) name"
_LEFT_OUT_ITEM = re.compile(r"(\d+) <([^>]+)>|(\d+) (\S+) attributes?|and (\d+) more")


def html_left_out_in_chinese(elements, attributes, more=0, addresses=None):
    """What sanitize.html_left_out found, as editors read it wherever they are told (导入记录, the
    admin's messages): ``"1 个 <script>（脚本）、2 处 onclick 属性（事件脚本）"``.

    ``elements`` and ``attributes`` map names to counts, in the order to be named (html_left_out's
    Counters); the first MAX_NAMED_LEFT_OUT kinds are named and the rest counted (``另外 3 种``),
    with ``more`` kinds the caller already left unnamed (body._note_left_out's "and N more").
    ``addresses`` (html_left_out's, by attribute) names the dropped addresses after their gloss:
    ``"1 处 href 属性（链接地址：“tel:95588”）"``, the first MAX_NAMED_LEFT_OUT of each.
    """
    items = [
        f"{count} 个 <{name}>" + (f"（{HTML_GLOSSES[name]}）" if name in HTML_GLOSSES else "")
        for name, count in elements.items()
    ]
    for name, count in attributes.items():
        gloss = EVENT_HANDLER_GLOSS if name.startswith("on") else HTML_GLOSSES.get(name)
        named = (addresses or {}).get(name)
        if named:
            gloss = f"{gloss}：" + "、".join(f"“{_shortened(address)}”" for address in named[:MAX_NAMED_LEFT_OUT])
            gloss += " 等" if len(named) > MAX_NAMED_LEFT_OUT else ""
        items.append(f"{count} 处 {name} 属性" + (f"（{gloss}）" if gloss else ""))
    more += max(len(items) - MAX_NAMED_LEFT_OUT, 0)
    return "、".join(items[:MAX_NAMED_LEFT_OUT] + ([f"另外 {more} 种"] if more else []))


def body_left_out_on_save(elements, attributes, addresses=None):
    """The warning an editor reads when a body they save or restore loses what html_left_out found
    (``elements``, ``attributes``: its Counters, not both empty; ``addresses``: the addresses it
    drops, named): the admin's save and publishing.restore_version say it in the same words."""
    return (
        f"正文中有本站不显示的 HTML，保存时已去掉：{html_left_out_in_chinese(elements, attributes, addresses=addresses)}。"
        "请核对正文，需要的内容请用编辑器的工具栏补上。"
    )


def _stock_in_chinese(match):
    """``股票 601601（上海）名称`` of a match of _STOCK (market ``match[1]``, code ``match[2]``)."""
    market = Market(match[1]).label if match[1] in Market.values else match[1]
    return f"股票 {match[2]}（{market}）名称"


# A dropped address is named up to this many characters: a data: image's is often kilobytes long,
# too long for a message (kept in the session) or a notice read aloud by a screen reader.
MAX_ADDRESS_CHARS = 60


def _shortened(address):
    return address if len(address) <= MAX_ADDRESS_CHARS else f"{address[: MAX_ADDRESS_CHARS - 1]}…"


def html_left_out_wording():
    """html_left_out_in_chinese's words, for the body editor's HTML source dialog, which names what
    the editor's schema dropped in the browser (static/js/body-editor.js, through
    editor.BodyEditorWidget): ``{"glosses": {name: 中文}, "event_handler": "事件脚本", "max_named": 12,
    "max_address_chars": 60}``."""
    return {
        "glosses": HTML_GLOSSES,
        "event_handler": EVENT_HANDLER_GLOSS,
        "max_named": MAX_NAMED_LEFT_OUT,
        "max_address_chars": MAX_ADDRESS_CHARS,
    }


def _html_left_out_in_chinese(match):
    """The Chinese of body._note_left_out's warning, whose list of names is ``match[1]``."""
    return (
        f"正文中有本站不显示的 HTML，未导入：{_names_in_chinese(match[1])}。请对照原稿核对正文，需要的内容请在后台补上"
    )


def _flattened_digest_in_chinese(match):
    """The Chinese of body._note_flattened_digest's warning, whose list of names is ``match[1]``."""
    return (
        f"摘要只能是纯文字，其中的格式已去掉（文字保留）：{_names_in_chinese(match[1])}。"
        "链接的地址和图片没有保留，需要的请在后台补进正文"
    )


def _names_in_chinese(named):
    """html_left_out_in_chinese of ``named``, a list of names as body._named writes it."""
    elements, attributes, more = {}, {}, 0
    for item in _LEFT_OUT_ITEM.finditer(named):
        count, element, attribute_count, attribute, unnamed = item.groups()
        if element:
            elements[element] = int(count)
        elif attribute:
            attributes[attribute] = int(attribute_count)
        else:
            more = int(unnamed)
    return html_left_out_in_chinese(elements, attributes, more)


RULES = [
    (r"not text in UTF-8 or GBK encoding", "不是 UTF-8 或 GBK 编码的文本"),
    (
        r"not text in UTF-8 or GBK encoding: more than (\d+) bytes do not decode, the first byte (0x[0-9A-F]{2}) "
        r"at line (\d+), column (\d+)",
        r"不是 UTF-8 或 GBK 编码的文本：超过 \1 个字节无法解码，第一个是第 \3 行第 \4 列的字节 \2",
    ),
    (
        r"date (.+) is outside (\S+)\.\.(\S+) \(Beijing time\), the publication times the site accepts",
        r"日期 \1 不在本站接受的发布时间范围（北京时间 \2 到 \3）之内",
    ),
    (r"empty file", "空文件"),
    (r"no front matter: the file does not start with a '---' line", "没有文件头：文件的第一行不是“---”"),
    (r"front matter is not closed by a '---' line", "文件头没有用“---”行结束"),
    (r"front matter is larger than (\d+) KB", r"文件头超过 \1 KB"),
    (
        r"file name gives no usable info code \((.*)\): .*",
        rf"文件名中没有可用的资讯编号（\1）：资讯编号须为 1 到 {MAX_INFO_CODE_LENGTH} 个英文字母、数字、“.”、“_”或“-”，且不能是“.”或“..”",
    ),
    (r"empty title", "标题为空"),
    (r"no usable date in the front matter or the file name", "文件头和文件名中都没有可用的日期"),
    (
        r"the new file would blank the article's body \(use --force\)",
        "新文件会清空文章的正文，未导入（确需如此，导入时加 --force）",
    ),
    (r"not a regular file \(a FIFO, socket or device\); skipped", "不是普通文件（管道、套接字或设备），已跳过"),
    (r"cannot read the file: (.*)", r"无法读取文件：\1"),
    (r"file is larger than (\d+) MB", r"文件超过 \1 MB"),
    (r"body: its HTML nests more than (\d+) elements deep", r"正文的 HTML 嵌套超过 \1 层"),
    (re.escape(CONFLICT_REASON), "导入后已有编辑在后台修改过这篇文章，未覆盖（确需覆盖，导入时加 --force）"),
    (
        r"its info code's article was imported from another file, (.+); not imported \(use --force\)",
        r"这篇文章此前由另一个文件 \1 导入（资讯编号相同），本文件未导入："
        r"请核对两个文件（确需用本文件更新这篇文章，导入时加 --force）",
    ),
    (rf"{re.escape(WRITE_FAILURE)} \((.*)\)", r"未能写入（\1）：请把这条记录转给技术人员"),
    # Warnings: the file was imported, with this changed or left out. A name the import quotes as
    # Python's repr() does: in '…', or "…" when it holds a "'".
    (
        r"byte (0x[0-9A-F]{2}) at line (\d+), column (\d+) does not decode; kept as U\+FFFD",
        r"第 \2 行第 \3 列的字节 \1 不是文字，已换成“" + "\ufffd" + r"”：请对照原稿改正这个字",
    ),
    (
        r"(\d+) control character\(s\) \(invisible, not text\) dropped",
        r"文件中有 \1 个控制字符（看不见，也不是文字），已去掉",
    ),
    *(
        (
            rf"{english} (['\"])(.*)\1: invisible format characters dropped",
            rf"{chinese}“\2”中看不见的格式字符（零宽空格、文字方向控制符等）已去掉",
        )
        for english, chinese in _LABELS.items()
    ),
    *(
        (
            rf"{english} (['\"])(.*)\1 is longer than (\d+) characters; cut",
            rf"以“\2”开头的{chinese}超过 \3 个字，超出的部分未导入：请在后台核对",
        )
        for english, chinese in _LABELS.items()
    ),
    (
        rf"stock {_STOCK} (['\"])(.*)\3: invisible format characters dropped",
        lambda match: f"{_stock_in_chinese(match)}“{match[4]}”中看不见的格式字符（零宽空格、文字方向控制符等）已去掉",
    ),
    (
        rf"stock {_STOCK} (['\"])(.*)\3 is longer than (\d+) characters; cut",
        lambda match: f"{_stock_in_chinese(match)}“{match[4]}”超过 {match[5]} 个字，超出的部分未导入：请在后台核对",
    ),
    (r"body: HTML the site does not show was left out: (.*)", _html_left_out_in_chinese),
    (r"summary: its markup was flattened to text: (.*)", _flattened_digest_in_chinese),
    (r"decoded as GBK", "文件是 GBK 编码（不是 UTF-8），已按 GBK 读入：请看一眼文字有没有乱码"),
    (
        r"file ends in the middle of a UTF-8 character \(truncated\?\)",
        "文件在一个字的中间结束（可能没有传完），这半个字未导入：请对照原稿核对文章结尾",
    ),
    (
        r"date '' is missing or invalid; used the file name's date",
        "文件头没有日期，已用文件名中的日期（当天 0 点）作发布时间：请核对发布时间",
    ),
    (
        r"date (['\"])(.*)\1 is missing or invalid; used the file name's date",
        r"文件头的日期“\2”无法识别，已用文件名中的日期（当天 0 点）作发布时间：请核对发布时间",
    ),
    (
        r"source link (['\"])(.*)\1 is not a valid URL; left out",
        r"原文链接“\2”不是有效的网址，未导入：如有正确的链接，请在后台填写",
    ),
    (
        r"stock (['\"])(.*)\1 in the front matter is not a known market and code; left out",
        r"文件头中的股票“\2”不是可识别的市场和代码，未导入：如需关联，请在后台添加",
    ),
    (
        r"author (['\"])(.*)\1 does not fit in (\d+) characters of authors; left out",
        r"作者“\2”超出作者一栏的 \3 个字，未导入：请在后台核对作者",
    ),
    (
        r"the same news item as (\S+), which an editor changed: kept apart \(join them in the admin\)",
        r"与资讯 \1 是同一条新闻，但那篇已有编辑修改过，未自动合并：如是同一条，请在后台的“同一新闻”里选它",
    ),
    (
        r"its info code's article was imported from (.+), which is no longer there; updated from this file",
        r"这篇文章此前由文件 \1 导入，该文件已不在原处（改名或移走），已用本文件更新：请核对",
    ),
    (
        r"its info code's article was imported from another file, (.+); updated from this one \(--force\)",
        r"这篇文章此前由另一个文件 \1 导入（资讯编号相同），已按 --force 用本文件更新：请核对",
    ),
    (
        r"responsible editor '(.*)' matches no user; left out",
        r"没有名为“\1”的用户，未设为责任编辑：请先添加这位编辑，或在后台设置责任编辑",
    ),
    (
        r"responsible editor '(.*)' matches more than one user; left out",
        r"有不止一位用户名为“\1”，未设为责任编辑：请在后台设置责任编辑",
    ),
]
_COMPILED = [(re.compile(pattern, re.DOTALL), chinese) for pattern, chinese in RULES]
# A model's validation, as importer._validation_reason words it: "<field>: <its messages>".
_FIELD_PROBLEM = re.compile(r"(\w+): (.*)", re.DOTALL)


def in_chinese(reason):
    """``reason`` (an ImportProblem's, one or more joined by "; ") in Chinese, part by part."""
    whole = _known(reason)  # a reason may hold "; " itself (CONFLICT_REASON)
    return whole or "；".join(_known(part) or _field_problem(part) for part in reason.split("; "))


def _known(reason):
    for pattern, chinese in _COMPILED:
        if pattern.fullmatch(reason):
            return pattern.sub(chinese, reason)
    return None


def _field_problem(part):
    field = _FIELD_PROBLEM.fullmatch(part)
    if field:
        try:
            label = Article._meta.get_field(field[1]).verbose_name
        except FieldDoesNotExist:
            return part
        return f"{label}：{field[2]}"
    return part
