"""Pure: what a story's title says, for telling two events apart (`group._apart`): the goods it
is about, the states its measure is aimed at and those leading it as acting, its kinds of measure
(of its main clause), its numbers and percentages. Each is remembered per title: a title is
compared with many others."""

from __future__ import annotations

import re
from functools import lru_cache

from policybot.stories.features import en_tokens, fold, lead, num, numbers, tokens
from policybot.stories.lexicon import (
    ACTOR_ALIASES,
    ACTOR_NAMES,
    ACTORS,
    EN_ALIASES,
    MEASURES,
    STATES,
    SUBJECTS,
    ZH_TARGETS,
)

# a title's number, but an ordinal ("2nd"), an amount (compared as one), a chip node ("2-nano") or
# the rest of a list ("YMTC and 35 others" lists 36), a statute's section ("Section 301", "301调查"),
# or a percentage (compared as one, rounded: "80%" = "80.5%")
TITLE_NUMBER = re.compile(r"(?<!section )(?<!sec\. )(?<![\d.])\d+(?:\.\d+)?(?!\d|\.\d|(?:st|nd|rd|th)\b"
                          r"|\s*(?:bil|bn|billion|mn|million|tn|trillion|亿|万|nm\b|-?nano|纳米|others?\b|more\b)"
                          r"|调查|条款|措施|清单|\s*(?:%|％|percent|per cent|个百分点))", re.I)
TITLE_DATE = re.compile(r"\d{1,2}月\d{1,2}日|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
                        r"\.? \d{1,2}\b|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.I)
# a state a title's measure is aimed at: "34% on China", "exports to US" (not "to protect American
# workers"), "对美", "对原产于加拿大的"
EN_TARGET = re.compile(r"\b(?:on|against|at|into|targets?|targeting"
                       r"|(?:exports?|sales?|shipments?|supplies|sell\w*|ship\w*)(?:\s+[\w.+'-]+){0,4}?\s+to)"
                       r"\s+(?![\w'-]+ing\b)((?:[\w.+'-]+\s+){0,2}[\w.+'-]+)")   # not "on addressing US ..."
# ... 对 but 反对 (oppose), 对等 (reciprocal) and the like
ZH_TARGET = re.compile(r"(?<![反应面相绝])对(?![等话此于外])(?:原产于|来自)?(.{1,5})")
# a title's first word, and after the actor (and its partners: "Poland, Hungary and Slovakia"),
# a verb of reaction: what a reaction report leads with
ACTOR_LEAD = re.compile(r"\W*(?:the\s+)?([a-z][\w.'-]*)(?:(?:\s+and|\s*&)\s+[a-z][\w.'-]*)*\s+")
# a state acting beside the first ("Vietnam, US agree": the commas are folded away)
PARTNER = re.compile(r"(?:(?:and|&)\s+)?([a-z][\w.'-]*)\s+")
REACTION_VERBS = (
    "oppose slam criticise criticize condemn welcome vow urge say said warn call protest respond react "
    "reject denounce blast regret hit lash accuse seek ask question summon defend deny denies voice express "
    "threaten push press caught face fear brace feel suffer spared exempted lose gain review check weigh "
    "firmly strongly"
).split()
REACTION = re.compile(r"(?:\S+\s+){0,3}?(?:" + "|".join(sorted(REACTION_VERBS, key=len, reverse=True))
                      + r")(?:s|es|d|ed|ing|ly)?\b(?! of\b)")   # "firms accused of": no reaction
# a title leading with a state's adjective and one of its institutions: the state acting
# ("French lawmakers approve ...", "Dutch government takes control ..."; not "Japanese chipmakers")
ADJECTIVE_LEAD = re.compile(r"\W*(?:the\s+)?([a-z]+)\s+(?:lawmakers|legislators|government|parliament|senate"
                            r"|ministry|regulators?|court|officials|authorities|cabinet|president|premier"
                            r"|prime minister|customs|commerce ministry|trade ministry|finance ministry)\b")
# how a Chinese title leads with the state acting: China and its organs, the US and its own
# ("美光" is Micron; "美日", "中美": both)
ZH_ACTORS = {**dict.fromkeys(("中方", "中国", "我国", "北京", "国务院", "税委会", "商务部", "海关总署",
                               "外交部", "工信部", "发改委", "国家发展改革委"), "china"),
             "七国集团": "g7",
             **dict.fromkeys(("美方", "美国", "美对", "美将", "美拟", "美商务部", "美财政部", "美贸易代表",
                               "白宫", "特朗普", "拜登", "华盛顿"), "us")}
ZH_ACTOR_LEAD = re.compile(r"[【\[\s]*(" + "|".join(sorted(ZH_ACTORS, key=len, reverse=True))
                           + ")(?![美中日韩欧英德法俄越印])")
# a Chinese title leading with a pair of states ("中美经贸磋商", "美欧达成协议"): both act
ZH_PAIR_LEAD = re.compile(r"[【\[\s]*([美中日韩欧俄英])([美中日韩欧俄英])(?![国方盟元股])")
# ... but a reaction: a spokesperson's answer, a statement of opposition ("商务部新闻发言人就…答记者问")
ZH_REACTION = re.compile(r"新闻发言人|答记者问|发表谈话|回应|表示|表态|坚决反对|敦促|谴责|驳斥|批评|抨击|不满"
                         r"|[:：](?![对将自决])")    # "商务部：对美…发起调查" is the ministry's act
# which way a market title says prices or shares moved: two reports of one move say the same
MOVES = (("up", re.compile(r"\b(?:surge[sd]?|surging|soar(?:s|ed|ing)?|rall(?:y|ies|ied|ying)"
                          r"|jump(?:s|ed|ing)?|climb(?:s|ed|ing)?|skyrocket(?:s|ed|ing)?|spike[sd]?|rise[sn]?|rising|rose"
                          r"|gain(?:s|ed)?|rebound(?:s|ed)?)\b|大涨|暴涨|飙升|涨停|上涨|走高|走强|拉升|涨超|涨逾|涨近|涨约"
                          r"|高开|领涨|新高")),
         ("down", re.compile(r"\b(?:plunge[sd]?|plunging|tumble[sd]?|tumbling|slump(?:s|ed)?|sinks?|sank"
                            r"|slides?|sliding|slid|fall(?:s|en|ing)?|fell|drop(?:s|ped|ping)?|plummet(?:s|ed)?"
                            r"|nosedive[sd]?|crash(?:es|ed)?|sell-?off|slip(?:s|ped)?)\b|大跌|暴跌|跌停|下跌|走低"
                            r"|走弱|重挫|下挫|跌超|跌逾|跌近|跌约|低开|领跌|新低|跳水|跌破")))
# a spokesperson's answer on an act ("商务部新闻发言人就美方将23家中国实体列入实体清单答记者问"): its topic
ZH_TOPIC = re.compile(r"(?:发言人|负责人)[^就，,。]{0,6}就(.{2,40}?)"
                      r"(?:答记者问|答问|发表谈话|回答记者|答记者)")
# an ordinal of a title: "TSMC's 2nd Kumamoto plant", "第二批", "熊本二厂" (the 1st/first of
# "for the first time" is none)
EN_ORDINAL = re.compile(r"\b(?:(first|second|third|fourth|fifth)|(\d+)(?:st|nd|rd|th))\b(?! time\b)")
ZH_ORDINAL = re.compile(r"第([一二三四五六七八九十\d]+)(?:批|轮|次|座|期|家|阶段)|([首二三四五])(?:批|期|厂)")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "首": 1, "一": 1, "二": 2,
            "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# the Chinese bodies that issue notices: a notice's title begins with those issuing it
ISSUERS = ("商务部", "海关总署", "交通运输部", "工业和信息化部", "工信部", "自然资源部", "财政部", "科技部",
           "国务院关税税则委员会", "税委会", "国家发展改革委", "国家发展和改革委员会", "发改委", "外交部",
           "国家市场监督管理总局", "市场监管总局", "国家互联网信息办公室", "网信办", "国家国防科工局",
           "中央军委装备发展部", "生态环境部", "农业农村部", "国家能源局", "中国人民银行", "证监会",
           "不可靠实体清单工作机制", "国务院")
ZH_ISSUERS = re.compile(r"[【\[\s]*((?:(?:" + "|".join(sorted(ISSUERS, key=len, reverse=True))
                        + r")[\s、，,和]*)+)(?:公告|令|关于|发布|决定)")
EU_MEMBERS = frozenset({"germany", "netherlands", "france"})   # a measure aimed at one is aimed at the EU
TITLE_CACHE = 1 << 14    # titles whose numbers are remembered (each is compared many times)
PARTS_CACHE = 1 << 14    # signatures' token and number sets whose parts are remembered (the same)

Parts = tuple[frozenset[str], ...]     # (subjects, targets, measures, numbers, notices, pcts, actors)


@lru_cache(maxsize=PARTS_CACHE)
def parts(title: str, title_tokens: frozenset[str], numbers: frozenset[str]) -> Parts:
    """What `group._apart` looks at of one side: the title's subjects (its main clause's, if
    any), targets, kinds of measure,
    numbers, then the notice numbers, the title's percentages and its acting states (one
    look-up, not seven)."""
    return (lead_subjects(title) or subjects(title_tokens), targets(title), lead_measures(title),
            title_numbers(title), notices(numbers), title_pcts(title), actors(title))


@lru_cache(maxsize=PARTS_CACHE)
def subjects(title_tokens: frozenset[str]) -> frozenset[str]:
    """The subjects a title names (each signature is compared many times)."""
    return title_tokens & SUBJECTS


@lru_cache(maxsize=TITLE_CACHE)
def lead_subjects(title: str) -> frozenset[str]:
    """The subjects of a title's main clause ("... as Europe's carmakers wait": no car)."""
    return lead_tokens(title) & SUBJECTS


@lru_cache(maxsize=PARTS_CACHE)
def notices(numbers: frozenset[str]) -> frozenset[str]:
    """The notice numbers among `numbers` (the same)."""
    return frozenset(n for n in numbers if n.startswith("no"))


@lru_cache(maxsize=TITLE_CACHE)
def lead_tokens(title: str) -> frozenset[str]:
    return frozenset(t for t in tokens(lead(fold(title))) if not t.startswith("zh:"))


@lru_cache(maxsize=TITLE_CACHE)
def lead_measures(title: str) -> frozenset[str]:
    """The kinds of measure a title names, but those of a subordinate clause about other goods or
    states ("China hits EU brandy ... after EU vote on car duties": no duty of its own)."""
    folded = fold(title)
    main = lead(folded)
    mine, rest = tokens(main), tokens(folded[len(main):])
    found = mine if rest & SUBJECTS - mine else mine | rest
    # a control list ("列入管制名单") is a list of entities: a listing, as an export blacklist is
    return frozenset(found & MEASURES | ({"entity"} if "list" in found and "control" in found else set()))


@lru_cache(maxsize=TITLE_CACHE)
def actors(title: str) -> frozenset[str]:
    """The states a title leads with as acting ("Poland, Hungary and Slovakia impose ...", "中方对美
    …加征关税"), none for one leading with no state or with a reaction ("China slams ...",
    "商务部新闻发言人就…答记者问": a reaction quoted is the act's own story)."""
    folded = fold(title)
    zh = ZH_ACTOR_LEAD.match(folded)
    if zh is not None:    # a Chinese title leading with a state or one of its organs, but a reaction
        return frozenset() if reaction(title) else frozenset({ZH_ACTORS[zh.group(1)]})
    pair = ZH_PAIR_LEAD.match(folded)    # "中美经贸磋商…": both act
    if pair is not None and pair.group(1) != pair.group(2) and not reaction(title):
        return frozenset({ZH_TARGETS[pair.group(1)], ZH_TARGETS[pair.group(2)]})
    found = ACTOR_LEAD.match(folded)
    if found is not None and found.group(1) not in ACTOR_NAMES:
        adjective = ADJECTIVE_LEAD.match(folded)
        state = EN_ALIASES.get(adjective.group(1), "") if adjective is not None else ""
        if state in ACTORS and REACTION.match(folded, adjective.end() + 1) is None:
            return frozenset({state})
    if found is None or found.group(1) not in ACTOR_NAMES or REACTION.match(folded, found.end()) is not None:
        return frozenset()
    lead, end = found.group(0), found.end()
    while (partner := PARTNER.match(folded, end)) is not None and partner.group(1) in ACTOR_NAMES:
        lead, end = lead + partner.group(0), partner.end()     # "Vietnam, US agree ..." (commas folded)
    return frozenset(ACTOR_ALIASES.get(t, t) for t in en_tokens(lead)) & ACTORS


@lru_cache(maxsize=TITLE_CACHE)
def targets(title: str) -> frozenset[str]:
    """The states a title's measure is aimed at: those named just after "on", "against", "to",
    "into" ("34% on China, 20% on EU"; "exports to US"; "fees on China-built vessels") or after
    对 ("对美", "对原产于加拿大的"), not after 输, which names where goods go ("中国输美商品" are
    the goods a US measure aims at China by)."""
    folded = fold(title)
    found = {s for m in EN_TARGET.finditer(folded) for s in tokens(m.group(1).replace("-", " ")) & STATES}
    for m in ZH_TARGET.finditer(folded):
        span = m.group(1)
        states = tokens(span) & STATES
        if not states and span[0] in ZH_TARGETS:
            states = {ZH_TARGETS[span[0]]}
        found |= states
    return frozenset(found | {"eu"}) if found & EU_MEMBERS else frozenset(found)


@lru_cache(maxsize=TITLE_CACHE)
def topic(title: str) -> frozenset[str]:
    """The concepts of another state's act a spokesperson answers on, but China (the answer's
    own side: "就美方将23家中国实体列入实体清单答记者问" -> us, entity, list); none for another
    title, or for an answer on China's own measures (news of its own: "就稀土出口管制答记者问")."""
    found = ZH_TOPIC.search(fold(title)) if "发言人" in title or "负责人" in title else None
    if found is None:
        return frozenset()
    about = frozenset(t for t in tokens(found.group(1)) if not t.startswith("zh:")) - {"china"}
    if "entity" in about:     # 出口管制实体清单, 管控名单: the entity list ("trade blacklist")
        about -= {"list", "export", "control"}
    return about if about & ACTORS else frozenset()


@lru_cache(maxsize=TITLE_CACHE)
def reaction(title: str) -> bool:
    """A Chinese title of a reaction: an answer, a statement, an opposition voiced."""
    folded = fold(title)
    return not folded.isascii() and ZH_REACTION.search(folded) is not None


@lru_cache(maxsize=TITLE_CACHE)
def issuers(title: str) -> frozenset[str]:
    """The bodies a Chinese notice's title names as issuing it ("商务部 海关总署公告2023年第23号",
    "交通运输部关于暂停…的公告"); none for another title."""
    folded = fold(title)
    found = ZH_ISSUERS.match(folded) if not folded.isascii() else None
    if found is None:
        return frozenset()
    return frozenset(body for body in ISSUERS if body in found.group(1))


@lru_cache(maxsize=TITLE_CACHE)
def ordinals(title: str) -> frozenset[int]:
    """The ordinals a title names: which batch, round or plant ("2nd", "第二批", "二厂")."""
    folded = fold(title)
    found = {ORDINALS.get(m.group(1)) or int(m.group(2)) for m in EN_ORDINAL.finditer(folded)}
    if not folded.isascii():
        for m in ZH_ORDINAL.finditer(folded):
            word = m.group(1) or m.group(2)
            found.add(int(word) if word.isdigit() else ORDINALS.get(word, 0))
    return frozenset(found - {0})


@lru_cache(maxsize=TITLE_CACHE)
def moves(title: str) -> frozenset[str]:
    """Which way the main clause of a title says a price or share moved: "up", "down", both or none."""
    main = lead(fold(title))
    return frozenset(way for way, words in MOVES if words.search(main))


@lru_cache(maxsize=TITLE_CACHE)
def title_pcts(title: str) -> frozenset[str]:
    return frozenset(n for n in numbers(fold(title)) if n.startswith("pct:"))


@lru_cache(maxsize=TITLE_CACHE)
def title_numbers(title: str) -> frozenset[str]:
    """The numbers of a title but years, in one form (`1,100` = `1100`)."""
    title = TITLE_DATE.sub(" ", title.replace(",", ""))    # "8月1日" is a date, not an act's number
    found = {num(m.group(0)) for m in TITLE_NUMBER.finditer(title)}
    return frozenset(n for n in found if not (n.isdigit() and 1900 <= int(n) <= 2100))
