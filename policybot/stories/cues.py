"""Pure: the step cues of a report (a final vs a preliminary determination, entry into force,
suspension, exemption, retaliation, an industry body's advice, a higher court's decision, a
lawsuit, a ruling, a price move or a company's results, a company's own milestone), what is no
such cue (a retaliation vowed, preliminary terms of a deal, an exemption denied, a rally one
speaks at, a price a report expects), and a title's main clause, whose cues alone count as the
title's."""

from __future__ import annotations

import re

import ahocorasick

# cue -> English stems / Chinese words in a title; a cue on one side only forbids a merge
STEP_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "in force": (("into force", "takes effect", "take effect", "took effect", "taking effect",
                  "into effect", "enters into", "effective from", "kicks in", "kick in", "now in force",
                  "now in effect"),
                 ("生效", "起施行", "正式实施")),
    "suspension": (("suspend", "pause", "paus", "halt", "delay", "postpon", "defer", "reprieve",
                    "grace period", "truce", "non-enforcement", "u-turn", "backtrack", "reverses course",
                    "stops selling", "stop selling", "stops shipping", "stops shipments",
                    "rolls back", "roll back", "flips", "flip-flop", "reverses", "reversal"),
                   ("暂停", "暂缓", "推迟", "宽限", "休战", "改口", "停止发货", "反转")),
    # an exemption: a step when a title announces it; an act's own exemptions in its summary
    "exemption": (("exempt", "exclud", "spares", "spared", "carve-out", "carve out", "carves out"),
                  ("豁免", "排除")),
    "final": (("final determination", "final ruling", "final duties", "final anti", "definitive",
               "confirms tariffs", "confirms duties", "confirms anti-dumping"),
              ("终裁",)),
    "preliminary": (("preliminary", "provisional"), ("初裁", "初步", "临时反")),
    "retaliation": (("retaliat", "countermeasure", "counter-measure", "hits back", "strikes back",
                     "in response", "responds with", " defy ", " defies ", "in defiance"),
                    ("反制", "报复", "回击", "对等回应", "反击", "不顾")),
    # a move or a level, not a price named; a company's results; trade data
    "market": (("surge", "soar", "plunge", "rally", "rallies", "rallied", "tumble", "slump", "jump",
                "climb", "skyrocket", "nosedive", "sink", "sank", "slide", "slid", "year high",
                "year low", "year peak", "month high", "month low", "record high", "record low",
                "all-time high", "highest since", "lowest since", "spike", "plummet",
                "hits record", "hit record", "fresh record", "new record", "prices fall", "prices drop",
                "prices rise", "shares fall", "shares drop", "shares rise", "shares gain", "shares slip",
                "stocks fall", "stocks rise", "stocks drop", "futures fall", "futures drop", "futures rise",
                "crash", "sell-off", "selloff", "sell off", "sells off", " stocks ", " shares ",
                "prices double", "prices nearly double", "price doubles", "prices triple",
                "more than triples", "closes above",
                "closes below", "closes at record", "closes at a record", "sheds", "wipes", "wiping",
                "markets rise", "markets rose", "markets fall", "markets fell", "markets mostly",
                "markets rally", "markets drop", "markets slide", "halts shares", "trading halt",
                "limit-up", "limit up", "limit-down", "limit down", "stock drops", "stock falls",
                "stock slides", "stock rises", "stock jumps", "premarket", "after-hours",
                "halts trading", "halted trading", "extends decline", "extends losses", "extends gains",
                " tanks", " tanked", "settles up", "settles down", "settles higher", "settles lower",
                "settled up", "settled down", "settled higher", "settled lower", "leads gains",
                "lead gains", "leads losses", "leads declines", " dips", " dipped", " slips", " slipped",
                "prices retreat", "prices ease", "prices eased", "weighs on", "weigh on",
                # a wire's market report, by its tag
                "grains-", "softs-", "metals-", "precious-", "global markets-", "forex-",
                "emerging markets-", "oil-",
                # trade data: a release and its reports say how much, or how it moved
                "trade surplus", "trade deficit", "year-on-year", "year on year", "exports rise",
                "exports rose", "exports fall", "exports fell", "exports beat", "exports miss",
                "market value", "market cap",
                # a company's results and outlook are market news too (a measure's cost it reports)
                "outlook", "forecast", "revenue", "earnings", "quarterly", "-quarter"),
               ("走强", "走高", "走低", "走弱", "大涨", "暴涨", "飙升", "大跌", "暴跌", "涨停", "跌停",
                "跳水", "新高", "新低", "上涨", "下跌", "涨价", "创纪录", "领跌", "领涨", "重挫", "下挫",
                "高开", "低开", "跌破", "升破", "涨幅", "跌幅", "跌至", "贬值", "升值", "拉升", "涨超",
                "跌超", "涨逾", "跌逾", "涨近", "跌近", "市值",
                "财报", "营收", "业绩", "季报", "季度",
                "同比增长", "同比下降", "同比下滑", "进出口情况", "出口增速", "贸易顺差", "贸易逆差",
                "降幅", "增幅", "停牌", "盘后", "盘前", "涨约", "跌约", "股价", "股市",
                # a statistics release: customs' tables, an industry's output and sales
                "量值表", "产销情况", "出口量", "进口量", "出口额", "进口额", "环比", "期货", "高位",
                "低位", "期价")),
    # a company's own milestone (a plant opened or idled, a deal closed): company news, not the act
    "company": (("inaugurat", "breaks ground", "broke ground", "groundbreaking", "ground-breaking",
                 "opens plant", "opens factory", "opens fab", "starts production",
                 "begins production", "starts mass production", "begins mass production", "starts operations",
                 "begins operations", "starts construction", "begins construction", "construction begins",
                 "opening ceremony", "completes acquisition", "completes its acquisition",
                 "completes takeover", "completes purchase", "completes merger", "completes deal",
                 "closes acquisition", "to invest", "will invest", "invests", "plans to invest",
                 "investment of",
                 # ... or a plant idled (for want of parts, a measure's effect: its own news)
                 "idled", "idles", "idling"),
                ("开业", "投产", "开工", "动工", "奠基", "量产", "揭幕", "落成", "开幕", "完成收购",
                 "完成并购", "宣布投资", "拟投资", "将投资")),
    "result": (("ruling", "determination", "concludes", "upholds", "rules against", "ruled against",
                "rules in favor", "ruled in favor", "rules in favour", "ruled in favour"),
               ("裁定", "认定", "维持原判", "维持原裁", "维持裁决", "维持裁定")),
    # a higher court's decision on a ruling (a stay, a reversal): a step of its own
    "appeal": (("appeals court", "appeal court", "court of appeals", "appellate", "federal circuit",
                "supreme court", "justices"),
               ("上诉法院", "巡回法院", "最高法院")),
    "lawsuit": (("lawsuit", " sue ", " sues ", " sued ", "files suit", "file suit", "legal challenge",
                 "challenge in court", "court challenge"), ("起诉", "提告", "提起诉讼")),
    # an industry body's advice to its members (to stop or limit buying): a response of its own
    "advice": (("urge firms", "urges firms", "urged firms", "urge companies", "urges companies",
                "urged companies", "urge members", "urges members", "advise firms", "advises firms",
                "advised firms", "advise members", "advises members", "advised members", "cautious buying",
                "cautious about buying", "buy with care", "stop buying", "boycott"),
               ("谨慎采购", "审慎采购", "停止采购", "抵制", "行业协会")),
}

# a response vowed or threatened, or a word others use in quotes, is a reaction, not a retaliation taken
_VOW = re.compile(r"[“\"'](?:报复|反制|retaliation)[”\"']"    # a word quoted: "澳媒炒作“报复”"
                  r"|\b(?:vow|threaten|warn|pledge|promise)[a-z]*\b[^.;:]{0,30}?\b(?:to|would|will)\b"
                  r"[^.;:]{0,12}?(?:retaliat|respon|countermeasure|hit back|strike back)[a-z]*"
                  r"|(?:称|扬言|誓言|表示)?将[^，。,]{0,4}?(?:对等回应|反制|报复|回击|反击)")
# "preliminary terms" of an award or a deal: no trade remedy's first finding
_NOT_REMEDY = re.compile(r"preliminary (?:terms|agreement|deal|memorandum|accord|award)"
                         r"|初步(?:协议|条款|协定)")
# an exemption denied or ended ("Norway, Iceland not exempted", "挪威冰岛未获豁免") is none granted
_NO_EXEMPTION = re.compile(r"\b(?:not|no|without|denied|den(?:y|ies)|refus\w*|end of|ends?|ending|scrap\w*)"
                           r"(?: \w+){0,2} exempt\w*|未获豁免|不予豁免|无豁免|不豁免|取消\S{0,4}豁免")
# a rally one speaks at is no market move ("Trump vows to double steel tariffs at Pennsylvania rally")
_NOT_MARKET = re.compile(r"\b(?:at|campaign|political|election|mass)(?: [\w'-]+){0,3} rally\b"
                         # ... nor is a price a report expects ("车价或上涨", "prices could rise")
                         r"|(?:或|或将|可能|将)(?:上涨|下跌|涨价)"
                         r"|\b(?:could|may|might|would|set to|likely to)"
                         r" (?:rise|jump|surge|soar|fall|drop|climb|double)")
# a response suffered, told as the background of a report on its effect ("遭中方反制后断供 ...",
# "USDA assists farmers impacted by unjustified retaliation")
_SUFFERED = re.compile(r"遭[^，,。：:]{0,8}(?:反制|报复|制裁)[^，,。：:]{0,3}后"
                       r"|\b(?:impacted|affected|hit|hurt|harmed) by (?:[\w'-]+ ){0,2}retaliat")
# figures that "defy" a measure are data, not a state's defiance ("China's exports defy tariffs")
_DATA_DEFY = re.compile(r"\b(?:exports?|imports?|shipments|sales|trade|stocks|shares|markets?|prices|demand)"
                        r" (?:defy|defies|defied)\b")
# firms ordered to halt sales ("US orders EDA makers to halt sales", "要求台积电停止…供应"): a new
# restriction, not a measure suspended
_ORDERED_HALT = re.compile(r"\border(?:s|ed)?\b[^.;:]{0,40}? to (?:halt|stop|suspend|pause)\b"
                           r"|要求[^，,。：:\s]{0,12}?停止")
NOT_CUES = (("retaliation", _VOW), ("retaliation", _SUFFERED), ("retaliation", _DATA_DEFY),
            ("suspension", _ORDERED_HALT),
            ("preliminary", _NOT_REMEDY),
            ("exemption", _NO_EXEMPTION), ("market", _NOT_MARKET))
# an English title's subordinate clause: its cues are context ("... as prices slump")
# ("X in retaliation for Y": the title reports X; what it answers is context)
_SUBCLAUSE = re.compile(r"\s(?:as|after|before|amid|while|ahead of|days after|hours before"
                        r"|in (?:retaliation|response|reply|countermeasure) (?:for|to))\s"
                        # ... and a comment quoted after the act: "... 专家：依法反制"
                        r"|\s(?:专家|分析|学者|业内|评论|观察)[^\s:：]{0,4}[:：]")


def _cue_automaton() -> ahocorasick.Automaton:
    """Every cue word, with the cues it stands for: one pass finds a text's cues."""
    found: dict[str, tuple[str, ...]] = {}
    for cue, (en, zh) in STEP_CUES.items():
        for word in (*en, *zh):
            found[word] = (*found.get(word, ()), cue)
    automaton = ahocorasick.Automaton()
    for word, names in found.items():
        automaton.add_word(word, names)
    automaton.make_automaton()
    return automaton


_CUES = _cue_automaton()


_NONE: frozenset[str] = frozenset()


def lead(title: str) -> str:
    """A title's main clause: "X halts Y as prices slump" leads with the halt, "商务部将28家实体
    列入管控名单 专家：依法反制" with the listing (the expert's word is a comment on it)."""
    return _SUBCLAUSE.split(title, maxsplit=1)[0]


def cues(text: str) -> set[str]:
    """The step cues of `text`; a retaliation vowed or threatened is none (nor are the others of
    NOT_CUES: a preliminary that is no finding, an exemption denied)."""
    found = _cues(text, 0)[0]
    for cue, words in NOT_CUES:
        if cue in found and words.search(text):
            return cues(words.sub(" ", text))
    return set(found)


def signature_cues(whole: str, main: str) -> tuple[frozenset[str], frozenset[str]]:
    """`cues(whole)`, then `cues(main)` (the title's main clause, which `whole` begins with)
    when the first are any: one pass of the automaton for both, but where a vow or a
    preliminary that is no finding is found (`cues` again, on the text without it)."""
    found, first = _cues(whole, len(main))
    if _reworded(found, whole):
        found = frozenset(cues(whole)) or _NONE
    if not found:
        return _NONE, _NONE
    if _reworded(first, main):
        first = frozenset(cues(main)) or _NONE
    return found, _final(first)


def _final(found: frozenset[str]) -> frozenset[str]:
    """A final determination's report names the preliminary one it confirms ("终裁 维持初裁税率",
    "confirms provisional duties"): that is no preliminary step."""
    return found - {"preliminary"} if "final" in found and "preliminary" in found else found


def _reworded(found: frozenset[str], text: str) -> bool:
    """`cues` takes a vow, a preliminary that is no finding or an exemption denied out of `text`
    and looks again."""
    return any(cue in found and words.search(text) is not None for cue, words in NOT_CUES)


def _cues(text: str, head: int) -> tuple[frozenset[str], frozenset[str]]:
    """The step cues of `text`, then those of its first `head` characters (the title)."""
    found: set[str] = set()
    first: set[str] = set()
    for last, names in _CUES.iter(text):
        found.update(names)
        if last < head:
            first.update(names)
    return frozenset(found) if found else _NONE, frozenset(first) if first else _NONE
