# A copy of shared/corpus/make_articles.py (the desk's corpus generator), kept here so that
# the suite needs nothing outside the repository. Refresh it by copying the file again.
"""Generate a realistic, deterministic corpus of newsbot article files.

Each article is a Markdown file with YAML frontmatter written in exactly the
style of the content pipeline's files (see ../examples/articles/): the same key
order, double-quoted titles, excerpts and URLs, unquoted dates, integers and
booleans, two-space indentation, a blank line before each nested block
(provider, topics, images, related) and before `secured`, and the file ending
in "---" plus one empty line. No third-party packages are needed.

Usage
-----
    python make_articles.py OUT_DIR --count N [--seed S] [--now 2026-11-26T12:00:00Z]
                            [--days D] [--bad K]

    OUT_DIR   written as OUT_DIR/YYYY/MM/<slug>-<id>.md (YYYY/MM = publication
              month). Created if missing; files of an earlier run with the same
              names are overwritten, nothing else is deleted.
    --count   number of valid articles (default 1000).
    --seed    random seed (default 1). Same seed + same arguments = identical
              bytes. Articles are drawn in order from one stream, so the first
              N articles of `--count 2N` are the articles of `--count N`.
    --now     the corpus's "now" (default 2026-11-26T12:00:00Z, fixed so that
              runs are reproducible); "now" means the current UTC time.
    --days    publishedDateTime spreads over the D days before --now
              (default 90). About 10% of articles fall in the last 24 hours,
              like a live pipeline, so a digest for --now has candidates.
    --bad     also write K malformed files (default 0), cycling through
              BAD_KINDS below, named bad-<kind>-<nnnn>.md and listed with the
              expected failure in OUT_DIR/BAD_FILES.txt (tab-separated).

Examples
--------
    python make_articles.py articles-small --count 200 --bad 10
    python make_articles.py articles-big --count 100000 --seed 7

What the valid articles look like
---------------------------------
* 154 real topic names with Zipf-like frequency ("AI" is in ~37% of
  articles), 1-4 per article, with companions ("Computer Vision" usually
  comes with "AI").
* 300 provider domains, also Zipf-like; each provider has its own URL shape.
* heat: most articles are cold (median ~20), ~10% reach 50, ~1.6% reach 80.
  quality: centred around 45. ~20% have `published: true` (better quality
  is published more often).
* 0-2 images, 0-3 related items (nested provider and images, like the
  pipeline writes them); with none, the key is left out or written as `[]`.
* Titles of varied length (~0.7% longer than 150 characters, Block Kit's
  header limit); ~12% with accents, CJK or emoji (some with a variation
  selector), ~1.5% with double quotes, ~4% with characters Slack mrkdwn must
  escape (&, <, >, and `<!channel>`-style mentions).
* A few excerpts exceed 3000 characters, ~1% are empty. ~5% of articles have
  no AMP URLs and ~3% carry an extra field the spec does not list (it must be
  kept). ~10% have a short Markdown body, some of which contain a `---`
  horizontal rule.
* webUrl is unique per article (a numeric id is part of every URL and of the
  file name).

Malformed files (--bad)
-----------------------
Each kind is a file the indexer must report and skip without losing the rest:

    invalid-yaml          a double-quoted title that is never closed
    missing-title         no `title` key
    missing-weburl        no `webUrl` key
    heat-string           heat: "hot"
    non-utf8              the title is written in Latin-1 (bytes like 0xE9)
    empty                 a zero-byte file
    unclosed-frontmatter  the closing `---` line is missing
    duplicate-weburl      a valid article whose webUrl is another file's
                          (BAD_FILES.txt names that file)
    topics-string         topics: AI, Privacy (a string, not a list)
    oversize              a valid article with a body that makes it > 1 MiB

Everything here is made up: titles, excerpts and blobs are generated text.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import functools
import os
import random
import re
import sys
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from itertools import accumulate

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

# Ordered by popularity: the rank drives the Zipf weight (rank 1 = "AI").
TOPICS = [
    "AI", "Cybersecurity", "Elections", "Privacy", "Cloud Computing",
    "Climate Change", "Startups", "Smartphones", "Machine Learning", "Apple",
    "Electric Vehicles", "Computer Vision", "Social Media", "Cryptocurrency",
    "Semiconductors", "Generative AI", "Regulation", "Google", "Space",
    "Data Breaches", "Microsoft", "Gaming", "Streaming", "Health Tech",
    "Robotics", "Renewable Energy", "Antitrust", "Venture Capital", "5G",
    "Open Source", "Ransomware", "Self-Driving Cars", "Amazon", "Inflation",
    "Quantum Computing", "Misinformation", "Remote Work", "E-commerce",
    "Supply Chain", "Layoffs", "Politics", "Big Tech", "Large Language Models",
    "Chips Act", "Data Centers", "Fintech", "Biotech", "Wearables",
    "Virtual Reality", "Augmented Reality", "Drones", "Blockchain", "Bitcoin",
    "Facial Recognition", "Surveillance", "Net Neutrality", "Broadband",
    "Satellites", "SpaceX", "NASA", "Batteries", "Nuclear Energy",
    "Cloud Security", "Identity Theft", "Phishing", "Encryption", "Passwords",
    "Deepfakes", "Content Moderation", "Free Speech", "Copyright",
    "Patents", "Trade", "Tariffs", "Interest Rates", "Stock Market", "IPOs",
    "Mergers", "Banking", "Payments", "Digital Health", "Telemedicine",
    "Vaccines", "Public Health", "Education", "EdTech", "Jobs",
    "Gig Economy", "Housing", "Transportation", "Aviation", "Logistics",
    "Agriculture", "Food Tech", "Retail", "Advertising", "Marketing",
    "Media", "Journalism", "Podcasts", "Music", "Film", "Television",
    "Sports", "Esports", "Consoles", "PC Hardware", "Linux", "Windows",
    "Android", "iOS", "Browsers", "Search", "Web3", "Metaverse", "Chatbots",
    "Natural Language Processing", "Speech Recognition", "Edge Computing",
    "Internet of Things", "Smart Home", "Automation", "DevOps", "Kubernetes",
    "Programming", "Python", "Rust", "JavaScript", "Databases", "Big Data",
    "Analytics", "Ethics", "Diversity", "Labor", "Unions", "Immigration",
    "Courts", "Supreme Court", "Congress", "European Union", "China",
    "India", "Japan", "Africa", "Latin America", "Ukraine", "Middle East",
    "Wildfires", "Hurricanes", "Water", "Oceans", "Biodiversity",
    "Pokémon", "C++",
]

# A topic pulls in its companion most of the time (e.g. Computer Vision -> AI).
TOPIC_COMPANIONS = {
    "Computer Vision": "AI", "Machine Learning": "AI", "Generative AI": "AI",
    "Large Language Models": "Generative AI", "Chatbots": "AI",
    "Natural Language Processing": "AI", "Speech Recognition": "AI",
    "Facial Recognition": "Computer Vision", "Deepfakes": "Generative AI",
    "Ransomware": "Cybersecurity", "Phishing": "Cybersecurity",
    "Data Breaches": "Privacy", "Encryption": "Privacy",
    "Cloud Security": "Cloud Computing", "Kubernetes": "Cloud Computing",
    "Data Centers": "Cloud Computing", "Elections": "Politics",
    "Misinformation": "Social Media", "Content Moderation": "Social Media",
    "Bitcoin": "Cryptocurrency", "Blockchain": "Cryptocurrency",
    "Self-Driving Cars": "Electric Vehicles", "Batteries": "Electric Vehicles",
    "Wildfires": "Climate Change", "Hurricanes": "Climate Change",
    "Renewable Energy": "Climate Change", "Chips Act": "Semiconductors",
    "SpaceX": "Space", "NASA": "Space", "Satellites": "Space",
    "Antitrust": "Regulation", "Supreme Court": "Courts",
}

# Real news outlets (name, domain). Names are written plain in YAML where safe.
REAL_PROVIDERS = [
    ("Reuters", "reuters.com"), ("The Verge", "theverge.com"),
    ("Wired", "wired.com"), ("Ars Technica", "arstechnica.com"),
    ("TechCrunch", "techcrunch.com"), ("Engadget", "engadget.com"),
    ("GQ", "gq.com"), ("SFGate", "sfgate.com"),
    ("The Guardian", "theguardian.com"), ("BBC News", "bbc.co.uk"),
    ("CNN", "cnn.com"), ("NPR", "npr.org"), ("Bloomberg", "bloomberg.com"),
    ("CNBC", "cnbc.com"), ("Forbes", "forbes.com"), ("Fortune", "fortune.com"),
    ("Business Insider", "businessinsider.com"),
    ("The New York Times", "nytimes.com"),
    ("The Washington Post", "washingtonpost.com"),
    ("The Wall Street Journal", "wsj.com"), ("Financial Times", "ft.com"),
    ("The Economist", "economist.com"), ("Axios", "axios.com"),
    ("Politico", "politico.com"), ("The Atlantic", "theatlantic.com"),
    ("Vox", "vox.com"), ("Slate", "slate.com"), ("Salon", "salon.com"),
    ("ZDNet", "zdnet.com"), ("CNET", "cnet.com"),
    ("VentureBeat", "venturebeat.com"), ("The Register", "theregister.com"),
    ("TechRadar", "techradar.com"), ("Tom's Hardware", "tomshardware.com"),
    ("AnandTech", "anandtech.com"), ("9to5Mac", "9to5mac.com"),
    ("9to5Google", "9to5google.com"), ("MacRumors", "macrumors.com"),
    ("Android Police", "androidpolice.com"),
    ("Android Authority", "androidauthority.com"),
    ("The Next Web", "thenextweb.com"), ("Mashable", "mashable.com"),
    ("Gizmodo", "gizmodo.com"), ("Quartz", "qz.com"),
    ("Fast Company", "fastcompany.com"),
    ("MIT Technology Review", "technologyreview.com"),
    ("IEEE Spectrum", "spectrum.ieee.org"), ("Nature", "nature.com"),
    ("Science", "science.org"), ("New Scientist", "newscientist.com"),
    ("Scientific American", "scientificamerican.com"),
    ("Popular Science", "popsci.com"), ("Live Science", "livescience.com"),
    ("Space.com", "space.com"), ("Al Jazeera", "aljazeera.com"),
    ("Deutsche Welle", "dw.com"), ("France 24", "france24.com"),
    ("Le Monde", "lemonde.fr"), ("El País", "elpais.com"),
    ("Der Spiegel", "spiegel.de"), ("Süddeutsche Zeitung", "sueddeutsche.de"),
    ("Die Zeit", "zeit.de"), ("Frankfurter Allgemeine", "faz.net"),
    ("heise online", "heise.de"), ("Golem.de", "golem.de"),
    ("Corriere della Sera", "corriere.it"), ("la Repubblica", "repubblica.it"),
    ("NRC", "nrc.nl"), ("Le Figaro", "lefigaro.fr"),
    ("Libération", "liberation.fr"), ("Les Échos", "lesechos.fr"),
    ("The Japan Times", "japantimes.co.jp"), ("Nikkei Asia", "asia.nikkei.com"),
    ("日本経済新聞", "nikkei.com"), ("South China Morning Post", "scmp.com"),
    ("The Straits Times", "straitstimes.com"),
    ("The Times of India", "timesofindia.indiatimes.com"),
    ("The Hindu", "thehindu.com"), ("ABC News", "abcnews.go.com"),
    ("CBS News", "cbsnews.com"), ("NBC News", "nbcnews.com"),
    ("Fox Business", "foxbusiness.com"), ("USA Today", "usatoday.com"),
    ("Los Angeles Times", "latimes.com"),
    ("Chicago Tribune", "chicagotribune.com"),
    ("The Boston Globe", "bostonglobe.com"),
    ("The Seattle Times", "seattletimes.com"),
    ("San Francisco Chronicle", "sfchronicle.com"),
    ("The Denver Post", "denverpost.com"),
    ("Houston Chronicle", "houstonchronicle.com"),
    ("Miami Herald", "miamiherald.com"), ("The Texas Tribune", "texastribune.org"),
    ("ProPublica", "propublica.org"), ("The Intercept", "theintercept.com"),
    ("Mother Jones", "motherjones.com"), ("The Hill", "thehill.com"),
    ("Vice", "vice.com"), ("HuffPost", "huffpost.com"), ("Time", "time.com"),
    ("Newsweek", "newsweek.com"), ("The New Yorker", "newyorker.com"),
    ("Rolling Stone", "rollingstone.com"), ("Variety", "variety.com"),
    ("The Hollywood Reporter", "hollywoodreporter.com"),
    ("Deadline", "deadline.com"), ("Polygon", "polygon.com"),
    ("Kotaku", "kotaku.com"), ("IGN", "ign.com"), ("PC Gamer", "pcgamer.com"),
    ("Eurogamer", "eurogamer.net"), ("GamesIndustry.biz", "gamesindustry.biz"),
    ("The Information", "theinformation.com"), ("Semafor", "semafor.com"),
    ("Rest of World", "restofworld.org"), ("Platformer", "platformer.news"),
    ("404 Media", "404media.co"), ("InfoWorld", "infoworld.com"),
    ("Computerworld", "computerworld.com"), ("CIO", "cio.com"),
    ("CSO Online", "csoonline.com"), ("Dark Reading", "darkreading.com"),
    ("BleepingComputer", "bleepingcomputer.com"),
    ("The Record", "therecord.media"),
    ("Krebs on Security", "krebsonsecurity.com"),
    ("SecurityWeek", "securityweek.com"),
    ("The Hacker News", "thehackernews.com"),
    ("SiliconANGLE", "siliconangle.com"), ("GeekWire", "geekwire.com"),
    ("Tech.eu", "tech.eu"), ("Sifted", "sifted.eu"),
    ("TechSpot", "techspot.com"), ("Neowin", "neowin.net"),
    ("Windows Central", "windowscentral.com"),
    ("XDA Developers", "xda-developers.com"), ("PCWorld", "pcworld.com"),
    ("Macworld", "macworld.com"), ("AppleInsider", "appleinsider.com"),
    ("Digital Trends", "digitaltrends.com"), ("Electrek", "electrek.co"),
    ("InsideEVs", "insideevs.com"), ("CleanTechnica", "cleantechnica.com"),
    ("Canary Media", "canarymedia.com"), ("Grist", "grist.org"),
    ("Inside Climate News", "insideclimatenews.org"),
    ("Carbon Brief", "carbonbrief.org"), ("E&E News", "eenews.net"),
    ("Barron's", "barrons.com"), ("MarketWatch", "marketwatch.com"),
    ("Yahoo Finance", "finance.yahoo.com"), ("The Motley Fool", "fool.com"),
    ("Seeking Alpha", "seekingalpha.com"), ("Business Wire", "businesswire.com"),
    ("PR Newswire", "prnewswire.com"), ("Associated Press", "apnews.com"),
    ("United Press International", "upi.com"), ("Sky News", "news.sky.com"),
    ("The Independent", "independent.co.uk"),
    ("The Telegraph", "telegraph.co.uk"), ("The Times", "thetimes.co.uk"),
    ("Evening Standard", "standard.co.uk"), ("The Irish Times", "irishtimes.com"),
    ("RTÉ", "rte.ie"), ("CBC News", "cbc.ca"),
    ("The Globe and Mail", "theglobeandmail.com"),
    ("Toronto Star", "thestar.com"), ("ABC Australia", "abc.net.au"),
    ("The Sydney Morning Herald", "smh.com.au"), ("The Age", "theage.com.au"),
    ("Stuff", "stuff.co.nz"), ("NZ Herald", "nzherald.co.nz"),
    ("Haaretz", "haaretz.com"), ("The Times of Israel", "timesofisrael.com"),
    ("Arab News", "arabnews.com"), ("Gulf News", "gulfnews.com"),
    ("Mail & Guardian", "mg.co.za"), ("Daily Maverick", "dailymaverick.co.za"),
    ("Nation Africa", "nation.africa"), ("Folha de S.Paulo", "folha.uol.com.br"),
    ("Clarín", "clarin.com"), ("Milenio", "milenio.com"),
    ("Yonhap", "en.yna.co.kr"), ("The Korea Herald", "koreaherald.com"),
    ("Asahi Shimbun", "asahi.com"), ("Caixin Global", "caixinglobal.com"),
    ("36Kr", "36kr.com"), ("Rappler", "rappler.com"), ("Dawn", "dawn.com"),
    ("The Daily Star", "thedailystar.net"),
    ("Kyiv Independent", "kyivindependent.com"), ("Meduza", "meduza.io"),
    ("Politico Europe", "politico.eu"), ("Euractiv", "euractiv.com"),
    ("Euronews", "euronews.com"), ("Balkan Insight", "balkaninsight.com"),
]

# Made-up local papers and blogs fill the list up to PROVIDER_COUNT.
_TOWNS = [
    "Riverside", "Lakeview", "Harbor City", "Maplewood", "Cedar Falls",
    "Brookhaven", "Pine Ridge", "Westfield", "Oakmont", "Fairview",
    "Granite Bay", "Silver Lake", "Elm Grove", "Stonebridge", "Millbrook",
    "Ashford", "Redwood Valley", "Clearwater", "Northgate", "Willow Creek",
]
_MASTHEADS = [
    "Gazette", "Ledger", "Courier", "Tribune", "Post", "Herald", "Dispatch",
    "Sentinel", "Observer", "Chronicle", "Times", "Journal",
]
PROVIDER_COUNT = 300


def _build_providers() -> list[tuple[str, str]]:
    local = [(f"{town} {mast}", (town + mast).replace(" ", "").lower() + ".com")
             for town in _TOWNS for mast in _MASTHEADS]
    random.Random(0).shuffle(local)  # fixed order, independent of --seed
    return REAL_PROVIDERS + local[: PROVIDER_COUNT - len(REAL_PROVIDERS)]


PROVIDERS = _build_providers()

COMPANIES = [  # fictional, singular subjects
    "Northwind", "Kestrel Systems", "Helix Labs", "Brightwave", "Orbital Foods",
    "Quanta Mobility", "Bluefin Health", "Tidewater Energy", "Parallax AI",
    "Corvid Security", "Stratus Cloud", "Ferro Motors", "Vantage Bank",
    "Juniper Grid", "Lumen & Ash", "Pebblestone", "Aurora Chips", "Meridian Air",
    "Cobalt Robotics", "Saffron Media", "Ironleaf", "Nimbus Pay", "Halcyon Bio",
    "The City Council", "The EU Commission", "The FTC", "The State Legislature",
]
GROUPS = [  # plural subjects
    "Regulators", "Lawmakers", "Startups", "Chipmakers", "Tech Giants",
    "Researchers", "Investors", "Hospitals", "Automakers", "Airlines", "Voters",
    "School Districts", "Banks", "Streaming Services", "Cloud Providers",
    "Open-Source Maintainers", "Insurers", "Farmers", "Retailers", "Telecoms",
    "Universities", "Game Studios", "Central Banks", "Unions",
    "Privacy Advocates", "Engineers", "Small Businesses", "Parents",
]
# (singular form, plural form)
VERBS = [
    ("Bets Big on", "Bet Big on"), ("Pulls Back From", "Pull Back From"),
    ("Quietly Tests", "Quietly Test"), ("Faces Scrutiny Over", "Face Scrutiny Over"),
    ("Unveils", "Unveil"), ("Rethinks", "Rethink"),
    ("Doubles Down on", "Double Down on"), ("Cuts Prices for", "Cut Prices for"),
    ("Warns About", "Warn About"), ("Races to Build", "Race to Build"),
    ("Abandons", "Abandon"), ("Expands", "Expand"),
    ("Struggles With", "Struggle With"), ("Sues Over", "Sue Over"),
    ("Wins Approval for", "Win Approval for"), ("Pauses", "Pause"),
    ("Embraces", "Embrace"), ("Cracks Down on", "Crack Down on"),
]
OBJECTS = [  # {a} is "a" or "an" to suit the topic
    "{t} Tools", "New {t} Rules", "Its {t} Strategy", "{a} {t} Overhaul",
    "{t} Startups", "the {t} Budget", "{t} Standards", "{a} {t} Pilot",
    "{t} Partnerships", "{t} Features", "Its Own {t} Team", "{t} Spending",
]
TAILS = [
    "", "", "", "", " in Europe", " After Record Quarter", " Amid Backlash",
    " — Again", ": What It Means for You", " Before the Holidays", " in 2027",
    ", Report Says", ", Sources Say", " as Costs Climb", " Despite Warnings",
    " for the First Time", " (Update)",
]
ADJECTIVES = [
    "Quiet", "Messy", "Expensive", "Surprising", "Slow", "Unfinished",
    "Risky", "Overdue", "Curious", "Hidden", "Long", "Complicated",
]
PLACES = [
    " in Zürich", " in São Paulo", " in Montréal", " in Kraków", " in Malmö",
    " in Reykjavík", " in Côte d’Ivoire", " at Café Lumière", " in Łódź",
    " in Brașov", " in Düsseldorf", " in Ålesund",
]
EMOJI = ["🚀", "🔥", "📉", "📈", "🤖", "⚡", "🗳️", "🌍", "🧬", "🛰️", "💸", "🔒"]
CJK_TITLES = [
    "東京の新しいデータセンターが稼働を開始", "人工知能の新しい規制案が公表される",
    "서울, 자율주행 버스 시범 운행 확대", "深圳电动车出口再创新高",
    "台北半導體展今日開幕", "大阪でロボット配送の実証実験",
]
MRKDWN_TITLES = [  # titles that must be escaped before they reach Slack
    "Q&A: {t} After the Hype", "R&D Budgets for {t} Shrink <again>",
    "<!channel> Breaking: {t} Outage Spreads", "Profits > Forecasts at {c}",
    "Why 5 < 10 in the {t} Rankings", "AT&T and {c} Team Up on {t}",
    "<!here> {c} Says {t} Rollout Is Done", "Ask <@U024BE7LH> About {t} & More",
    "Use <b>Bold</b> {t} Claims With Care", "{c} & Partners: <{t}> Is Back",
]
QUOTED_TITLES = [
    'Inside the "{a}" Side of {t}', '{c} Calls Its {t} Plan "Unstoppable"',
    '"We Were Not Ready": {t} Teams Look Back',
]
CONSEQUENCES = [
    "reshape the market for {t}", "raise prices for customers",
    "slow hiring for months", "speed up approvals", "squeeze smaller rivals",
    "invite new lawsuits", "change how {t} products are sold",
    "leave older devices behind", "shift spending away from {t}",
    "force a rethink across the industry",
]
FOLLOW_UPS = [
    "The decision follows months of pressure from {g}.",
    "Critics say the plan leaves too many questions open.",
    "Analysts expect the first results before the end of the quarter.",
    "Here’s what {g} need to know.",
    "Officials declined to give a timeline.",
    "It is the third such announcement this year.",
    "Early numbers suggest demand is softer than hoped.",
    "The company did not respond to a request for comment.",
]
CAPTIONS = [
    "Photo illustration", "File photo", "A prototype on display",
    "Workers at a facility", "The new headquarters", "Screenshot of the app",
]
SECTIONS = ["tech", "business", "science", "world", "politics", "culture"]
CATEGORIES = ["news"] * 17 + ["business", "technology", "opinion"]
IMAGE_SIZES = [
    (1200, 630), (1920, 1080), (2048, 1365), (800, 450), (1600, 900),
    (3000, 2000), (1024, 768), (640, 360), (2400, 1600), (1280, 720),
]
EXTRA_FIELDS = [  # fields outside the spec's list; they must be kept
    ("language", "en"), ("wordCount", 734), ("sentiment", "neutral"),
    ("sourceFeed", "rss"),
]
BODY_PARAGRAPHS = [
    "Editors flagged this piece for a follow-up once the numbers are final.",
    "The summary above was written by the pipeline; check the source first.",
    "A longer explainer is planned for the weekend edition.",
    "Sources disagree on the timeline, so treat the dates as estimates.",
]


def zipf_cum_weights(n: int, s: float) -> list[float]:
    """Cumulative weights 1/rank**s for ranks 1..n (for bisect sampling)."""
    return list(accumulate(1.0 / (rank ** s) for rank in range(1, n + 1)))


TOPIC_CUM = zipf_cum_weights(len(TOPICS), 1.05)
PROVIDER_CUM = zipf_cum_weights(len(PROVIDERS), 0.9)
TOPIC_COUNT_CUM = list(accumulate([40, 35, 17, 8]))  # 1, 2, 3, 4 topics

# --------------------------------------------------------------------------
# YAML emission in the pipeline's style
# --------------------------------------------------------------------------

# Double-quoted scalars escape only what YAML requires (backslash, quote,
# control characters and the Unicode line breaks); the rest stays raw UTF-8.
_DQ_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"'}
_DQ_ESCAPES.update({c: f"\\x{c:02x}" for c in range(0x20) if c != 0x09})
_DQ_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x7F: "\\x7f", 0x85: "\\N",
                    0x2028: "\\L", 0x2029: "\\P"})
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f\x85\u2028\u2029]')

# Keys whose string values the pipeline writes unquoted (plain), when safe.
PLAIN_KEYS = {"category", "type", "name", "domain", "topics", "language",
              "sentiment", "sourceFeed"}
ALWAYS_PLAIN_KEYS = {"publishedDateTime"}  # 2020-06-15T18:32:00Z, unquoted
_PLAIN_SAFE = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#\n]*[^\s:]|[A-Za-z]")
# Plain scalars that YAML 1.1 (PyYAML) would read as bool, null, number or "=".
_PLAIN_RESERVED = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|~|=|[-+]?\.(?:inf|nan))$"
    r"|[-+]?(?:0x[0-9a-fA-F_]+|0b[01_]+|[0-9.][0-9_.:eE+-]*)$")


def dq(text: str) -> str:
    """A YAML double-quoted scalar; non-ASCII is written as-is, like the seed."""
    if _NEEDS_ESCAPE.search(text):
        text = text.translate(_DQ_ESCAPES)
    return f'"{text}"'


@functools.lru_cache(maxsize=4096)
def plain_or_dq(text: str) -> str:
    """Plain (unquoted) when YAML reads it back as the same string, else dq."""
    if _PLAIN_SAFE.fullmatch(text) and not _PLAIN_RESERVED.match(text) \
            and ": " not in text and " #" not in text:
        return text
    return dq(text)


def scalar(key: str, value: object) -> str:
    if isinstance(value, str):
        if key in ALWAYS_PLAIN_KEYS:
            return value
        if key in PLAIN_KEYS:
            return plain_or_dq(value)
        return dq(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)  # int


def emit(lines: list[str], key: str, value: object, indent: int) -> None:
    """Append `key: value` at `indent` spaces, recursing into dicts/lists."""
    pad = " " * indent
    if isinstance(value, dict):
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            emit(lines, k, v, indent + 2)
    elif isinstance(value, list):
        if not value:
            lines.append(f"{pad}{key}: []")
            return
        lines.append(f"{pad}{key}:")
        for item in value:
            if isinstance(item, dict):
                start = len(lines)
                for k, v in item.items():
                    emit(lines, k, v, indent + 4)
                # "    url: ..." -> "  - url: ..."
                lines[start] = f"{pad}  - {lines[start][indent + 4:]}"
            else:
                lines.append(f"{pad}  - {scalar(key, item)}")
    else:
        lines.append(f"{pad}{key}: {scalar(key, value)}")


def render(article: dict, body: str = "", close: bool = True) -> str:
    """The whole file: frontmatter in the seed's layout, then the body.

    A blank line goes before every nested block and before `secured`.
    """
    lines = ["---"]
    for key, value in article.items():
        if isinstance(value, (dict, list)) or key == "secured":
            lines.append("")
        emit(lines, key, value, 0)
    if close:
        lines.append("---")
    lines.append("")
    return "\n".join(lines) + "\n" + body


# --------------------------------------------------------------------------
# Article generation
# --------------------------------------------------------------------------

class ArticleMaker:
    """Draws articles from one seeded random stream."""

    def __init__(self, rng: random.Random, now: datetime, days: int):
        self.rng = rng
        self.random = rng.random  # the hot path; bound once
        self.now = now.replace(second=0, microsecond=0)
        self.minutes = max(1, days * 24 * 60)

    # -- small helpers -----------------------------------------------------
    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def provider(self) -> tuple[str, str]:
        r = self.rng.random() * PROVIDER_CUM[-1]
        return PROVIDERS[bisect.bisect(PROVIDER_CUM, r)]

    def topics(self) -> list[str]:
        rng = self.rng
        want = bisect.bisect(TOPIC_COUNT_CUM, rng.random() * TOPIC_COUNT_CUM[-1]) + 1
        chosen: list[str] = []
        while len(chosen) < want:
            t = TOPICS[bisect.bisect(TOPIC_CUM, rng.random() * TOPIC_CUM[-1])]
            if t in chosen:
                continue
            chosen.append(t)
            companion = TOPIC_COMPANIONS.get(t)
            if (companion and companion not in chosen and len(chosen) < 4
                    and rng.random() < 0.6):
                chosen.append(companion)
        return chosen

    def published_at(self) -> datetime:
        rng = self.rng
        window = min(self.minutes, 24 * 60) if rng.random() < 0.10 else self.minutes
        return self.now - timedelta(minutes=rng.randrange(window))

    def heat(self) -> int:
        rng = self.rng
        if rng.random() < 0.02:  # the few items that go viral
            return 70 + rng.randrange(31)
        return min(100, int(100 * rng.betavariate(1.2, 4.0)))

    def secured(self) -> str:
        rng = self.rng
        blob = rng.randbytes(16 * rng.randint(18, 30))  # ciphertext-sized
        iv = rng.randbytes(16)
        return f"{base64.b64encode(blob).decode()};{base64.b64encode(iv).decode()}"

    # -- text --------------------------------------------------------------
    def subject(self) -> tuple[str, bool]:
        """A subject and whether it is plural."""
        if self.rng.random() < 0.5:
            c = self.pick(COMPANIES)
            return c[0].upper() + c[1:], False
        return self.pick(GROUPS), True

    def headline(self, topic: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.012:
            return self.pick(CJK_TITLES)
        if roll < 0.04:
            return self.pick(MRKDWN_TITLES).format(t=topic, c=self.pick(COMPANIES))
        if roll < 0.055:
            return self.pick(QUOTED_TITLES).format(
                t=topic, c=self.pick(COMPANIES), a=self.pick(ADJECTIVES))
        if roll < 0.10:
            return f"{rng.randint(3, 12)} Things to Know About {topic}"
        if roll < 0.15:
            return f"Is {topic} {self.pick(['Ready', 'Overhyped', 'Worth It', 'Safe'])}?"
        if roll < 0.20:
            return f"The {self.pick(ADJECTIVES)} Case for {topic}"
        if roll < 0.23:
            return f"{topic}, Explained"

        subj, plural = self.subject()
        verb = self.pick(VERBS)[1 if plural else 0]
        place = self.pick(PLACES) if rng.random() < 0.05 else ""
        title = f"{subj} {verb} {self.thing(topic, plural)}{place}{self.pick(TAILS)}"
        if rng.random() < 0.10:  # a second clause makes a long headline
            subj2, plural2 = self.subject()
            verb2 = self.pick(VERBS)[1 if plural2 else 0]
            title += f", as {subj2} {verb2} {self.thing(topic, plural2)}"
        if rng.random() < 0.01:  # longer than Block Kit's 150-character header
            title += (" — and Why the Fight Over Who Pays for It Is Only Getting"
                      " Started in Boardrooms, Courtrooms and Parliaments")
        if rng.random() < 0.03:
            title = f"{self.pick(EMOJI)} {title}" if rng.random() < 0.5 \
                else f"{title} {self.pick(EMOJI)}"
        return title

    def thing(self, topic: str, plural: bool, lower: bool = False) -> str:
        """An object phrase around the topic, e.g. "an AI Pilot"."""
        template = self.pick(OBJECTS)
        if plural:
            template = template.replace("Its", "Their")
        if lower:
            template = template.lower()
        a = "an" if topic[0] in "AEIOU" else "a"
        return template.format(t=topic, a=a)

    def sentence(self, topic: str) -> str:
        subj, plural = self.subject()
        verb = self.pick(VERBS)[1 if plural else 0].lower()
        obj = self.thing(topic, plural, lower=True)
        cons = self.pick(CONSEQUENCES).format(t=topic)
        return f"{subj} {verb} {obj}, a move that could {cons}."

    def excerpt(self, topic: str) -> str:
        rng = self.rng
        if rng.random() < 0.01:
            return ""
        parts = [self.sentence(topic)]
        for _ in range(rng.randrange(3)):
            parts.append(self.pick(FOLLOW_UPS).format(g=self.pick(GROUPS).lower()))
        if rng.random() < 0.002:  # beyond a section block's 3000 characters
            parts += [self.sentence(topic) for _ in range(40)]
        return " ".join(parts)

    # -- URLs and images ---------------------------------------------------
    @staticmethod
    def slugify(title: str) -> str:
        ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore")
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.decode().lower()).strip("-")
        if len(slug) > 60:
            slug = slug[:60].rsplit("-", 1)[0]
        return slug or "article"

    def web_url(self, domain: str, slug: str, art_id: int, when: datetime) -> str:
        style = sum(map(ord, domain)) % 4  # each outlet keeps one URL shape
        section = self.pick(SECTIONS)
        if style == 0:
            return f"https://www.{domain}/story/{slug}-{art_id}"
        if style == 1:
            return f"https://www.{domain}/{when:%Y/%m/%d}/{section}/{slug}-{art_id}.html"
        if style == 2:
            return f"https://{domain}/news/article/{slug.title()}-{art_id}.php"
        return f"https://www.{domain}/{section}/{art_id}/{slug}"

    @staticmethod
    def amp_cdn_url(amp_url: str) -> str:
        """The Google AMP cache address: '-' -> '--', '.' -> '-' in the host."""
        host_and_path = amp_url.split("://", 1)[1]
        host = host_and_path.split("/", 1)[0]
        cdn_host = host.replace("-", "--").replace(".", "-")
        return f"https://{cdn_host}.cdn.ampproject.org/c/s/{host_and_path}"

    def image(self, domain: str, slug: str, title: str | None) -> dict:
        rng = self.rng
        w, h = self.pick(IMAGE_SIZES)
        token = f"{rng.getrandbits(96):024x}"
        style = rng.randrange(4)
        if style == 0:
            url = f"https://media.{domain}/photos/{token}/master/pass/{slug}.jpg"
        elif style == 1:
            url = f"https://cdn.{domain}/images/{token[:8]}/{slug}-{w}x{h}.jpg"
        elif style == 2:
            url = f"https://static.{domain}/uploads/{token}.png?w={w}&h={h}&fit=crop"
        else:
            words = slug.replace("-", "%20")
            url = f"https://i.{domain}/{token[:12]}/{words}&apos;s%20photo.jpeg"
        img = {"url": url, "width": w, "height": h, "isCached": rng.random() < 0.85}
        if title is not None:
            img["title"] = title
        return img

    def related(self, when: datetime, next_id) -> dict:
        rng = self.rng
        name, domain = self.provider()
        topic = TOPICS[bisect.bisect(TOPIC_CUM, rng.random() * TOPIC_CUM[-1])]
        title = self.headline(topic)
        slug = self.slugify(title)
        rel_when = when - timedelta(minutes=rng.randrange(30, 5 * 24 * 60))
        item = {
            "title": title,
            "excerpt": self.excerpt(topic),
            "publishedDateTime": f"{rel_when:%Y-%m-%dT%H:%M:00Z}",
            "webUrl": self.web_url(domain, slug, next_id(), rel_when),
            "type": "article",
            "provider": {"name": name, "domain": domain},
            "quality": int(100 * rng.betavariate(2.5, 3.0)),
        }
        if rng.random() < 0.7:
            item["images"] = [self.image(domain, slug, None)]
        return item

    def body(self, web_url: str) -> str:
        rng = self.rng
        parts = ["## Notes", "", self.pick(BODY_PARAGRAPHS), ""]
        if rng.random() < 0.3:
            parts += ["---", ""]  # a Markdown rule that a naive splitter trips on
        parts += [f"- {self.pick(BODY_PARAGRAPHS)}", f"- {self.pick(BODY_PARAGRAPHS)}",
                  "", f"[Source]({web_url})", ""]
        return "\n".join(parts)

    # -- one article ---------------------------------------------------------
    def article(self, art_id: int, next_related_id) -> tuple[dict, str, datetime, str]:
        """Returns (frontmatter dict in key order, body, date, file slug)."""
        rng = self.rng
        when = self.published_at()
        topics = self.topics()
        name, domain = self.provider()
        title = self.headline(topics[0])
        slug = self.slugify(title)
        web_url = self.web_url(domain, slug, art_id, when)
        quality = int(100 * rng.betavariate(2.5, 3.0))

        fm: dict = {
            "category": self.pick(CATEGORIES),
            "title": title,
            "excerpt": self.excerpt(topics[0]),
            "publishedDateTime": f"{when:%Y-%m-%dT%H:%M:00Z}",
            "webUrl": web_url,
        }
        if rng.random() < 0.95:  # most outlets publish AMP pages
            amp = web_url + "/amp"
            fm["ampWebUrl"] = amp
            fm["cdnAmpWebUrl"] = self.amp_cdn_url(amp)
        fm["type"] = "video" if rng.random() < 0.03 else "article"
        fm["quality"] = quality
        fm["heat"] = self.heat()
        fm["published"] = rng.random() < 0.08 + 0.26 * quality / 100
        if rng.random() < 0.03:
            key, value = self.pick(EXTRA_FIELDS)
            fm[key] = value
        fm["provider"] = {"name": name, "domain": domain}
        fm["topics"] = topics

        n_images = self.pick((0, 1, 1, 1, 1, 1, 2, 2))
        if n_images:
            fm["images"] = [
                self.image(domain, slug, title if rng.random() < 0.7 else self.pick(CAPTIONS))
                for _ in range(n_images)]
        elif rng.random() < 0.5:
            fm["images"] = []
        n_related = self.pick((0, 0, 0, 1, 1, 2, 3))
        if n_related:
            fm["related"] = [self.related(when, next_related_id) for _ in range(n_related)]
        elif rng.random() < 0.3:
            fm["related"] = []
        fm["secured"] = self.secured()

        body = self.body(web_url) if rng.random() < 0.10 else ""
        return fm, body, when, slug


# --------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------

BAD_KINDS = [
    ("invalid-yaml", "YAML error: a double-quoted title is never closed"),
    ("missing-title", "field title: missing"),
    ("missing-weburl", "field webUrl: missing"),
    ("heat-string", "field heat: expected integer, got 'hot'"),
    ("non-utf8", "not UTF-8 (Latin-1 byte 0xE9 in the title)"),
    ("empty", "empty file (no frontmatter)"),
    ("unclosed-frontmatter", "frontmatter has no closing '---' line"),
    ("duplicate-weburl", "duplicate webUrl of {original}"),
    ("topics-string", "field topics: expected list of strings, got a string"),
    ("oversize", "file larger than 1 MiB ({size} bytes)"),
]
ONE_MIB = 1024 * 1024


def make_bad(kind: str, fm: dict, body: str,
             original: tuple[str, dict] | None = None) -> tuple[bytes, str]:
    """Turn a valid article into a malformed file of `kind`: (bytes, detail).

    `original` is (path, its URLs) of the article a duplicate-weburl copies.
    """
    detail = dict(BAD_KINDS)[kind]
    if kind == "empty":
        return b"", detail
    if kind == "invalid-yaml":
        text = render(fm, body)
        good = f"title: {dq(fm['title'])}\n"
        broken = 'title: "Unclosed quote: ' + fm["title"].replace('"', "") + "\n"
        return text.replace(good, broken, 1).encode(), detail
    if kind == "missing-title":
        del fm["title"]
    elif kind == "missing-weburl":
        del fm["webUrl"]
    elif kind == "heat-string":
        fm["heat"] = "hot"
    elif kind == "topics-string":
        fm["topics"] = ", ".join(fm["topics"] + ["Privacy"])
    elif kind == "unclosed-frontmatter":
        return render(fm, "", close=False).encode(), detail
    elif kind == "non-utf8":
        fm["title"] = "Café owners in Zürich say the new card readers keep failing"
        fm["provider"] = {"name": "Reuters", "domain": "reuters.com"}
        fm.pop("related", None)
        fm.pop("images", None)
        text = render(fm, body)
        return text.encode().replace(fm["title"].encode(), fm["title"].encode("latin-1")), detail
    elif kind == "duplicate-weburl":
        original_path, urls = original
        url_keys = ("webUrl", "ampWebUrl", "cdnAmpWebUrl")
        copied: dict = {}
        for key, value in fm.items():  # the original's URLs, in the usual place
            if key == "webUrl":
                copied.update(urls)
            elif key not in url_keys:
                copied[key] = value
        fm = copied
        detail = detail.format(original=original_path)
    elif kind == "oversize":
        paragraph = ("Padding paragraph for the size limit test. " * 20).strip() + "\n\n"
        head = render(fm, "")
        body = paragraph * (ONE_MIB // len(paragraph) + 40)
        data = (head + body).encode()
        return data, detail.format(size=len(data))
    return render(fm, body).encode(), detail


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_now(value: str) -> datetime:
    if value == "now":
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write realistic newsbot article files (Markdown + YAML frontmatter).")
    parser.add_argument("out_dir", help="folder to write into (created if missing)")
    parser.add_argument("--count", type=int, default=1000, help="valid articles (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--now", type=parse_now, default=parse_now("2026-11-26T12:00:00Z"),
                        help='corpus "now", ISO 8601 or "now" (default 2026-11-26T12:00:00Z)')
    parser.add_argument("--days", type=int, default=90,
                        help="spread publishedDateTime over this many days (default 90)")
    parser.add_argument("--bad", type=int, default=0, help="malformed files to add (default 0)")
    args = parser.parse_args(argv)
    if args.count < 0 or args.bad < 0 or args.days < 1:
        parser.error("--count and --bad must be >= 0, --days >= 1")
    if args.bad > 7 and args.count == 0:
        parser.error("a duplicate-webUrl file needs at least one valid article (--count >= 1)")

    started = time.perf_counter()
    made_dirs: set[str] = set()

    def write(rel_dir: str, name: str, data: bytes) -> str:
        folder = os.path.join(args.out_dir, rel_dir)
        if folder not in made_dirs:
            os.makedirs(folder, exist_ok=True)
            made_dirs.add(folder)
        # os.open/os.write: a third faster than open() for many small files.
        fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return f"{rel_dir}/{name}"

    related_ids = iter(range(50_000_000, 10**12))
    next_related_id = related_ids.__next__

    # Valid articles: one stream, so --count N is a prefix of --count 2N.
    maker = ArticleMaker(random.Random(args.seed), args.now, args.days)
    kinds = [BAD_KINDS[j % len(BAD_KINDS)][0] for j in range(args.bad)]
    # Which valid article each duplicate-weburl file copies: index -> (path, URLs).
    duplicated = {(j * 7919) % args.count: None
                  for j, kind in enumerate(kinds) if kind == "duplicate-weburl"}
    for i in range(args.count):
        art_id = 1_000_000 + i
        fm, body, when, slug = maker.article(art_id, next_related_id)
        path = write(f"{when:%Y/%m}", f"{slug}-{art_id}.md", render(fm, body).encode())
        if i in duplicated:
            duplicated[i] = (path, {k: fm[k] for k in ("webUrl", "ampWebUrl", "cdnAmpWebUrl")
                                    if k in fm})

    # Malformed files: a separate stream, so they do not shift valid articles.
    manifest = []
    bad_maker = ArticleMaker(random.Random(f"bad:{args.seed}"), args.now, args.days)
    for j, kind in enumerate(kinds):
        art_id = 1_000_000 + args.count + j
        fm, body, when, _ = bad_maker.article(art_id, next_related_id)
        original = duplicated.get((j * 7919) % args.count) if args.count else None
        data, detail = make_bad(kind, fm, body, original)
        path = write(f"{when:%Y/%m}", f"bad-{kind}-{j:04d}.md", data)
        manifest.append(f"{path}\t{kind}\t{detail}")
    if manifest:
        with open(os.path.join(args.out_dir, "BAD_FILES.txt"), "w", encoding="utf-8") as f:
            f.write("# path (relative to this folder)\tkind\texpected failure\n")
            f.write("\n".join(manifest) + "\n")

    elapsed = time.perf_counter() - started
    print(f"wrote {args.count} articles and {args.bad} malformed files to "
          f"{args.out_dir} in {elapsed:.1f}s"
          + (" (malformed files listed in BAD_FILES.txt)" if manifest else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
