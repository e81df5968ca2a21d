"""Plan stage of `import`: a report's sources as BibTeX entries, offline.

Takes the source items `import_sources.py` parsed and the entries `references.bib`
already has; gives a `Source` per label with a readable key (`site-year-words`), the site
name from a table of well-known domains, a date from the URL, a title from the list (or
from the URL slug, marked `verify = {title}`), a formatted reference's own fields (or its
whole text in `note`, marked too), the list's own text for the entry in `listed`, and
titles fetched only with `--fetch-titles`.
"""

from __future__ import annotations

import datetime
import json
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .diagnostics import Diagnostics
from .import_sources import SourceItem
from .import_text import SMALL_WORDS, is_truncated, normalise_url, slug_words

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
FIELD_WIDTH = 12


SITES = {  # domain → (organisation, key prefix); the longest matching suffix wins
    "reuters.com": ("Reuters", "reuters"), "bloomberg.com": ("Bloomberg", "bloomberg"),
    "wsj.com": ("The Wall Street Journal", "wsj"), "nytimes.com": ("The New York Times", "nytimes"),
    "ft.com": ("Financial Times", "ft"), "theguardian.com": ("The Guardian", "guardian"),
    "bbc.com": ("BBC", "bbc"), "bbc.co.uk": ("BBC", "bbc"), "cnbc.com": ("CNBC", "cnbc"),
    "cnn.com": ("CNN", "cnn"), "apnews.com": ("AP News", "apnews"), "axios.com": ("Axios", "axios"),
    "washingtonpost.com": ("The Washington Post", "wapo"), "theverge.com": ("The Verge", "verge"),
    "techcrunch.com": ("TechCrunch", "techcrunch"), "wired.com": ("Wired", "wired"),
    "arstechnica.com": ("Ars Technica", "arstechnica"), "fortune.com": ("Fortune", "fortune"),
    "theinformation.com": ("The Information", "theinformation"), "forbes.com": ("Forbes", "forbes"),
    "businessinsider.com": ("Business Insider", "businessinsider"), "cnet.com": ("CNET", "cnet"),
    "economist.com": ("The Economist", "economist"), "venturebeat.com": ("VentureBeat", "venturebeat"),
    "theregister.com": ("The Register", "theregister"), "macrumors.com": ("MacRumors", "macrumors"),
    "nasdaq.com": ("Nasdaq", "nasdaq"), "finance.yahoo.com": ("Yahoo Finance", "yahoofinance"),
    "marketwatch.com": ("MarketWatch", "marketwatch"), "newyorker.com": ("The New Yorker", "newyorker"),
    "technologyreview.com": ("MIT Technology Review", "techreview"), "news.mit.edu": ("MIT News", "mit"),
    "nature.com": ("Nature", "nature"), "science.org": ("Science", "science"), "cell.com": ("Cell", "cell"),
    "sciencedirect.com": ("ScienceDirect", "sciencedirect"), "link.springer.com": ("Springer", "springer"),
    "onlinelibrary.wiley.com": ("Wiley", "wiley"), "dl.acm.org": ("ACM Digital Library", "acm"),
    "ieeexplore.ieee.org": ("IEEE Xplore", "ieee"), "pnas.org": ("PNAS", "pnas"),
    "thelancet.com": ("The Lancet", "lancet"), "nejm.org": ("NEJM", "nejm"), "plos.org": ("PLOS", "plos"),
    "jstor.org": ("JSTOR", "jstor"), "ssrn.com": ("SSRN", "ssrn"),
    "openreview.net": ("OpenReview", "openreview"),
    "aclanthology.org": ("ACL Anthology", "acl"), "arxiv.org": ("arXiv", "arxiv"),
    "github.com": ("GitHub", "github"), "x.com": ("X", "x"),
    "twitter.com": ("X", "x"), "reddit.com": ("Reddit", "reddit"), "youtube.com": ("YouTube", "youtube"),
    "youtu.be": ("YouTube", "youtube"), "linkedin.com": ("LinkedIn", "linkedin"),
    "medium.com": ("Medium", "medium"), "huggingface.co": ("Hugging Face", "huggingface"),
    "wikipedia.org": ("Wikipedia", "wikipedia"), "facebook.com": ("Facebook", "facebook"),
    "instagram.com": ("Instagram", "instagram"), "openai.com": ("OpenAI", "openai"),
    "anthropic.com": ("Anthropic", "anthropic"), "blog.google": ("Google", "googleblog"),
    "deepmind.google": ("Google DeepMind", "deepmind"), "cloud.google.com": ("Google Cloud", "googlecloud"),
    "blogs.microsoft.com": ("Microsoft", "microsoft"), "machinelearning.apple.com": ("Apple", "apple"),
    "nikkei.com": ("日本経済新聞", "nikkei"), "xtech.nikkei.com": ("日経クロステック", "nikkeixtech"),
    "asahi.com": ("朝日新聞", "asahi"), "yomiuri.co.jp": ("読売新聞", "yomiuri"),
    "mainichi.jp": ("毎日新聞", "mainichi"), "nhk.or.jp": ("NHK", "nhk"), "sankei.com": ("産経新聞", "sankei"),
    "jiji.com": ("時事通信", "jiji"), "itmedia.co.jp": ("ITmedia", "itmedia"),
    "watch.impress.co.jp": ("Impress Watch", "impress"), "gigazine.net": ("GIGAZINE", "gigazine"),
    "toyokeizai.net": ("東洋経済オンライン", "toyokeizai"), "diamond.jp": ("ダイヤモンド・オンライン", "diamond"),
    "businessinsider.jp": ("Business Insider Japan", "businessinsiderjp"), "note.com": ("note", "note"),
    "timesnownews.com": ("Times Now", "timesnow"), "economictimes.com": ("The Economic Times", "et"),
    "indiatimes.com": ("The Times of India", "toi"), "seekingalpha.com": ("Seeking Alpha", "seekingalpha"),
    "investopedia.com": ("Investopedia", "investopedia"), "meta.com": ("Meta", "meta"),
    "zenn.dev": ("Zenn", "zenn"), "qiita.com": ("Qiita", "qiita"), "ascii.jp": ("ASCII.jp", "ascii"),
}


PLATFORMS = ("substack.com", "medium.com", "github.io", "blogspot.com", "wordpress.com", "hatenablog.com")


TWO_LEVEL_SUFFIXES = ("co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.uk", "ac.uk", "org.uk", "gov.uk",
                      "com.au", "gov.au", "org.au", "co.kr", "com.cn", "co.nz", "com.br")


CASING = {w.lower(): w for w in "AI OpenAI GPT ChatGPT LLM LLMs API CEO CFO TPU TPUs GPU GPUs "
          "DeepSeek Google Microsoft Apple Anthropic Gemini Claude Nvidia Meta iPhone".split()}


GENERIC_SEGMENTS = set("article articles articleshow blog blogs en ja index news p post posts products "
                       "status comments www html abs pdf content".split())


FETCH_TIMEOUT = 10


FETCH_LIMIT = 512 * 1024


CACHE_NAME = "fetched-titles.json"


@dataclass(frozen=True)
class Source:
    """One source of the report, with the key its markers become."""

    label: str  # the label the report's markers use
    key: str  # the BibTeX key (an existing entry's key when references.bib has the URL)
    entry: str  # the BibTeX text to append; "" when references.bib already has it
    verify: str  # why its title needs confirming: "url", "truncated", "note" or "" (it does not)


def resolve_sources(items: list[tuple[SourceItem, str | None]], existing: dict[str, str],
                    titles: dict[str, str]) -> list[Source]:
    """A key for every (item, its list's access date): an existing entry's, else a new entry."""
    taken = {key for key in existing if key.startswith("#")}
    by_url: dict[str, str] = {}
    sources = []
    for item, accessed in items:
        identity = source_identity(item.url, item.title)
        if key := existing.get(identity) or by_url.get(identity):
            sources.append(Source(item.label, key, "", ""))
            continue
        entry_type, fields, verify, key = describe_source(item, accessed, titles.get(identity))
        key = unique_key(key, taken)
        taken.add(f"#{key}")
        by_url[identity] = key
        body = "".join(f"  {name:<{FIELD_WIDTH}} = {{{value}}},\n" for name, value in fields)
        sources.append(Source(item.label, key, f"@{entry_type}{{{key},\n{body}}}\n", verify))
    return sources


def source_identity(url: str | None, title: str | None) -> str:
    """What makes two sources the same: the normalised URL, else the title's letters."""
    return normalise_url(url) if url else "title:" + re.sub(r"\W", "", title or "").lower()


def describe_source(item: SourceItem, accessed: str | None,
                    fetched: str | None) -> tuple[str, list[tuple[str, str]], str, str]:
    """A new entry's type, its BibTeX fields, why its title needs confirming, and a key."""
    parts = urlsplit(item.url or "")
    host = (parts.hostname or "").removeprefix("www.")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    organisation, prefix = site_of(host)
    if organisation == host and item.site:
        organisation = item.site
    if prefix == "x" and segments:
        organisation, prefix = f"X (@{segments[0]})", f"x-{segments[0]}"
    elif prefix == "reddit" and len(segments) > 1 and segments[0] == "r":
        organisation, prefix = f"Reddit r/{segments[1]}", f"reddit-{segments[1]}"
    arxiv = re.search(r"(\d{4}\.\d{4,5})", parts.path) if prefix == "arxiv" else None
    doi = re.search(r"(10\.\d{4,9}/[^\s?#]+)", unquote(parts.path))
    date = date_from_url(parts, segments, arxiv)
    reference = dict(item.reference.fields) if item.reference else {}
    title, listed_site = strip_site(reference.get("title") or item.title or fetched, organisation, host)
    organisation = listed_site if organisation == host and listed_site else organisation
    verify = "url" if title is None else "truncated" if is_truncated(title) else \
        "note" if item.reference and not item.reference.whole else ""
    derived, slug = title_from_url(parts, segments, host, prefix, arxiv)
    words = slug_words(title) if title and not JAPANESE.search(title) else slug
    title = title or (derived if item.url else item.text or "Untitled source")
    if reference:
        if doi and "doi" not in reference:
            reference = {**reference, "doi": doi[1].rstrip(".")}
        return describe_reference(item, reference, title, verify, accessed, words)
    if arxiv:
        key = f"arxiv-{arxiv[1].replace('.', '-')}"
    elif prefix == "youtube" and (video := parse_qs(parts.query).get("v")):
        key = f"youtube-{video[0]}"
    else:
        year = (date or "")[:4]
        words = [w for w in words if w != year and w not in prefix.split("-")][:3]
        key = "-".join(part for part in (prefix, year, *words) if part) or f"source-{item.label}"
    fields = [("title", bib_text(title))]
    fields += [("organization", bib_text(organisation))] if item.url else []
    fields += [("date", date)] if date else []
    fields += [("eprint", arxiv[1]), ("eprinttype", "arxiv")] if arxiv else []
    fields += [("doi", doi[1].rstrip("."))] if doi and not arxiv else []
    fields += link_fields(item, accessed)
    fields += [("language", "japanese")] if JAPANESE.search(title) and verify != "url" else []
    fields += [("note", bib_text(item.text))] if not item.url else []
    fields += [("verify", "title")] if verify or not item.url else []
    fields += listed_field(item, fields) if item.url else []
    return ("online" if item.url else "misc"), fields, verify or ("note" if not item.url else ""), key


def describe_reference(item: SourceItem, reference: dict[str, str], title: str, verify: str,
                       accessed: str | None,
                       words: list[str]) -> tuple[str, list[tuple[str, str]], str, str]:
    """A formatted reference's entry: the fields it gives, the text kept when it was not read whole."""
    family = reference.get("author", "").strip("{}").split(",")[0].split(" and ")[0]
    year = reference.get("year", "")
    names = slug_words(family)[-1:] or [f"source-{item.label}"]  # 山田太郎 has no letters a key can use
    key = "-".join(part for part in (*names, year, *words[:3]) if part)
    fields = [(name, bib_text(reference[name]) if name != "author" else reference[name].replace("\\", "/"))
              for name in ("author",) if name in reference]
    fields += [("title", bib_text(title))]
    fields += [(name, bib_text(reference[name])) for name in ("journal", "booktitle", "publisher", "volume",
                                                              "number", "pages") if name in reference]
    fields += [("date", year)] if year else []
    fields += [(name, bib_text(reference[name])) for name in ("doi", "eprint", "eprinttype")
               if name in reference]
    fields += link_fields(item, accessed)
    fields += [("language", "japanese")] if JAPANESE.search(title) else []
    fields += [("note", bib_text(item.text))] if verify == "note" else []
    fields += [("verify", "title")] if verify else []
    fields += listed_field(item, fields) if verify != "note" else []
    entry_type = item.reference.entry_type if item.reference else "misc"
    if entry_type == "misc" and "publisher" in reference and "doi" in reference:
        entry_type = "article"  # `Joule, 2023` with a DOI: a journal article
        fields = [("journal", value) if name == "publisher" else (name, value) for name, value in fields]
    entry_type = "online" if entry_type == "misc" and item.url else entry_type
    return entry_type, fields, verify, key


def listed_field(item: SourceItem, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The list's own text for the entry, when the fields do not already hold every word of it."""
    text = re.sub(r"(?:https?://|www\.)\S+", " ", item.text)
    known = set(re.findall(r"\w+", " ".join(value for _, value in fields).casefold()))
    missing = [word for word in re.findall(r"\w+", text.casefold()) if word not in known]
    return [("listed", bib_text(item.text))] if missing else []


def link_fields(item: SourceItem, accessed: str | None) -> list[tuple[str, str]]:
    """The entry's url and urldate."""
    if not item.url:
        return []
    fields = [("url", item.url.replace("{", "%7B").replace("}", "%7D"))]
    return fields + ([("urldate", item.accessed or accessed)] if item.accessed or accessed else [])


def site_of(host: str) -> tuple[str, str]:
    """The organisation and key prefix of a host: from the table, else from the domain."""
    for domain in sorted(SITES, key=len, reverse=True):
        if host == domain or host.endswith("." + domain):
            return SITES[domain]
    labels = host.split(".")
    depth = 3 if ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES or ".".join(labels[-2:]) in PLATFORMS else 2
    name = labels[-depth] if len(labels) >= depth else labels[0]
    return host, re.sub(r"[^a-z0-9]", "", name.lower())


def strip_site(title: str | None, organisation: str, host: str) -> tuple[str | None, str | None]:
    """A listed title without a trailing ' - Site' naming the URL's site; and that site name."""
    match = re.match(r"^(.+?)\s+[|\-–—]\s+([^|\-–—]+)$", title or "")
    squash = lambda text: re.sub(r"\W", "", text).lower()  # noqa: E731
    label = site_of(host)[1]
    if match and squash(match[2]) and (squash(match[2]) == squash(organisation)
                                       or len(label) > 3 and squash(match[2]).startswith(label)):
        return match[1], match[2].strip()
    return title, None


def date_from_url(parts, segments: list[str], arxiv: re.Match | None) -> str | None:
    """A date written in the URL: /2025/11/12/, -2025-09-06, 20251119, an arXiv or X id."""
    path = parts.path
    candidates = re.findall(r"(?<!\d)(\d{4})[/-](\d{2})[/-](\d{2})(?!\d)", path)
    candidates += re.findall(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)", path)
    for year, month, day in candidates:
        try:
            return datetime.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            continue
    if match := re.search(r"/((?:19|20)\d{2})/(\d{2})/", path):
        if 1 <= int(match[2]) <= 12:
            return f"{match[1]}-{match[2]}"
    if arxiv:
        return f"20{arxiv[1][:2]}-{arxiv[1][2:4]}"
    if len(segments) > 2 and segments[1] == "status" and re.fullmatch(r"[0-9]{16,19}", segments[2]) and \
            (parts.hostname or "").removeprefix("www.") in {"x.com", "twitter.com"}:
        millis = (int(segments[2]) >> 22) + 1288834974657
        return datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC).date().isoformat()
    return None


def title_from_url(parts, segments: list[str], host: str, prefix: str,
                   arxiv: re.Match | None) -> tuple[str, list[str]]:
    """A title made from the URL's most telling path segment (to be confirmed), and key words."""
    if arxiv:
        return f"arXiv preprint {arxiv[1]}", []
    if prefix.startswith("x-"):
        return (f"Post on X by @{segments[0]}" if len(segments) > 1 else f"X profile @{segments[0]}"), []
    if prefix == "youtube" and (video := parse_qs(parts.query).get("v")):
        return f"YouTube video {video[0]}", []
    for segment in reversed(segments):
        segment = re.sub(r"(?<!\d)\d{4}-?\d{2}-?\d{2}(?!\d)|\.(html?|php|aspx?|cms|pdf)$", "", segment)
        words = [w for w in re.split(r"[-_+.\s]+", segment) if w and not (w.isdigit() and len(w) >= 5)
                 and w.lower() not in GENERIC_SEGMENTS]
        if any(w.isalpha() and len(w) > 2 for w in words):
            text = " ".join(CASING.get(w.lower(), w.lower() if i and w.lower() in SMALL_WORDS else
                                       w[:1].upper() + w[1:]) for i, w in enumerate(words))
            return text, slug_words(text)
    return f"{host}{parts.path}".rstrip("/"), slug_words(segments[-1] if segments else "")


def unique_key(key: str, taken: set[str]) -> str:
    """The key, or the key with -2, -3 … when an entry already uses it (keys ignore case)."""
    key = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", key.lower())).strip("-") or "source"
    candidate, count = key, 1
    while f"#{candidate}" in taken:
        count += 1
        candidate = f"{key}-{count}"
    return candidate


def bib_text(value: str) -> str:
    """A value safe inside BibTeX braces."""
    return re.sub(r"\s+", " ", value.replace("\\", "/").replace("{", "(").replace("}", ")")).strip()


def read_cache(content_dir: Path) -> dict[str, str]:
    """Titles fetched by earlier imports (normalised URL → title)."""
    try:
        data = json.loads((content_dir / CACHE_NAME).read_text("utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def fetch_missing_titles(items: list[SourceItem], existing: dict[str, str], cache: dict[str, str],
                         shown: str, diag: Diagnostics) -> dict[str, str]:
    """Fetch the page title of every new source the list gives no title for (--fetch-titles)."""
    wanted = {normalise_url(i.url): i for i in items if i.url and not i.title
              and normalise_url(i.url) not in existing and normalise_url(i.url) not in cache}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(wanted, pool.map(fetch_title, [i.url for i in wanted.values()])))
    fetched = {}
    for norm, (title, problem) in results.items():
        item = wanted[norm]
        if title:
            fetched[norm] = title
        else:
            diag.note(shown, item.line, item.col, f"could not fetch the title of {item.url}: {problem}; "
                      "its title is derived from the URL", "import.fetch-failed")
    return fetched


def fetch_title(url: str) -> tuple[str | None, str]:
    """The page's <title> (or og:title), or None and why not."""
    request = urllib.request.Request(url, headers={"User-Agent": "Kakehashi-import/1.0"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            page = response.read(FETCH_LIMIT).decode(response.headers.get_content_charset() or "utf-8",
                                                     "replace")
    except Exception as exc:  # noqa: BLE001 - any network failure is a note, never a traceback
        return None, str(getattr(exc, "reason", None) or exc)
    match = re.search(r'<meta[^>]+property=["\']og:title["\'][^>]+content=["\']([^"\']+)', page, re.I) or \
        re.search(r"<title[^>]*>(.*?)</title>", page, re.I | re.S)
    title = re.sub(r"\s+", " ", unescape(match[1])).strip() if match else ""
    return (title, "") if title else (None, "the page has no title")
