"""A small bilingual vocabulary of trade-policy concepts: Chinese words -> the English concept
token the English side produces. General words only (states, institutions, measures, goods):
story grouping uses them to compare an English and a Chinese report of one event."""

from __future__ import annotations

# companies every trade-policy desk writes about (English name -> Chinese names)
COMPANY_NAMES: dict[str, tuple[str, ...]] = {
    "nvidia": ("英伟达",), "huawei": ("华为",), "ascend": ("昇腾",), "rusal": ("俄铝",),
    "asml": ("阿斯麦",), "bytedance": ("字节跳动",), "smic": ("中芯国际", "中芯"),
    "samsung": ("三星",), "hynix": ("海力士",), "tsmc": ("台积电",), "micron": ("美光",),
    "intel": ("英特尔",), "qualcomm": ("高通",), "apple": ("苹果",), "google": ("谷歌",),
    "tesla": ("特斯拉",), "ford": ("福特",), "boeing": ("波音",), "nexperia": ("安世",),
    "wingtech": ("闻泰",), "illumina": ("因美纳",), "deripaska": ("德里帕斯卡",),
    "hikvision": ("海康威视", "海康"), "dahua": ("大华股份", "大华技术"), "sensetime": ("商汤",),
    "megvii": ("旷视",), "iflytek": ("科大讯飞",), "zte": ("中兴通讯", "中兴"), "xiaomi": ("小米",),
    "tencent": ("腾讯",), "alibaba": ("阿里巴巴", "阿里"), "baidu": ("百度",), "catl": ("宁德时代",),
    "byd": ("比亚迪",), "ymtc": ("长江存储",), "cxmt": ("长鑫",), "cambricon": ("寒武纪",),
    "inspur": ("浪潮",), "dji": ("大疆",), "wechat": ("微信",), "alipay": ("支付宝",),
    "cnooc": ("中海油", "中国海洋石油"), "comac": ("中国商飞", "商飞"), "sinopec": ("中石化",),
    "petrochina": ("中石油",), "cosco": ("中远海运", "中远"), "rio": ("力拓",), "bhp": ("必和必拓",),
    "vale": ("淡水河谷",), "glencore": ("嘉能可",), "zijin": ("紫金矿业",), "ganfeng": ("赣锋",),
    "tianqi": ("天齐",), "lynas": ("莱纳斯",), "mediatek": ("联发科",), "broadcom": ("博通",),
    "microsoft": ("微软",), "lockheed": ("洛克希德", "洛马"), "raytheon": ("雷神",),
    "longi": ("隆基",), "jinko": ("晶科",), "tongwei": ("通威",), "toyota": ("丰田",), "bmw": ("宝马",),
    "pinduoduo": ("拼多多",),
    "hesai": ("禾赛",), "quectel": ("移远通信", "移远"), "honda": ("本田",), "nissan": ("日产",),
    "volkswagen": ("大众汽车",), "hyundai": ("现代汽车",), "kia": ("起亚",), "panasonic": ("松下",),
    "sony": ("索尼",), "remy": ("人头马",), "hennessy": ("轩尼诗",), "pernod": ("保乐力加",),
    "didi": ("滴滴",), "kaspersky": ("卡巴斯基",), "mastercard": ("万事达",), "amazon": ("亚马逊",),
    "shein": ("希音",), "nio": ("蔚来",), "xpeng": ("小鹏",), "geely": ("吉利",), "saic": ("上汽",),
    "chery": ("奇瑞",), "lenovo": ("联想",), "naura": ("北方华创",), "amec": ("中微公司",),
    "huahong": ("华虹",), "shenghe": ("盛和资源",), "huayou": ("华友钴业",), "cmoc": ("洛阳钼业",),
    "albemarle": ("雅宝",), "hanwha": ("韩华",), "posco": ("浦项",), "nippon": ("日本制铁", "新日铁"),
    "hitachi": ("日立",), "nokia": ("诺基亚",), "ericsson": ("爱立信",),
}
# concept -> Chinese spellings (Simplified; the text is folded before lookup)
ZH_CONCEPTS: dict[str, tuple[str, ...]] = {
    # states and blocs
    "us": ("美国", "美方", "美财政部", "美商务部", "美对", "美拟", "美将", "美铜", "华盛顿", "美国防部",
           "中美", "美中", "美欧", "欧美", "美日", "日美", "美韩", "韩美", "美英", "英美"),
    "china": ("中国", "中方", "我国", "北京", "对华", "中美", "美中", "中欧", "欧中", "中日", "日中", "中韩",
              "韩中", "中俄", "俄中", "中澳", "澳中", "中英", "英中"),
    "japan": ("日本", "日方", "日韩", "美日", "日美", "中日", "日中"),
    "korea": ("韩国", "韩方", "首尔", "日韩", "美韩", "韩美", "中韩", "韩中"),
    "eu": ("欧盟", "欧委会", "欧洲委员会", "布鲁塞尔", "美欧", "欧美", "中欧", "欧中"),
    "germany": ("德国", "柏林"), "uk": ("英国", "伦敦", "美英", "英美", "中英", "英中"),
    "netherlands": ("荷兰",), "russia": ("俄罗斯", "俄方", "俄", "中俄", "俄中"),
    "brazil": ("巴西",), "canada": ("加拿大",), "mexico": ("墨西哥",), "india": ("印度",),
    "congo": ("刚果",), "australia": ("澳大利亚", "中澳", "澳中"), "taiwan": ("台湾",), "france": ("法国",),
    "indonesia": ("印尼", "印度尼西亚"), "vietnam": ("越南",), "iran": ("伊朗",),
    # the other actors
    "malaysia": ("马来西亚", "大马"), "thailand": ("泰国",), "singapore": ("新加坡",),
    "pakistan": ("巴基斯坦",), "turkey": ("土耳其",), "poland": ("波兰",), "italy": ("意大利",),
    "spain": ("西班牙",), "switzerland": ("瑞士",), "saudi": ("沙特",), "uae": ("阿联酋",),
    "argentina": ("阿根廷",), "chile": ("智利",), "peru": ("秘鲁",), "colombia": ("哥伦比亚",),
    "philippines": ("菲律宾",), "kazakhstan": ("哈萨克斯坦",), "israel": ("以色列",), "egypt": ("埃及",),
    "nigeria": ("尼日利亚",), "kenya": ("肯尼亚",), "ukraine": ("乌克兰",), "lithuania": ("立陶宛",),
    "sweden": ("瑞典",), "finland": ("芬兰",), "denmark": ("丹麦",), "norway": ("挪威",),
    "ireland": ("爱尔兰",), "greece": ("希腊",), "austria": ("奥地利",), "belgium": ("比利时",),
    "portugal": ("葡萄牙",), "hungary": ("匈牙利",), "czech": ("捷克",), "romania": ("罗马尼亚",),
    "bulgaria": ("保加利亚",), "cambodia": ("柬埔寨",), "bangladesh": ("孟加拉",),
    "zimbabwe": ("津巴布韦",), "zambia": ("赞比亚",), "qatar": ("卡塔尔",), "slovakia": ("斯洛伐克",),
    "latvia": ("拉脱维亚",), "estonia": ("爱沙尼亚",), "asean": ("东盟",), "opec": ("欧佩克",),
    "nato": ("北约",), "g7": ("七国集团",),
    # institutions and people
    "treasury": ("财政部", "美财政部"), "commerce": ("商务部", "美商务部"), "customs": ("海关",),
    "pentagon": ("五角大楼", "国防部", "美国防部"), "court": ("法院",), "cabinet": ("内阁", "国务院"),
    "trump": ("特朗普",), "biden": ("拜登",), "senate": ("参议院",), "congress": ("国会",),
    "regulator": ("监管",), "president": ("总统",), "ministry": ("部长", "外交部"),
    # measures
    "tariff": ("关税", "加征", "加税", "征税", "税率", "附加税"), "sanction": ("制裁",),
    "fee": ("港务费", "收费", "港口费"), "investment": ("投资", "对外投资", "对华投资"),
    "outbound": ("对外投资", "境外投资"),     # a charge on ships or services: no tariff on goods
    "export": ("出口",), "import": ("进口", "输美"), "control": ("管制",),
    "licence": ("许可", "批准", "获批"), "ban": ("禁令", "禁止", "禁"),
    "list": ("清单", "名单"), "entity": ("实体",), "whitelist": ("白名单", "白色清单"),
    "unreliable": ("不可靠",), "investigation": ("调查", "立案"), "antidumping": ("反倾销",),
    "countervailing": ("反补贴",), "subsidy": ("补贴",),
    "antitrust": ("反垄断", "垄断"), "remove": ("移出", "解除", "除名", "剔除"),
    "block": ("否决", "叫停", "阻止"), "sell": ("出售", "剥离"), "acquisition": ("收购", "并购"),
    "stake": ("入股", "股东", "持股"), "agreement": ("协议", "协定", "联合声明"),
    "talks": ("会谈", "谈判", "磋商"), "suspend": ("暂停", "暂缓"), "delay": ("推迟", "延迟"),
    "exemption": ("豁免",), "currency": ("汇率", "货币"), "manipulator": ("操纵",),
    "appeal": ("上诉",), "order": ("行政令", "命令", "下令"), "rule": ("规则", "法规", "规定"),
    "security": ("安全",), "retaliation": ("反制", "报复", "回击", "对等反制", "对等回应"),
    "reciprocal": ("对等",),   # "对等关税" is a reciprocal tariff, not a retaliation
    # goods
    "chip": ("芯片", "半导体", "晶圆"), "rareearth": ("稀土",), "magnet": ("磁体", "永磁", "磁材"),
    "gallium": ("镓",), "germanium": ("锗",), "antimony": ("锑",), "tungsten": ("钨",),
    "copper": ("铜",), "aluminium": ("铝",), "cobalt": ("钴",), "steel": ("钢",),
    "lithium": ("锂",), "graphite": ("石墨",), "coal": ("煤炭",), "lng": ("液化天然气",),
    "soybean": ("大豆",), "car": ("汽车", "车企", "电动车", "电动汽车", "卡车"), "solar": ("光伏", "太阳能"),
    "lithography": ("光刻",), "photoresist": ("光刻胶",), "ai": ("人工智能",),
    "quantum": ("量子",), "price": ("价格", "报价", "价"), "shares": ("股价", "个股", "板块"),
    "tellurium": ("碲",), "bismuth": ("铋",), "molybdenum": ("钼",), "indium": ("铟",),
    "nickel": ("镍",), "uranium": ("铀",), "crude": ("原油",), "drone": ("无人机",),
    "battery": ("电池",), "analog": ("模拟芯片",), "discrimination": ("歧视",), "designate": ("列为",),
    # more traded goods: farm goods, metals, the rare earth elements (general, not one event's)
    "rice": ("大米", "稻米", "白米"), "wheat": ("小麦",), "corn": ("玉米",), "barley": ("大麦",),
    "sorghum": ("高粱",), "pork": ("猪肉",), "beef": ("牛肉",), "poultry": ("禽肉", "鸡肉"),
    "dairy": ("乳制品", "乳品"), "wine": ("葡萄酒",), "brandy": ("白兰地",), "canola": ("油菜籽", "菜籽"),
    "sugar": ("食糖",), "cotton": ("棉花",), "seafood": ("水产", "海鲜"), "timber": ("木材",),
    "fertilizer": ("化肥",), "gold": ("黄金",), "zinc": ("锌",), "platinum": ("铂",),
    "palladium": ("钯",), "titanium": ("钛",), "manganese": ("锰",), "vanadium": ("钒",),
    "magnesium": ("镁",), "silicon": ("硅",), "polysilicon": ("多晶硅",), "iron": ("铁矿",),
    "neodymium": ("钕",), "praseodymium": ("镨",), "dysprosium": ("镝",), "terbium": ("铽",),
    "samarium": ("钐",), "gadolinium": ("钆",), "lutetium": ("镥",), "scandium": ("钪",),
    "yttrium": ("钇",), "holmium": ("钬",), "erbium": ("铒",), "thulium": ("铥",),
    "europium": ("铕",), "ytterbium": ("镱",), "memory": ("存储",),
    "ndpr": ("镨钕", "钕镨", "氧化镨钕"),    # the magnet metals' oxide, priced as one
    "oil": ("石油", "油品", "原油"), "gas": ("天然气", "燃气"), "pharmaceutical": ("药品", "医药", "制药"),
    "furniture": ("家具",), "aircraft": ("飞机", "客机", "航空器"), "vessel": ("船舶", "造船", "船只"),
    # common words of trade reporting and of official statements: a ministry's statement on a
    # foreign act shares few names with the act's reports ("所有贸易伙伴" = "all trading partners").
    # Not 企业/公司 = company: every other report names companies (two sibling acts became candidates)
    "partner": ("伙伴",), "supply": ("供应",), "compliance": ("合规",),
    "manufacturing": ("制造",), "technology": ("科技", "技术"),
    **COMPANY_NAMES,
}
COMPANIES = frozenset(COMPANY_NAMES)

# English spellings that fold onto a concept token (the rest of English: light stemming)
EN_ALIASES: dict[str, str] = {
    "u.s.": "us", "u.s": "us", "usa": "us", "prc": "china", "america": "us", "american": "us",
    "washington": "us",
    "chinese": "china", "beijing": "china", "japanese": "japan", "tokyo": "japan",
    "korean": "korea", "seoul": "korea", "european": "eu", "brussels": "eu", "german": "germany",
    "berlin": "germany", "britain": "uk", "british": "uk", "dutch": "netherlands",
    "russian": "russia", "brazilian": "brazil", "congolese": "congo", "drc": "congo",
    # the other states' adjectives and capitals (a capital names its government)
    "canadian": "canada", "ottawa": "canada", "indian": "india", "delhi": "india",
    "indonesian": "indonesia", "jakarta": "indonesia", "australian": "australia", "canberra": "australia",
    "mexican": "mexico", "french": "france", "paris": "france", "vietnamese": "vietnam", "hanoi": "vietnam",
    "iranian": "iran", "tehran": "iran", "taiwanese": "taiwan", "taipei": "taiwan", "moscow": "russia",
    "kremlin": "russia", "london": "uk", "brasilia": "brazil", "kinshasa": "congo", "hague": "netherlands",
    # the other actors' adjectives and capitals
    "malaysian": "malaysia", "thai": "thailand", "bangkok": "thailand", "singaporean": "singapore",
    "pakistani": "pakistan", "islamabad": "pakistan", "turkish": "turkey", "ankara": "turkey",
    "polish": "poland", "warsaw": "poland", "italian": "italy", "spanish": "spain",
    "madrid": "spain", "swiss": "switzerland", "bern": "switzerland", "saudi-led": "saudi",
    "riyadh": "saudi", "emirati": "uae", "argentine": "argentina", "argentinian": "argentina",
    "chilean": "chile", "peruvian": "peru", "colombian": "colombia",
    "bogota": "colombia", "filipino": "philippines", "philippine": "philippines", "manila": "philippines",
    "kazakh": "kazakhstan", "israeli": "israel", "egyptian": "egypt", "cairo": "egypt",
    "nigerian": "nigeria", "abuja": "nigeria", "kenyan": "kenya", "nairobi": "kenya",
    "ukrainian": "ukraine", "kyiv": "ukraine", "kiev": "ukraine", "lithuanian": "lithuania",
    "vilnius": "lithuania", "swedish": "sweden", "stockholm": "sweden", "finnish": "finland",
    "danish": "denmark", "copenhagen": "denmark", "norwegian": "norway", "oslo": "norway",
    "irish": "ireland", "dublin": "ireland", "greek": "greece", "athens": "greece",
    "austrian": "austria", "vienna": "austria", "belgian": "belgium", "portuguese": "portugal",
    "lisbon": "portugal", "hungarian": "hungary", "budapest": "hungary", "czech": "czech",
    "prague": "czech", "romanian": "romania", "bucharest": "romania", "bulgarian": "bulgaria",
    "cambodian": "cambodia", "phnom": "cambodia", "bangladeshi": "bangladesh",
    "dhaka": "bangladesh", "zimbabwean": "zimbabwe", "harare": "zimbabwe", "zambian": "zambia",
    "lusaka": "zambia", "qatari": "qatar", "doha": "qatar", "slovak": "slovakia",
    "bratislava": "slovakia", "latvian": "latvia", "riga": "latvia", "estonian": "estonia",
    "tallinn": "estonia",
    "tariffs": "tariff", "duties": "tariff", "duty": "tariff", "levy": "tariff", "levies": "tariff",
    "fees": "fee", "investments": "investment", "invest": "investment", "invests": "investment",
    "sanctions": "sanction", "exports": "export", "imports": "import", "controls": "control",
    "curbs": "control", "curb": "control", "license": "licence", "licenses": "licence",
    "licences": "licence", "permits": "licence", "permit": "licence", "approval": "licence",
    "whitelist": "whitelist", "probe": "investigation",
    "investigation": "investigation", "anti-dumping": "antidumping", "delist": "remove",
    "delists": "remove", "lifts": "remove", "lift": "remove", "removes": "remove",
    "removing": "remove", "removal": "remove", "blocks": "block", "vetoes": "block",
    "veto": "block", "takeover": "acquisition", "purchase": "acquisition", "divest": "sell",
    "divestment": "sell", "deal": "agreement", "pact": "agreement", "statement": "agreement",
    "suspends": "suspend", "pause": "suspend", "pauses": "suspend", "delays": "delay",
    "postpone": "delay", "postpones": "delay", "exempt": "exemption", "exempts": "exemption",
    "chips": "chip", "semiconductor": "chip", "semiconductors": "chip", "wafer": "chip",
    "rare": "rareearth", "earth": "rareearth", "earths": "rareearth", "rare-earth": "rareearth",
    "rare-earths": "rareearth", "magnets": "magnet", "aluminum": "aluminium", "cars": "car",
    "automakers": "car", "carmakers": "car", "vehicles": "car", "trucks": "car", "ev": "car", "evs": "car",
    "stock": "shares", "prices": "price", "executive": "order", "pentagon": "pentagon",
    "defense": "pentagon", "retaliatory": "retaliation", "countermeasures": "retaliation",
    "dumping": "antidumping", "anti-monopoly": "antitrust", "monopoly": "antitrust",
    "anti-discrimination": "discrimination", "discriminatory": "discrimination",
    "drones": "drone", "batteries": "battery", "neodymium-praseodymium": "ndpr",
    "praseodymium-neodymium": "ndpr", "nd-pr": "ndpr", "pr-nd": "ndpr",
    # the same act in other words
    "halt": "suspend", "halts": "suspend", "halted": "suspend", "shipments": "export",
    "labels": "designate", "brands": "designate", "designates": "designate", "designated": "designate",
    "delisting": "remove", "delisted": "remove", "entities": "entity",
    "blacklist": "entity", "blacklists": "entity", "blacklisted": "entity",
    "rapeseed": "canola", "fertiliser": "fertilizer", "fertilisers": "fertilizer", "maize": "corn",
    "bans": "ban", "banned": "ban", "banning": "ban", "prohibit": "ban", "prohibits": "ban",
    "prohibited": "ban", "prohibition": "ban", "anti-subsidy": "countervailing",
    "surtax": "tariff", "surtaxes": "tariff", "subsidies": "subsidy", "subsidisation": "subsidy",
    "subsidization": "subsidy", "subsidised": "subsidy", "subsidized": "subsidy",
    # the common words of trade reporting above, in their English forms
    "partners": "partner",
    "supplies": "supply", "supplier": "supply", "suppliers": "supply", "compliant": "compliance",
    "manufacture": "manufacturing", "manufacturer": "manufacturing", "manufacturers": "manufacturing",
    "technologies": "technology", "tech": "technology", "adds": "add", "added": "add", "adding": "add",
    "oils": "oil", "petroleum": "oil", "pharmaceuticals": "pharmaceutical", "drugs": "pharmaceutical",
    "drug": "pharmaceutical", "medicines": "pharmaceutical", "jets": "aircraft",
    "jet": "aircraft", "planes": "aircraft", "plane": "aircraft", "airplanes": "aircraft",
    "shipbuilding": "vessel", "shipbuilders": "vessel", "shipyard": "vessel", "shipyards": "vessel",
    "vessels": "vessel",
}

# concepts every other report carries: they count little in a similarity
GENERIC = frozenset(
    "us china japan korea eu uk russia commerce treasury customs cabinet ministry president "
    "regulator tariff sanction export import control licence list entity investigation "
    "agreement talks rule order security trump biden price shares".split())
# the words a twentieth of trade reports or more say (document frequency over the relevance sets):
# no specific evidence of one event, though they count in a score
COMMON = frozenset(
    "trad company good supply product take national days includ impos need effect department "
    "country announc billion requir firm section government investment minister measur review exporter "
    "industry apply cover item approv foreign follow administration report official market law add".split())
# goods of one kind: a title about one and a report naming another are not about different goods
_KINDS = (("solar", "silicon", "polysilicon"), ("lithography", "photoresist"))
_EU_MEMBERS = frozenset({"germany", "netherlands", "france"})    # ... and an EU member's market is the EU's
KIN = {**{good: frozenset(kind) - {good} for kind in _KINDS for good in kind},
       **dict.fromkeys(_EU_MEMBERS, frozenset({"eu"})), "eu": _EU_MEMBERS}
# what a report is about (a state, a good): two titles about different ones are two events
SUBJECTS = frozenset(
    "japan korea eu germany uk netherlands russia brazil canada mexico india congo australia "
    "taiwan france indonesia vietnam iran rareearth magnet gallium germanium antimony tungsten "
    "copper aluminium cobalt steel lithium graphite coal lng soybean car solar lithography "
    "photoresist quantum rice wheat corn barley sorghum pork beef poultry dairy wine brandy canola "
    "sugar cotton seafood timber fertilizer gold zinc platinum palladium titanium manganese vanadium "
    "magnesium silicon polysilicon iron nickel oil gas pharmaceutical furniture aircraft vessel".split())
# the kind of measure a title names: two titles naming only different kinds are two acts
MEASURES = frozenset("tariff sanction control unreliable whitelist antidumping antitrust entity fee".split())
# what a step acts on: a cue in a title is carried by a report that names the same of these
ACTS = MEASURES | frozenset("entity list export import licence ban investigation order".split())
# states (the actors and targets of measures); a measure aimed at one is not one aimed at another
STATES = frozenset(
    "us china japan korea eu germany uk netherlands russia brazil canada mexico india congo australia "
    "taiwan france indonesia vietnam iran".split())
# one-character names of states right after 对 ("对美", "对华") or 输 ("输美"): the target
ZH_TARGETS: dict[str, str] = {"美": "us", "华": "china", "中": "china", "日": "japan", "韩": "korea",
                              "欧": "eu", "俄": "russia", "英": "uk", "德": "germany", "法": "france"}
# who acts, as an English title leads with it ("Poland, Hungary ... impose"; "Taiwan opens"): the
# states above, the other states and blocs a trade report names, and their governments' seats
ACTORS = STATES | frozenset(
    "poland hungary slovakia czech romania bulgaria ukraine lithuania latvia estonia belgium italy "
    "spain portugal austria sweden finland denmark norway ireland greece switzerland turkey israel "
    "saudi uae qatar egypt nigeria kenya argentina chile peru colombia malaysia thailand "
    "philippines singapore cambodia bangladesh pakistan kazakhstan zimbabwe zambia g7 g-7 g20 nato "
    "asean opec".split())
# an organ acting for its state or bloc
ACTOR_ALIASES = {"commission": "eu",
                 **dict.fromkeys(("ustr", "bis", "ofac", "cfius", "usda", "fcc", "treasury", "trump",
                                  "biden"), "us"),
                 **dict.fromkeys(("mofcom", "miit", "samr", "gacc", "ndrc"), "china")}
# how a title names a state acting: its name or its seat, not an adjective ("Japanese chipmakers")
ACTOR_NAMES = frozenset(ACTORS | frozenset(
    "u.s. u.s usa america prc beijing washington tokyo seoul brussels moscow london berlin paris delhi "
    "ottawa canberra jakarta hanoi tehran taipei hague brasilia kinshasa".split()) | frozenset(ACTOR_ALIASES))
# the words the lexicon names its tokens by: an English word spelt so is its own token (unstemmed)
NAMED = frozenset(ZH_CONCEPTS) | GENERIC | SUBJECTS | ACTS | ACTOR_NAMES | frozenset(EN_ALIASES.values())
