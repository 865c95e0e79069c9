"""Synthetic Jekyll posts in the exact format of the old site, for benchmarks and load tests.

The shapes are those of ../shared/corpus/finews-posts/: short Markdown flash items with the East
Money link and 返回 lines, long East Money HTML with a > digest, K-line chart blocks, auto-linked
stocks and boards, the （文章来源：…） line, share links; dates with and without +0800; CRLF
bodies. Body lengths are drawn from the corpus's own when it is there. The words are ours.
"""

import datetime as dt
import itertools
import random
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "finews-posts"

SOURCES = [
    ("emnews", "东财滚动新闻", ""),
    ("cailianshe", "财联社新闻", "财联社"),
    ("zhongguozhengquanbao", "中国证券报新闻", "中国证券报"),
    ("quanshangzhongguo", "券商中国新闻", "券商中国"),
    ("zhongguojijinbao", "中国基金报新闻", "中国基金报"),
    ("yangxingwangzhan", "央行网站新闻", "央行网站"),
    ("21shijijingjibaodao  nancailicaitong", "21世纪经济报道新闻", "21世纪经济报道"),
]
WORDS = [
    "央行",
    "降准",
    "降息",
    "人民币",
    "汇率",
    "北向资金",
    "新能源",
    "锂电",
    "光伏",
    "半导体",
    "芯片",
    "消费电子",
    "白酒",
    "券商",
    "保险",
    "银行",
    "基金",
    "债券",
    "期货",
    "原油",
    "黄金",
    "港股",
    "美股",
    "科创板",
    "创业板",
    "指数",
    "成交额",
    "净流入",
    "涨停",
    "跌停",
    "回购",
    "分红",
    "业绩",
    "营收",
    "利润",
    "同比",
    "环比",
    "监管",
    "政策",
    "市场",
    "机构",
    "投资者",
    "风险",
    "估值",
    "板块",
    "行业",
    "龙头",
    "产能",
    "订单",
    "出口",
    "进口",
    "通胀",
    "流动性",
    "逆回购",
    "再贷款",
    "数据中心",
]
PUNCTUATION = ["，", "，", "，", "、", "；"]
POST_INTERVAL = dt.timedelta(minutes=5)
US_TICKERS = ["NIO", "BABA", "PDD", "JD", "BIDU", "TSLA", "AAPL", "NVDA", "LI", "XPEV"]


class Vocabulary:
    """20,000 made-up two- and three-character words with Zipf frequencies, like real text,
    plus the finance WORDS, each placed in a few percent of articles so that searches for them
    are as selective as in real news."""

    def __init__(self, rng, size=20_000):
        self.rng = rng
        characters = [chr(code) for code in range(0x4E00, 0x4E00 + 3500)]
        self.words = ["".join(rng.choices(characters, k=rng.choice((2, 2, 3)))) for _ in range(size)]
        weights = [1 / rank for rank in range(1, size + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def text(self, count, finance_words=0):
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=count)
        for _ in range(finance_words):
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(WORDS))
        return "".join(words)


def stock_pool(rng, size=3000):
    """(East Money market id, code, name) triples: A shares, Hong Kong, US and sector boards."""
    pool = []
    for _ in range(size):
        kind = rng.random()
        if kind < 0.35:
            market, code = "1", f"{rng.choice([600, 601, 603, 688])}{rng.randrange(1000):03d}"
        elif kind < 0.7:
            market, code = "0", f"{rng.choice(['000', '002', '300'])}{rng.randrange(1000):03d}"
        elif kind < 0.85:
            market, code = "116", f"{rng.randrange(1, 10000):05d}"
        elif kind < 0.92:
            market, code = rng.choice(["105", "106"]), rng.choice(US_TICKERS)
        else:
            market, code = "90", f"BK{rng.randrange(400, 1200):04d}"
        pool.append((market, code, "".join(rng.sample(WORDS, 2))[:6]))
    return pool


def corpus_body_lengths():
    lengths = []
    for path in sorted(CORPUS_DIR.glob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts = text.split("---", 2)
        if len(parts) == 3:
            lengths.append(len(parts[2]))
    return lengths or [300, 600, 900, 5000, 12000]


class PostGenerator:
    def __init__(self, seed=1):
        self.rng = random.Random(seed)
        self.stocks = stock_pool(self.rng)
        self.lengths = corpus_body_lengths()

    def sentence(self, words=12):
        rng = self.rng
        text = "".join(
            rng.choice(WORDS) + (rng.choice(PUNCTUATION) if rng.random() < 0.3 else "") for _ in range(words)
        )
        return text.rstrip("，、；") + "。"

    def stock_link(self, stock):
        market, code, name = stock
        return (
            f'<span id="stock_{market}.{code}"><a href="http://quote.eastmoney.com/unify/r/{market}.{code}" '
            f'class="keytip" data-code="{market},{code}">{name}</a></span><span id="quote_{market}.{code}"></span>'
        )

    def chart_block(self, stock):
        market, code, _ = stock
        return (
            '<!-- EM_StockImg_Start --><p style="text-align:center;">'
            f'<a href="http://quote.eastmoney.com/unify/r/{market}.{code}" data-code="{code}|{market}|1" class="EmImageRemark" target="_blank">'
            f'<img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid={market}.{code}&imageType=k&token=0" '
            f'border="0" alt="K图 {code}_0" width="578" height="276" /></a></p><!-- EM_StockImg_End -->'
        )

    def html_body(self, length, source_name, digest):
        rng = self.rng
        mentioned = rng.sample(self.stocks, rng.randint(0, 4))
        parts = [self.chart_block(stock) for stock in mentioned[:2] if rng.random() < 0.5]
        paragraphs, size = [], 0
        while size < length:
            text = self.sentence(rng.randint(8, 30))
            if mentioned and rng.random() < 0.4:
                text = self.stock_link(rng.choice(mentioned)) + text
            paragraphs.append(f"<p>{text}</p>")
            size += len(paragraphs[-1]) * 3
        separator = "\r\n " if rng.random() < 0.1 else ""
        parts.append(separator.join(paragraphs))
        if source_name:
            parts.append(f'<p class="em_media">（文章来源：{source_name}）</p>')
        head = f"> {digest}\n\n" if digest else ""
        return head + "".join(parts)

    def post(self, number, start):
        """(file name, text) of post ``number``; dates run on from ``start``, a few minutes apart."""
        rng = self.rng
        category, tag, source_name = rng.choice(SOURCES)
        published = start + number * POST_INTERVAL
        code = f"{published:%Y%m%d}{rng.randrange(10**10):010d}"
        info_code = code if category == "emnews" else f"NW{code}"
        date = f"{published:%Y-%m-%d %H:%M:%S}" + (" +0800" if rng.random() < 0.6 else "")
        title = self.sentence(rng.randint(4, 10)).rstrip("。")
        length = rng.choice(self.lengths)
        if length < 800:
            body = f"\n{self.sentence(rng.randint(20, 60))}\n\n<http://finance.eastmoney.com/news/1345,{code}.html>\n"
            if rng.random() < 0.5:
                body += "\n[返回东财滚动新闻](../emnews/)\n[返回首页](../)\n"
        else:
            digest = self.sentence(30) + (f"（{source_name}）" if source_name else "") if rng.random() < 0.6 else ""
            body = self.html_body(length, source_name, digest)
            body += f"\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode={info_code}>\n\n"
            body += (
                f"[返回{tag}](//finews.withounder.com/category/{category}.html)｜[返回首页](//finews.withounder.com/)"
            )
        text = f'---\nlayout: post\ntitle: "{title}"\ndate: {date}\ncategories: {category}\ntags: {tag}\n---\n{body}'
        return f"{published:%Y-%m-%d}-{info_code}.md", text


def write_posts(folder, count, seed=1, start=None):
    """Write ``count`` posts into ``folder`` (created); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    generator = PostGenerator(seed)
    start = start or dt.datetime(2021, 12, 1, 8, 0)
    for number in range(count):
        name, text = generator.post(number, start)
        (folder / name).write_text(text, encoding="utf-8")
    return folder
